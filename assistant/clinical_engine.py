"""Adapts the protocol-driven clinical core (`assistant.clinical`) to what the dialogue needs.

All levels, questions and wording come from the protocol data; this module only
threads the serialisable sessions through turns and packages their outputs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assistant.clinical import (
    EmbeddingFallback,
    PreconsultSession,
    ProtocolLibrary,
    TriageDecision,
    TriageSession,
    evaluate_readings,
    get_library,
    list_plans,
    load_plan,
    make_observation,
    parse_reading,
    understand,
)
from assistant.clinical.llm_extractor import FindingExtractor
from assistant.clinical.llm_findings import LLMFindingExtractor
from assistant.dialogue.ports import EmergencyHit, FollowupStep, PreconsultRecord, TriageStep
from assistant.sessions.state import TriageView
from models.protocols import Embedder
from models.registry import ModelRegistry

EMERGENCY = "emergency_ambulance"
PLAN_URI_PREFIX = "https://careline.example/fhir/followup-plan/"


def triage_view(decision: TriageDecision, lang: str) -> TriageView:
    reasons = [
        {
            "rule": firing.rule_id,
            "protocol": firing.protocol,
            "version": firing.protocol_version,
            "level": firing.level,
            "because": firing.text(lang),
            "evidence": firing.evidence,
        }
        for firing in decision.reasons
    ]
    return TriageView(
        level=decision.level, department=decision.department, reasons=reasons, settled=decision.settled
    )


def plan_id_of(care_plan: dict[str, Any]) -> str | None:
    """The follow-up template a CarePlan instantiates (`instantiatesUri` .../followup-plan/<id>)."""
    for uri in care_plan.get("instantiatesUri", []) or []:
        if str(uri).startswith(PLAN_URI_PREFIX):
            candidate = str(uri)[len(PLAN_URI_PREFIX) :]
            return candidate if candidate in list_plans() else None
    return None


class ProtocolClinicalEngine:
    def __init__(
        self,
        library: ProtocolLibrary,
        embedder: Embedder | None = None,
        extractor: FindingExtractor | None = None,
    ) -> None:
        self.library = library
        self.fallback = EmbeddingFallback(embedder, library.lexicon) if embedder is not None else None
        self.extractor = extractor

    @classmethod
    def from_registry(cls, registry: ModelRegistry) -> ProtocolClinicalEngine:
        """The packaged protocols and embeddings; the LLM also extracts findings when it is marked capable."""
        extractor = LLMFindingExtractor(registry.llm()) if registry.settings.llm.capable else None
        return cls(get_library(), registry.embeddings(), extractor)

    # --- screening ------------------------------------------------------------------------------

    def screen_emergency(self, text: str, lang: str) -> EmergencyHit | None:
        session = TriageSession(lang=lang)
        session.observe(text, lang, library=self.library)
        decision = session.decision(library=self.library)
        if decision.level != EMERGENCY:
            return None
        top = decision.reasons[0]
        return EmergencyHit(rule=top.rule_id, reason=top.text(lang), level=decision.level)

    def emergency_instruction(self, lang: str) -> str:
        return self.library.emergency_instruction(lang)

    def mentions_symptom(self, text: str, lang: str) -> bool:
        extraction = understand(text, lang, lexicon=self.library.lexicon, fallback=self.fallback)
        return bool(extraction.present)

    def decision_text(self, decision: TriageView, lang: str) -> str:
        parts = [self.library.level_text(decision.level, lang)]
        if decision.reasons:
            parts.append(str(decision.reasons[0].get("because", "")))
        parts.append(self.library.department_text(decision.department, lang))
        parts.append(self.library.disclaimer(lang))
        return " ".join(part for part in parts if part)

    # --- triage and pre-consultation ----------------------------------------------------------------

    def triage_turn(self, state: dict[str, Any] | None, text: str, lang: str) -> TriageStep:
        state = dict(state or {})
        session = (
            PreconsultSession.from_dict(state["preconsult"]) if "preconsult" in state else PreconsultSession()
        )
        pending = state.get("pending_id")
        if pending:
            session.answer(pending, text, library=self.library)
        else:
            session.observe(
                text, lang, fallback=self.fallback, extractor=self.extractor, library=self.library
            )
        decision = TriageSession.from_dict(session.triage).decision(library=self.library)
        view = triage_view(decision, lang)
        step = TriageStep(state=state, decision=view)
        if decision.level == EMERGENCY:
            top = decision.reasons[0]
            step.emergency = EmergencyHit(rule=top.rule_id, reason=top.text(lang), level=decision.level)
        question = session.next_question(lang, library=self.library)
        if decision.settled and not state.get("announced"):
            step.newly_settled = True
            state["announced"] = True
        state.update(
            preconsult=session.to_dict(),
            pending_id=question.id if question else None,
            pending_question=question.text if question else None,
        )
        if question is not None:
            step.question = question.text
            return step
        if not state.get("announced"):
            step.newly_settled = True
            state["announced"] = True
        summary = session.summary(library=self.library)
        step.record = PreconsultRecord(
            questionnaire_response=session.questionnaire_response(library=self.library),
            summary=summary.to_dict(),
            summary_text=summary.history_of_present_illness,
        )
        return step

    # --- follow-up ----------------------------------------------------------------------------------

    def followup_turn(
        self, state: dict[str, Any] | None, plan: dict[str, Any] | None, text: str, lang: str
    ) -> FollowupStep:
        state = dict(state or {})
        if "plan_id" not in state:
            plan_id = plan_id_of(plan or {})
            if plan_id is None:
                return FollowupStep(state=state, done=True)
            template = load_plan(plan_id)
            subject = str(((plan or {}).get("subject") or {}).get("reference", ""))
            items = [item for item in template.items if template.items[item].get("type") != "photo"]
            state.update(plan_id=plan_id, subject=subject, remaining=items, observations=[])
            intro = template.intro and template.intro.get(lang, template.intro.get("en", ""))
            return self._ask(state, template, lang, prefix=intro or "")
        template = load_plan(state["plan_id"])
        item = state["remaining"][0]
        value = parse_reading(template, item, text)
        if value is None:
            return self._ask(state, template, lang)
        observation = make_observation(
            template, item, value, datetime.now(UTC), subject=state["subject"] or None
        )
        observation.pop("id", None)
        state["observations"].append(observation)
        state["remaining"] = state["remaining"][1:]
        if state["remaining"]:
            return self._ask(state, template, lang)
        escalations = evaluate_readings(template, state["observations"])
        return FollowupStep(
            state=state,
            observations=list(state["observations"]),
            alerts=[escalation.text(lang) for escalation in escalations],
            alert_level=escalations[0].level if escalations else "consultation",
            done=True,
        )

    @staticmethod
    def _ask(state: dict[str, Any], template: Any, lang: str, prefix: str = "") -> FollowupStep:
        question = template.prompt(state["remaining"][0], lang)
        return FollowupStep(state=state, question=f"{prefix} {question}".strip())
