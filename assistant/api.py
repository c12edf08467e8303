"""The REST convenience over the dialogue: open a session, send a message, read the state."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from assistant.auth import (
    patient_tools,
    patient_tools_for_token,
    reject_websocket,
    services_of,
    websocket_token,
)
from assistant.conversation import run_text_turn
from assistant.services import AssistantServices
from assistant.sessions.state import SessionState, Turn
from assistant.sessions.store import SessionNotFound
from assistant.tools import PatientTools
from assistant.transcripts import persist_transcript, save_turn

router = APIRouter(prefix="/v1", tags=["sessions"])
MAX_MESSAGE_CHARS = 2000


class OpenSession(BaseModel):
    language: Literal["en", "zh"] = "en"


class UserMessage(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


async def owned_session(services: AssistantServices, session_id: str, tools: PatientTools) -> SessionState:
    """A session is reachable only by the patient who opened it (404 otherwise: no existence leak)."""
    try:
        state = await services.store.load(session_id)
    except SessionNotFound:
        raise HTTPException(404, "unknown session") from None
    if state.patient_id != tools.patient_id:
        raise HTTPException(404, "unknown session")
    return state


async def accept_session_socket(
    websocket: WebSocket, session_id: str
) -> tuple[AssistantServices, PatientTools, SessionState] | None:
    """Accepts a session's WebSocket (text or audio) for its own patient; otherwise an error and a close."""
    services: AssistantServices = websocket.app.state.services
    await websocket.accept()
    try:
        tools = await patient_tools_for_token(services, websocket_token(websocket))
        return services, tools, await owned_session(services, session_id, tools)
    except HTTPException as exc:
        await reject_websocket(websocket, exc)
        return None


@router.post("/auth/token")
async def sign_in(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> Any:
    """Patient sign-in, passed through to the clinical API (which owns accounts)."""
    services = services_of(request)
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(
                f"{services.settings.clinical_url}/auth/token",
                data={"username": form.username, "password": form.password},
            )
    except httpx.HTTPError:
        raise HTTPException(503, "the clinical API is unavailable") from None
    if response.status_code != 200:
        raise HTTPException(401, "wrong username or password")
    return response.json()


@router.post("/sessions", status_code=201)
async def open_session(
    request: Request, body: OpenSession | None = None, tools: PatientTools = Depends(patient_tools)
) -> dict[str, Any]:
    services = services_of(request)
    language = body.language if body else "en"
    state = SessionState(patient_id=tools.patient_id, language=language)
    greeting = services.agent.greeting(language)
    state.turns.append(Turn(role="assistant", text=greeting))
    await persist_transcript(tools, state)
    await services.store.create(state)
    return {"id": state.id, "greeting": greeting, "state": state.public_view()}


@router.get("/sessions/{session_id}")
async def read_session(
    session_id: str, request: Request, tools: PatientTools = Depends(patient_tools)
) -> dict[str, Any]:
    state = await owned_session(services_of(request), session_id, tools)
    return state.public_view()


@router.post("/sessions/{session_id}/messages")
async def send_message(
    session_id: str, body: UserMessage, request: Request, tools: PatientTools = Depends(patient_tools)
) -> dict[str, Any]:
    services = services_of(request)
    events: list[dict[str, Any]] = []

    async def collect(event: dict[str, Any]) -> None:
        if event["type"] != "assistant_delta":
            events.append(event)

    async with services.store.turn_lock(session_id):
        state = await owned_session(services, session_id, tools)
        try:
            reply = await run_text_turn(services.agent, state, tools, body.text.strip(), collect)
        finally:
            await save_turn(services.store, tools, state)
    return {"reply": reply, "events": events, "state": state.public_view()}
