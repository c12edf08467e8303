"""Careline's knowledge base: a curated medical library that answers with its sources.

Use `KnowledgeBase.from_settings(settings)`; `.answer(question, lang)` returns an `Answer`.
"""

from knowledge.answer import AnswerPolicy, Generator
from knowledge.base import KnowledgeBase
from knowledge.loaders import SourceDefaults
from knowledge.retrieval import Filters
from knowledge.types import Answer, AnswerSentence, Citation, IngestReport, Passage, SkippedFile

__all__ = [
    "Answer",
    "AnswerPolicy",
    "AnswerSentence",
    "Citation",
    "Filters",
    "Generator",
    "IngestReport",
    "KnowledgeBase",
    "Passage",
    "SkippedFile",
    "SourceDefaults",
]
