"""The dialogue manager: one patient turn in, a stream of words and events out.

Order of precedence on every turn, whatever flow is active:
1. the emergency screen (fixed wording and an immediate escalation, never skipped);
2. prompt-injection refusal;
3. an explicit request for a person;
4. the active flow, unless the patient clearly changed topic (the flow is paused and resumed later);
5. routing a new need: symptom -> triage, booking, follow-up, question -> knowledge base.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.dialogue.events import Emit, Say, TurnOutput
from assistant.dialogue.ports import ClinicalEngine, EmergencyHit
from assistant.dialogue.router import IntentRouter, get_router
from assistant.dialogue.wording import Wording, get_wording
from assistant.safety.guards import Guards, get_guards
from assistant.sessions.state import EscalationView, Flow, SessionState, TriageView
from assistant.tools import PatientTools, ToolError
from assistant.transcripts import persist_transcript

log = logging.getLogger("assistant.dialogue")
ESCALATING_LEVELS = ("emergency_ambulance", "emergency")


class KnowledgeAnswerer(Protocol):
    async def aanswer(self, question: str, lang: str = "en") -> Any: ...


@dataclass
class Turn:
    state: SessionState
    tools: PatientTools
    text: str
    lang: str


class DialogueAgent:
    def __init__(
        self,
        clinical: ClinicalEngine,
        knowledge: KnowledgeAnswerer,
        *,
        wording: Wording | None = None,
        guards: Guards | None = None,
        router: IntentRouter | None = None,
    ) -> None:
        self.clinical = clinical
        self.knowledge = knowledge
        self.wording = wording or get_wording()
        self.guards = guards or get_guards()
        self.router = router or get_router()

    def greeting(self, lang: str) -> str:
        return self.wording.say("greeting", lang)

    async def handle(self, state: SessionState, tools: PatientTools, text: str) -> AsyncIterator[TurnOutput]:
        turn = Turn(state, tools, text, state.language)
        emergency = self.clinical.screen_emergency(text, turn.lang)
        if emergency is not None:
            async for out in self._emergency(turn, emergency):
                yield out
            return
        if self.guards.is_injection(text):
            yield Say(self.wording.say("injection_refused", turn.lang))
            return
        if self.router.matches("human", text):
            async for out in self._handover(turn, reason="patient asked for a person"):
                yield out
            return
        async for out in self._route(turn):
            yield out

    async def _route(self, turn: Turn) -> AsyncIterator[TurnOutput]:
        state, text, lang = turn.state, turn.text, turn.lang
        # A symptom counts as the patient's own only when said in the first person; "what are the
        # symptoms of glaucoma?" is a library question, "my eye hurts" starts triage.
        symptom = self.router.matches("personal", text) and self.clinical.mentions_symptom(text, lang)
        topic = self._new_topic(text, symptom)
        if state.flow in ("triage", "followup", "booking") and topic is not None and topic != state.flow:
            state.paused_flow = state.flow
            state.flow = topic
        elif state.flow not in ("triage", "followup", "booking"):
            state.flow = topic or ("triage" if symptom else "question")
        flow = state.flow
        if flow == "triage":
            async for out in self._triage(turn):
                yield out
        elif flow == "booking":
            async for out in self._booking(turn):
                yield out
        elif flow == "followup":
            async for out in self._followup(turn):
                yield out
        else:
            async for out in self._question(turn):
                yield out
            async for out in self._resume(turn):
                yield out

    def _new_topic(self, text: str, symptom: bool) -> Flow | None:
        if self.router.matches("booking", text):
            return "booking"
        if self.router.matches("followup", text):
            return "followup"
        if self.router.matches("question", text) and not symptom:
            return "question"
        return None

    async def _resume(self, turn: Turn) -> AsyncIterator[TurnOutput]:
        """After a side question, go back to the paused flow and repeat where it stood."""
        state = turn.state
        if state.paused_flow is None:
            state.flow = "idle"
            return
        state.flow, state.paused_flow = state.paused_flow, None
        pending = (state.triage_session or {}).get("pending_question") if state.flow == "triage" else None
        pending = pending or (state.followup.get("pending_question") if state.flow == "followup" else None)
        yield Say(" " + self.wording.say("resume_flow", turn.lang) + (f" {pending}" if pending else ""))

    # --- safety ---------------------------------------------------------------------------------------

    async def _escalate(self, turn: Turn, level: str, reason: str, rule: str | None) -> Emit:
        """Creates the doctor escalation Task; shielded so an interruption cannot lose it."""
        department = turn.state.triage.department if turn.state.triage else None
        try:
            task = await asyncio.shield(
                turn.tools.triage_task(level, "doctor-escalation", department, None, rule)
            )
            view = EscalationView(task_id=str(task.get("id")), reason=reason, level=level)
        except ToolError as exc:
            log.warning("escalation failed", extra={"fields": {"status": exc.status}})
            view = EscalationView(task_id=None, reason=reason, level=level, status="failed")
        turn.state.escalation = view
        return Emit("escalation", view.model_dump())

    async def _emergency(self, turn: Turn, hit: EmergencyHit) -> AsyncIterator[TurnOutput]:
        state = turn.state
        state.flow = "emergency"
        state.triage = TriageView(
            level=hit.level,
            department="emergency",
            reasons=[{"rule": hit.rule, "because": hit.reason}],
            settled=True,
        )
        yield Say(self.clinical.emergency_instruction(turn.lang))
        yield Emit("triage", state.triage.model_dump())
        escalation = await self._escalate(turn, hit.level, hit.reason, hit.rule)
        yield escalation
        if escalation.data.get("status") == "failed":
            yield Say(" " + self.wording.say("human_handover_failed", turn.lang))

    async def _handover(self, turn: Turn, reason: str) -> AsyncIterator[TurnOutput]:
        turn.state.flow = "human"
        level = turn.state.triage.level if turn.state.triage else "consultation"
        escalation = await self._escalate(turn, level, reason, None)
        yield escalation
        key = "human_handover" if escalation.data.get("status") == "created" else "human_handover_failed"
        yield Say(self.wording.say(key, turn.lang))

    # --- flows ------------------------------------------------------------------------------------------

    async def _question(self, turn: Turn) -> AsyncIterator[TurnOutput]:
        answer = await self.knowledge.aanswer(turn.text, turn.lang)
        if not answer.covered:
            yield Say(self.wording.say("not_covered", turn.lang))
            return
        text = self.guards.drop_diagnosis_claims(answer.text)
        if not text:
            yield Say(self.wording.say("not_covered", turn.lang))
            return
        yield Say(text)
        labels = "; ".join(c.label() for c in answer.citations)
        notice = " ".join(answer.attributions)
        yield Say(
            "\n" + self.wording.say("sources", turn.lang, sources=labels) + (f" {notice}" if notice else ""),
            spoken=False,
        )
        yield Emit(
            "sources",
            {"citations": [c.__dict__ for c in answer.citations], "confidence": round(answer.confidence, 3)},
        )

    async def _triage(self, turn: Turn) -> AsyncIterator[TurnOutput]:
        state = turn.state
        first = state.triage_session is None
        step = self.clinical.triage_turn(state.triage_session, turn.text, turn.lang)
        state.triage_session = step.state
        if step.emergency is not None:
            async for out in self._emergency(turn, step.emergency):
                yield out
            return
        if first:
            yield Say(self.wording.say("triage_intro", turn.lang) + " ")
        if step.decision is not None:
            state.triage = step.decision
            if step.newly_settled:
                yield Emit("triage", step.decision.model_dump())
                yield Say(self.clinical.decision_text(step.decision, turn.lang) + " ")
                if step.decision.level in ESCALATING_LEVELS:
                    rule = str(step.decision.reasons[0].get("rule")) if step.decision.reasons else None
                    yield await self._escalate(turn, step.decision.level, "triage level", rule)
                    yield Say(self.wording.say("escalated", turn.lang) + " ")
        if step.record is not None:
            async for out in self._store_preconsult(turn, step):
                yield out
            state.flow = "idle"
            return
        if step.question:
            yield Say(step.question)

    async def _store_preconsult(self, turn: Turn, step: Any) -> AsyncIterator[TurnOutput]:
        state, tools, record = turn.state, turn.tools, step.record
        decision = state.triage
        try:
            answers = {
                **record.questionnaire_response,
                "subject": {"reference": f"Patient/{state.patient_id}"},
            }
            response = await tools.create(answers)
            await persist_transcript(tools, state)  # the summary links to the transcript so far
            composition = await tools.create(self._composition(state, record, str(response.get("id"))))
            task = await tools.triage_task(
                decision.level if decision else "consultation",
                "nurse-review",
                decision.department if decision else None,
                f"Composition/{composition.get('id')}",
                None,
            )
        except ToolError as exc:
            log.warning(
                "pre-consult storage failed", extra={"fields": {"status": exc.status, "error": str(exc)}}
            )
            yield Emit("error", {"code": "tool_failed", "message": "pre-consult summary not stored"})
            yield Say(self.wording.say("tool_failed", turn.lang))
            return
        state.summary_id = str(composition.get("id"))
        yield Emit(
            "summary",
            {"summary_id": state.summary_id, "task_id": task.get("id"), "summary": record.summary},
        )
        yield Say(self.wording.say("summary_saved", turn.lang))

    @staticmethod
    def _composition(state: SessionState, record: Any, response_id: str) -> dict[str, Any]:
        from assistant.dialogue.composition import preconsult_composition

        return preconsult_composition(
            state.patient_id, record.summary, record.summary_text, response_id, state.transcript_id
        )

    async def _booking(self, turn: Turn) -> AsyncIterator[TurnOutput]:
        from assistant.dialogue.booking import booking_turn

        async for out in booking_turn(
            turn.state, turn.tools, turn.text, turn.lang, self.wording, self.router
        ):
            yield out

    async def _followup(self, turn: Turn) -> AsyncIterator[TurnOutput]:
        state, tools, lang = turn.state, turn.tools, turn.lang
        plan = state.followup.get("plan")
        if plan is None and not state.followup.get("state"):
            try:
                plans = await tools.care_plans()
            except ToolError:
                yield Say(self.wording.say("tool_failed", lang))
                state.flow = "idle"
                return
            if not plans:
                yield Say(self.wording.say("followup_none", lang))
                state.flow = "idle"
                return
            plan = plans[0]
            state.followup["plan"] = plan
        step = self.clinical.followup_turn(state.followup.get("state"), plan, turn.text, lang)
        state.followup["state"] = step.state
        if step.done and not step.observations:
            yield Say(self.wording.say("followup_none", lang))
            state.followup = {}
            state.flow = "idle"
            return
        state.followup["pending_question"] = step.question
        if step.question and not step.done:
            yield Say(step.question)
            return
        try:
            for observation in step.observations:
                await tools.create(observation)
        except ToolError:
            yield Say(self.wording.say("tool_failed", lang))
            return
        yield Say(self.wording.say("followup_done", lang) + " ")
        if step.alerts:
            reason = "; ".join(step.alerts)
            yield await self._escalate(turn, step.alert_level, reason, "followup-threshold")
            yield Say(self.wording.say("followup_alert", lang, reason=reason))
        state.followup = {}
        state.flow = "idle"
