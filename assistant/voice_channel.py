"""Voice for the assistant: the app's audio WebSocket and the phone (Twilio Media Streams) WebSocket.

Both run the same `voice.VoiceSession` over the dialogue agent (`DialogueResponder`); only the
transport differs. See docs/voice.md for the wire protocols.

* `/v1/sessions/{id}/audio`: the patient app. Auth as on the text channel (`Authorization` header or
  `?token=`), on an existing session of that patient.
* `/v1/phone/twilio`: a telephony provider's media stream. The provider cannot authenticate the
  patient, so the TwiML that opens the stream carries `customParameters`: `token` (the patient's
  token, or a patient-scoped token minted by the clinical API for an outbound call), `patient_id`,
  optionally `session_id` (resume), `language` and `purpose` (`checkin`, `reminder`, or an inbound call).
  The assistant speaks first on the phone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket

from assistant.api import accept_session_socket
from assistant.dialogue.wording import get_wording
from assistant.services import AssistantServices
from assistant.sessions.state import Flow, SessionState
from assistant.sessions.store import SessionNotFound
from assistant.tools import PatientTools, ToolError
from assistant.voice_responder import DialogueResponder
from voice import run_app_transport, run_twilio_transport
from voice.session import AudioSink, VoiceSession
from voice.transports.base import SessionRefused

router = APIRouter()

#: What the assistant says first on a phone call, by `purpose`, and the flow the call starts in.
PHONE_OPENINGS: dict[str, tuple[str, Flow]] = {
    "checkin": ("checkin_call", "followup"),
    "reminder": ("reminder_call", "booking"),
    "inbound": ("phone_greeting", "idle"),
}


@router.websocket("/v1/sessions/{session_id}/audio")
async def app_audio(websocket: WebSocket, session_id: str) -> None:
    accepted = await accept_session_socket(websocket, session_id)
    if accepted is None:
        return
    services, tools, state = accepted
    responder = DialogueResponder(services, tools, state.id)

    def build(sink: AudioSink, params: dict[str, Any]) -> VoiceSession:
        params["language"] = params.get("language") or state.language
        session = services.voice.build(sink, params, responder, on_event=responder.on_voice_event)
        responder.bind(session)
        return session

    session = await run_app_transport(websocket, build)
    if session is not None:
        await responder.finish(session)


@router.websocket("/v1/phone/twilio")
async def phone_media_stream(websocket: WebSocket) -> None:
    services: AssistantServices = websocket.app.state.services
    await websocket.accept()
    responder: DialogueResponder | None = None

    async def build(sink: AudioSink, params: dict[str, Any]) -> VoiceSession:
        nonlocal responder
        try:
            tools = await phone_tools(services, params.get("token"), params.get("patient_id"))
        except (HTTPException, ToolError) as exc:
            raise SessionRefused(f"no patient for this call: {getattr(exc, 'detail', exc)}") from None
        state, opening = await phone_session(services, tools, params)
        responder = DialogueResponder(services, tools, state.id)
        params["language"] = state.language
        session = services.voice.build(sink, params, responder, on_event=responder.on_voice_event)
        responder.bind(session)
        await session.say(opening)
        return session

    session = await run_twilio_transport(websocket, build)
    if session is not None and responder is not None:
        await responder.finish(session)


async def phone_tools(services: AssistantServices, token: object, patient_id: object) -> PatientTools:
    """The patient's own token is exchanged; a patient-scoped token (outbound calls) is checked as is."""
    if not isinstance(token, str) or not token:
        raise HTTPException(401, "the media stream carries no patient token")
    try:
        return await services.tools_for(token)
    except ToolError as exc:
        if exc.status not in (400, 401, 403) or not isinstance(patient_id, str) or not patient_id:
            raise
    tools = PatientTools(services.settings.clinical_url, token, patient_id)
    await tools.patient_record()  # the clinical API refuses a token that does not reach this patient
    return tools


async def phone_session(
    services: AssistantServices, tools: PatientTools, params: dict[str, Any]
) -> tuple[SessionState, str]:
    """Resumes the named session of this patient, or opens one in the flow the call's purpose asks for."""
    purpose = str(params.get("purpose") or "inbound")
    key, flow = PHONE_OPENINGS.get(purpose, PHONE_OPENINGS["inbound"])
    session_id = params.get("session_id")
    if isinstance(session_id, str) and session_id:
        try:
            state = await services.store.load(session_id)
        except SessionNotFound:
            state = None
        if state is not None and state.patient_id == tools.patient_id:
            return state, get_wording().say("resume_flow", state.language)
    language = "zh" if str(params.get("language", "en")).startswith("zh") else "en"
    state = SessionState(patient_id=tools.patient_id, language=language, flow=flow)
    await services.store.create(state)  # the spoken opening becomes the first turn once it is heard
    return state, get_wording().say(key, language)
