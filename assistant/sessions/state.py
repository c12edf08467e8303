"""Explicit, serialisable session state: everything a worker needs to resume a conversation."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

Flow = Literal["idle", "question", "triage", "followup", "booking", "human", "emergency"]


class Turn(BaseModel):
    """One utterance as the other side received it: an assistant turn holds only what was sent."""

    role: Literal["user", "assistant"]
    text: str
    interrupted: bool = False
    channel: Literal["text", "voice"] = "text"
    at: float = Field(default_factory=time.time)


class TriageView(BaseModel):
    level: str
    department: str
    reasons: list[dict[str, Any]] = Field(default_factory=list)
    settled: bool = False


class EscalationView(BaseModel):
    task_id: str | None = None
    reason: str
    level: str
    status: Literal["created", "failed"] = "created"


class SessionState(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    patient_id: str
    language: Literal["en", "zh"] = "en"
    flow: Flow = "idle"
    paused_flow: Flow | None = None
    triage_session: dict[str, Any] | None = None
    triage: TriageView | None = None
    summary_id: str | None = None
    transcript_id: str | None = None  # DocumentReference in the clinical API, rewritten after each turn
    escalation: EscalationView | None = None
    booking: dict[str, Any] = Field(default_factory=dict)
    followup: dict[str, Any] = Field(default_factory=dict)
    turns: list[Turn] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    def public_view(self) -> dict[str, Any]:
        """What `GET /v1/sessions/{id}` returns: the state without internal engine data."""
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "language": self.language,
            "flow": self.flow,
            "paused_flow": self.paused_flow,
            "triage": self.triage.model_dump() if self.triage else None,
            "summary_id": self.summary_id,
            "transcript_id": self.transcript_id,
            "escalation": self.escalation.model_dump() if self.escalation else None,
            "turns": [turn.model_dump() for turn in self.turns],
        }
