"""What the dialogue needs from the clinical engine, as a Protocol, so flows never reach into its rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.sessions.state import TriageView


@dataclass(frozen=True)
class EmergencyHit:
    rule: str
    reason: str
    level: str = "emergency_ambulance"


@dataclass(frozen=True)
class PreconsultRecord:
    """What the nurse reviews: the FHIR QuestionnaireResponse and the readable summary."""

    questionnaire_response: dict[str, Any]
    summary: dict[str, Any]
    summary_text: str


@dataclass
class TriageStep:
    """Where a triage/pre-consult conversation stands after one patient turn."""

    state: dict[str, Any]
    question: str | None = None
    decision: TriageView | None = None
    newly_settled: bool = False
    emergency: EmergencyHit | None = None
    record: PreconsultRecord | None = None


@dataclass
class FollowupStep:
    state: dict[str, Any]
    question: str | None = None
    observations: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    alert_level: str = "consultation_24"
    done: bool = False


class ClinicalEngine(Protocol):
    def screen_emergency(self, text: str, lang: str) -> EmergencyHit | None: ...

    def emergency_instruction(self, lang: str) -> str: ...

    def mentions_symptom(self, text: str, lang: str) -> bool: ...

    def triage_turn(self, state: dict[str, Any] | None, text: str, lang: str) -> TriageStep: ...

    def decision_text(self, decision: TriageView, lang: str) -> str: ...

    def followup_turn(
        self, state: dict[str, Any] | None, plan: dict[str, Any] | None, text: str, lang: str
    ) -> FollowupStep: ...
