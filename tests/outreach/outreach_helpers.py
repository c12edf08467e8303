"""Builders shared by the outreach tests (CarePlans shaped like clinical_api.seed.care_plan)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import clinical_world as helpers  # noqa: F401  (the clinical API tests' world builders)

from clinical_api.seed import care_plan


def checkin_plan(patient_id: str, department: str, starts: list[datetime], hours: int = 12) -> dict[str, Any]:
    """The demo follow-up CarePlan, with check-ins at the given times."""
    return care_plan(patient_id, department, starts, hours)


def bare_patient(dept: str) -> dict[str, Any]:
    """A Patient with no app account, phone or e-mail."""
    return {
        "resourceType": "Patient",
        "name": [{"family": "Nochannel", "given": ["Pat"]}],
        "managingOrganization": {"reference": f"Organization/{dept}"},
    }
