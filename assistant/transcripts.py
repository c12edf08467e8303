"""The conversation transcript, kept in the clinical API so nurses read it beside the summary.

One DocumentReference per session, rewritten (a new version) after every turn. The session store
(memory or Redis) is for resuming; the clinical API is the durable record.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

from assistant.sessions.state import SessionState
from assistant.sessions.store import SessionStore
from assistant.tools import PatientTools, ToolError

log = logging.getLogger(__name__)

TRANSCRIPT_TYPE = {"system": "http://loinc.org", "code": "75498-6", "display": "Transcript"}
CONTENT_TYPE = "application/json"


def transcript_document(state: SessionState) -> dict[str, Any]:
    turns = [turn.model_dump() for turn in state.turns]
    payload = json.dumps(
        {"session": state.id, "language": state.language, "turns": turns}, ensure_ascii=False
    )
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [TRANSCRIPT_TYPE], "text": "Assistant conversation transcript"},
        "subject": {"reference": f"Patient/{state.patient_id}"},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "description": f"Careline assistant session {state.id}",
        "content": [
            {
                "attachment": {
                    "contentType": CONTENT_TYPE,
                    "language": state.language,
                    "title": "transcript.json",
                    "data": base64.b64encode(payload.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }
    if state.transcript_id:
        document["id"] = state.transcript_id
    return document


async def persist_transcript(tools: PatientTools, state: SessionState) -> None:
    """Writes the transcript; a failure is logged, never raised (the reply has already gone out)."""
    if not state.turns:
        return
    try:
        if state.transcript_id:
            await tools.update(transcript_document(state))
        else:
            created = await tools.create(transcript_document(state))
            state.transcript_id = str(created.get("id"))
    except ToolError as exc:
        log.warning("transcript not stored", extra={"fields": {"status": exc.status}})


def decode_transcript(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The turns of a transcript DocumentReference (for consoles and tests)."""
    data = document["content"][0]["attachment"]["data"]
    turns: list[dict[str, Any]] = json.loads(base64.b64decode(data))["turns"]
    return turns


async def save_turn(store: SessionStore, tools: PatientTools, state: SessionState) -> None:
    """After a turn: the transcript to the clinical API, then the state to the session store."""
    await persist_transcript(tools, state)
    await store.save(state)
