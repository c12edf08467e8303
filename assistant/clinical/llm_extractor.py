"""Optional LLM finding extraction, and the validation its output must pass.

A capable LLM may fill the same Finding schema as the lexicon. Its output is treated like any
other untrusted input: unknown concepts are dropped, each finding must quote a span that really
occurs in the patient's text, and values must be in range. It can add understanding; it cannot
add a finding the patient did not express, and it never sets a triage level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.clinical.findings import Finding
from assistant.clinical.lexicon import Lexicon


class FindingExtractor(Protocol):
    """Returns raw finding dicts: {concept, present, evidence, severity?, duration_hours?, laterality?}.

    ``concepts`` maps each allowed concept id to its English label, for the prompt.
    """

    def extract(self, text: str, lang: str, concepts: Mapping[str, str]) -> Sequence[Mapping[str, Any]]: ...


@dataclass
class ValidatedFindings:
    accepted: list[Finding] = field(default_factory=list)
    rejected: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)


def validate_extracted(raw: Sequence[Mapping[str, Any]], text: str, lexicon: Lexicon) -> ValidatedFindings:
    """Keep only well-formed findings on known concepts whose evidence occurs in ``text``."""
    out = ValidatedFindings()
    lowered = text.lower()
    for item in raw:
        concept = item.get("concept")
        evidence = item.get("evidence")
        present = item.get("present", True)
        if not isinstance(concept, str) or concept not in lexicon.concepts:
            out.rejected.append((item, "unknown concept"))
            continue
        if not isinstance(evidence, str) or not evidence.strip():
            out.rejected.append((item, "no evidence span"))
            continue
        idx = lowered.find(evidence.strip().lower())
        if idx < 0:
            out.rejected.append((item, "evidence not in the patient's text"))
            continue
        if present is not None and not isinstance(present, bool):
            out.rejected.append((item, "present must be true, false or null"))
            continue
        severity = item.get("severity")
        if severity is not None and (not isinstance(severity, int | float) or not 0 <= severity <= 10):
            out.rejected.append((item, "severity out of range"))
            continue
        duration = item.get("duration_hours")
        if duration is not None and (not isinstance(duration, int | float) or duration < 0):
            out.rejected.append((item, "duration out of range"))
            continue
        laterality = item.get("laterality")
        if laterality not in (None, "left", "right", "both"):
            out.rejected.append((item, "bad laterality"))
            continue
        ev = evidence.strip()
        out.accepted.append(
            Finding(
                concept=concept,
                present=present,
                evidence=text[idx : idx + len(ev)],
                start=idx,
                end=idx + len(ev),
                source=text,
                method="llm",
                severity=int(severity) if severity is not None else None,
                duration_hours=float(duration) if duration is not None else None,
                laterality=laterality,
            )
        )
    return out
