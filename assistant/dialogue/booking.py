"""The booking flow: offer the next free video-consult slots, book the one chosen, or cancel."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from assistant.dialogue.events import Emit, Say, TurnOutput
from assistant.dialogue.router import IntentRouter
from assistant.dialogue.wording import Wording
from assistant.sessions.state import SessionState
from assistant.tools import PatientTools, ToolError

ORDINALS = {
    "first": 0, "1": 0, "one": 0, "第一": 0,
    "second": 1, "2": 1, "two": 1, "第二": 1,
    "third": 2, "3": 2, "three": 2, "第三": 2,
}  # fmt: skip


def chosen_index(text: str) -> int | None:
    lowered = text.lower()
    for word, index in ORDINALS.items():
        if (word.isascii() and re.search(rf"(?<!\w){word}(?!\w)", lowered)) or (
            not word.isascii() and word in text
        ):
            return index
    return None


def _when(slot_or_appointment: dict[str, Any]) -> str:
    start = str(slot_or_appointment.get("start", ""))
    return start.replace("T", " ").replace(":00Z", " UTC").replace("+00:00", " UTC")


def _join_link(appointment: dict[str, Any]) -> str:
    for extension in appointment.get("extension", []) or []:
        if "url" in str(extension.get("url", "")).lower() or "join" in str(extension.get("url", "")).lower():
            return str(extension.get("valueUrl") or extension.get("valueString") or "")
    for contained in appointment.get("virtualService", []) or []:
        if contained.get("addressUrl"):
            return str(contained["addressUrl"])
    return str(appointment.get("comment") or "")


async def booking_turn(
    state: SessionState, tools: PatientTools, text: str, lang: str, wording: Wording, router: IntentRouter
) -> AsyncIterator[TurnOutput]:
    booking = state.booking
    try:
        if "cancel" in text.lower() or "取消" in text:
            async for out in _cancel(state, tools, lang, wording):
                yield out
            return
        offered: list[dict[str, Any]] = booking.get("offered", [])
        index = chosen_index(text) if offered else None
        if offered and index is not None and index < len(offered):
            async for out in _book(state, tools, offered[index], lang, wording):
                yield out
            return
        if offered and not router.matches("booking", text):
            yield Say(wording.say("pick_slot_again", lang))
            return
        slots = await tools.free_slots(3)
    except ToolError:
        yield Say(wording.say("tool_failed", lang))
        return
    if not slots:
        state.booking = {}
        state.flow = "idle"
        yield Say(wording.say("no_slots", lang))
        return
    booking["offered"] = [{"id": s["id"], "start": s.get("start")} for s in slots]
    labels = ", ".join(f"({i + 1}) {_when(s)}" for i, s in enumerate(slots))
    yield Say(wording.say("offer_slots", lang, slots=labels))


async def _book(
    state: SessionState, tools: PatientTools, slot: dict[str, Any], lang: str, wording: Wording
) -> AsyncIterator[TurnOutput]:
    try:
        appointment = await tools.book(slot["id"], idempotency_key=f"{state.id}:{slot['id']}")
    except ToolError as exc:
        if exc.status == 409:
            state.booking = {}
            yield Say(wording.say("booking_taken", lang) + " ")
            async for out in booking_turn(state, tools, "book", lang, wording, _NO_ROUTER):
                yield out
            return
        raise
    state.booking = {"appointment_id": appointment.get("id")}
    state.flow = "idle"
    yield Emit("appointment", {"appointment_id": appointment.get("id"), "start": slot.get("start")})
    yield Say(wording.say("booked", lang, when=_when(slot), link=_join_link(appointment)))


async def _cancel(
    state: SessionState, tools: PatientTools, lang: str, wording: Wording
) -> AsyncIterator[TurnOutput]:
    state.booking = {}
    state.flow = "idle"
    appointments = await tools.upcoming_appointments()
    if not appointments:
        yield Say(wording.say("no_appointment", lang))
        return
    appointment = appointments[0]
    await tools.cancel(str(appointment["id"]))
    yield Emit("appointment", {"appointment_id": appointment.get("id"), "status": "cancelled"})
    yield Say(wording.say("booking_cancelled", lang, when=_when(appointment)))


class _AlwaysBooking(IntentRouter):
    def __init__(self) -> None:
        super().__init__({})

    def matches(self, intent: str, text: str) -> bool:
        return intent == "booking"


_NO_ROUTER = _AlwaysBooking()
