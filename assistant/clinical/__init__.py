"""Clinical reasoning core: understanding patient text, triage, pre-consultation and follow-up.

Every level, question and patient-facing sentence comes from versioned protocol data under
``assistant/protocols``; the language model is never consulted for a level.
"""

from assistant.clinical.embedding_fallback import EmbeddingFallback
from assistant.clinical.findings import Attribute, Extraction, Finding
from assistant.clinical.followup import (
    CheckIn,
    Escalation,
    FollowupPlan,
    evaluate_readings,
    expand_plan,
    list_plans,
    load_plan,
    make_observation,
    parse_reading,
)
from assistant.clinical.lexicon import Lexicon, get_lexicon
from assistant.clinical.llm_extractor import FindingExtractor, ValidatedFindings, validate_extracted
from assistant.clinical.preconsult import NurseSummary, PreconsultSession
from assistant.clinical.protocols import LEVELS, ProtocolLibrary, get_library, load_library
from assistant.clinical.triage import Question, RuleFiring, TriageDecision, TriageSession
from assistant.clinical.understanding import understand

__all__ = [
    "LEVELS",
    "Attribute",
    "CheckIn",
    "EmbeddingFallback",
    "Escalation",
    "Extraction",
    "Finding",
    "FindingExtractor",
    "FollowupPlan",
    "Lexicon",
    "NurseSummary",
    "PreconsultSession",
    "ProtocolLibrary",
    "Question",
    "RuleFiring",
    "TriageDecision",
    "TriageSession",
    "ValidatedFindings",
    "evaluate_readings",
    "expand_plan",
    "get_lexicon",
    "get_library",
    "list_plans",
    "load_library",
    "load_plan",
    "make_observation",
    "parse_reading",
    "understand",
    "validate_extracted",
]
