"""Demo data: departments, staff, patients with identifiers from two hospitals, slots, CarePlans."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.auth import Principal, create_user
from clinical_api.context import Ctx
from clinical_api.models import Slot, User
from clinical_api.service import create, update
from clinical_api.util import iso, new_id, utcnow

DEPARTMENTS = {"cardiology": "Cardiology", "oncology": "Oncology", "dermatology": "Dermatology"}
HOSPITALS = ("urn:oid:1.2.36.146.595.217.0.1", "urn:oid:2.16.840.1.113883.2.4.6.3")
PATIENTS = [
    ("Chen", "Wei", "male", "1958-04-12", "cardiology"),
    ("Garcia", "Ana", "female", "1971-09-30", "oncology"),
    ("Okafor", "Tobi", "male", "1985-01-22", "dermatology"),
    ("Lindqvist", "Maja", "female", "1949-11-05", "oncology"),
]


@dataclass
class SeedReport:
    users: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)
    patients: list[str] = field(default_factory=list)
    slots: int = 0


def seed(session: Session, settings: Settings, days: int = 14, password: str = "careline-demo") -> SeedReport:
    """Idempotent enough for a demo: does nothing when the demo admin already exists."""
    report = SeedReport()
    if session.scalar(select(User).where(User.username == "demo-admin")):
        return report
    admin = Principal(username="demo-seed", user_id="seed", role="admin")
    ctx = Ctx(session=session, settings=settings, principal=admin)
    create_user(session, username="demo-admin", password=password, role="admin")
    report.users.append(("demo-admin", password, "admin"))
    for code, name in DEPARTMENTS.items():
        update(
            ctx,
            "Organization",
            code,
            {"resourceType": "Organization", "id": code, "name": name, "active": True},
            None,
        )
        for role, fhir_code in (("nurse", "224535009"), ("doctor", "309343006")):
            prac = create(
                ctx,
                "Practitioner",
                {
                    "resourceType": "Practitioner",
                    "active": True,
                    "name": [{"family": f"{name} {role.title()}", "given": ["Demo"]}],
                },
            )
            create(
                ctx,
                "PractitionerRole",
                {
                    "resourceType": "PractitionerRole",
                    "active": True,
                    "practitioner": {"reference": f"Practitioner/{prac['id']}"},
                    "organization": {"reference": f"Organization/{code}"},
                    "code": [{"coding": [{"system": "http://snomed.info/sct", "code": fhir_code}]}],
                },
            )
            username = f"{role}-{code}"
            create_user(
                session,
                username=username,
                password=password,
                role=role,
                department=code,
                practitioner_id=prac["id"],
            )
            report.users.append((username, password, role))
            if role == "doctor":
                schedule = create(
                    ctx,
                    "Schedule",
                    {
                        "resourceType": "Schedule",
                        "active": True,
                        "specialty": [{"coding": [{"code": code}]}],
                        "actor": [{"reference": f"Practitioner/{prac['id']}"}],
                    },
                )
                report.slots += _slots(session, schedule["id"], code, days)
    for i, (family, given, gender, birth, dept) in enumerate(PATIENTS):
        patient = create(
            ctx,
            "Patient",
            {
                "resourceType": "Patient",
                "active": True,
                "identifier": [
                    {"system": HOSPITALS[0], "value": f"A{100000 + i}"},
                    {"system": HOSPITALS[1], "value": f"B-{7000 + i}"},
                ],
                "name": [{"family": family, "given": [given]}],
                "gender": gender,
                "birthDate": birth,
                "managingOrganization": {"reference": f"Organization/{dept}"},
            },
        )
        pid = patient["id"]
        report.patients.append(pid)
        username = f"patient-{i + 1}"
        create_user(session, username=username, password=password, role="patient", patient_id=pid)
        report.users.append((username, password, "patient"))
        doctor = Principal(username="demo-seed", user_id="seed", role="doctor", department=dept)
        create(Ctx(session=session, settings=settings, principal=doctor), "CarePlan", care_plan(pid, dept))
    return report


#: The follow-up template (assistant/protocols/followup/<id>.yaml) each department's demo plan runs.
FOLLOWUP_PLAN_OF = {"cardiology": "chronic_disease", "oncology": "radiotherapy", "dermatology": "dermatology"}
FOLLOWUP_PLAN_URI = "https://careline.example/fhir/followup-plan/"


def care_plan(
    patient_id: str, department: str, starts: list[datetime] | None = None, hours: int = 12
) -> dict[str, Any]:
    """A follow-up CarePlan with a check-in window of `hours` at each start (default: weeks 1, 2 and 4)."""
    first = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    starts = starts if starts is not None else [first + timedelta(days=7 * week) for week in (1, 2, 4)]
    start = min(starts, default=first)
    activities = [
        {
            "detail": {
                "kind": "Task",
                "code": {
                    "coding": [
                        {"system": "http://careline.example/fhir/CodeSystem/check-in", "code": "check-in"}
                    ]
                },
                "status": "scheduled",
                "scheduledPeriod": {"start": iso(when), "end": iso(when + timedelta(hours=hours))},
            }
        }
        for when in starts
    ]
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "instantiatesUri": [FOLLOWUP_PLAN_URI + FOLLOWUP_PLAN_OF.get(department, "chronic_disease")],
        "subject": {"reference": f"Patient/{patient_id}"},
        "author": {"reference": f"Organization/{department}"},
        "period": {"start": iso(start)},
        "activity": activities,
    }


def _slots(session: Session, schedule_id: str, department: str, days: int) -> int:
    """30-minute video-consult slots, 09:00-17:00 UTC on weekdays, for the next `days` days."""
    day0 = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    count = 0
    for d in range(days):
        day = day0 + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for half_hour in range(16):
            start = day + timedelta(hours=9, minutes=30 * half_hour)
            session.add(
                Slot(
                    id=new_id(),
                    schedule_id=schedule_id,
                    department=department,
                    service_type="video-consult",
                    start=start,
                    end=start + timedelta(minutes=30),
                    status="free",
                    version_id=1,
                    last_updated=utcnow(),
                )
            )
            count += 1
    session.flush()
    return count
