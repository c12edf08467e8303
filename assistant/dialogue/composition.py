"""The pre-consult summary as a FHIR Composition (preliminary until a nurse signs it off)."""

from __future__ import annotations

import html
import time
from typing import Any

LOINC_PRECONSULT = {"system": "http://loinc.org", "code": "34109-9", "display": "Note"}

SECTIONS: tuple[tuple[str, str], ...] = (
    ("chief_complaint", "Chief complaint"),
    ("history_of_present_illness", "History of present illness"),
    ("pertinent_positives", "Pertinent positives"),
    ("pertinent_negatives", "Pertinent negatives"),
    ("red_flags_asked", "Red flags asked"),
    ("past_history", "Past history"),
    ("medications", "Medicines"),
    ("allergies", "Allergies"),
    ("triage", "Triage"),
)


def _narrative(value: Any) -> str:
    if isinstance(value, list):
        items = "".join(f"<li>{html.escape(_plain(item))}</li>" for item in value) or "<li>none stated</li>"
        return f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>'
    return f'<div xmlns="http://www.w3.org/1999/xhtml">{html.escape(_plain(value) or "none stated")}</div>'


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    return "" if value is None else str(value)


def preconsult_composition(
    patient_id: str,
    summary: dict[str, Any],
    summary_text: str,
    questionnaire_response_id: str,
    transcript_id: str | None = None,
) -> dict[str, Any]:
    transcript = (
        [
            {
                "title": "Conversation transcript",
                "code": {"text": "transcript"},
                "text": {
                    "status": "generated",
                    "div": _narrative("The full conversation, as the patient heard it."),
                },
                "entry": [{"reference": f"DocumentReference/{transcript_id}"}],
            }
        ]
        if transcript_id
        else []
    )
    return {
        "resourceType": "Composition",
        "status": "preliminary",
        "type": {"coding": [LOINC_PRECONSULT], "text": "Pre-consultation summary"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "author": [{"display": "Careline assistant"}],
        "title": "Pre-consultation summary",
        "section": [
            {
                "title": title,
                "code": {"text": key},
                "text": {"status": "generated", "div": _narrative(summary.get(key))},
            }
            for key, title in SECTIONS
        ]
        + [
            {
                "title": "Answers",
                "code": {"text": "questionnaire_response"},
                "text": {"status": "generated", "div": _narrative(summary_text)},
                "entry": [{"reference": f"QuestionnaireResponse/{questionnaire_response_id}"}],
            }
        ]
        + transcript,
    }
