"""Who can be reached how: a patient's channel order, contacts, language and quiet hours.

Stored preferences win; without them the Patient resource's ``telecom`` and ``communication`` fill in,
with the channel order from settings. Phone numbers must be E.164, e-mails a plain addr-spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from careline.settings import OutreachSettings
from clinical_api.models import Resource
from clinical_api.outreach.tables import OutreachPreference

CHANNELS = ("app", "phone", "email")
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def valid_phone(value: str | None) -> bool:
    return bool(value and E164_RE.fullmatch(value))


def valid_email(value: str | None) -> bool:
    return bool(value and len(value) <= 254 and EMAIL_RE.fullmatch(value))


@dataclass(frozen=True)
class Contact:
    """Everything a worker needs to reach one patient."""

    patient_id: str
    channels: tuple[str, ...]
    phone: str | None
    email: str | None
    language: str
    timezone: str
    quiet_start: str | None
    quiet_end: str | None
    name: str = ""
    department: str | None = None

    def in_quiet_hours(self, now_utc: datetime) -> bool:
        return quiet_until(self, now_utc) is not None


def quiet_until(contact: Contact, now_utc: datetime) -> datetime | None:
    """The end of the quiet period `now_utc` falls in (naive UTC), or None when not in quiet hours."""
    if not contact.quiet_start or not contact.quiet_end or contact.quiet_start == contact.quiet_end:
        return None
    try:
        zone = ZoneInfo(contact.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    start, end = _hhmm(contact.quiet_start), _hhmm(contact.quiet_end)
    now_t = local.time()
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if not inside:
        return None
    end_local = datetime.combine(local.date(), end, tzinfo=zone)
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _telecom(patient: dict[str, Any], system: str) -> str | None:
    for item in patient.get("telecom") or []:
        if isinstance(item, dict) and item.get("system") == system and item.get("value"):
            return str(item["value"]).replace(" ", "")
    return None


def _language(patient: dict[str, Any]) -> str:
    for comm in patient.get("communication") or []:
        for coding in (comm.get("language") or {}).get("coding") or []:
            code = str(coding.get("code", "")).lower()
            if code.startswith("zh"):
                return "zh"
            if code.startswith("en"):
                return "en"
    return "en"


def _name(patient: dict[str, Any]) -> str:
    for name in patient.get("name") or []:
        given = " ".join(name.get("given") or [])
        if given:
            return given
    return ""


def contact_of(
    session: Session,
    settings: OutreachSettings,
    patient_id: str,
    prefs: dict[str, OutreachPreference] | None = None,
) -> Contact | None:
    """The patient's contact, or None when the Patient does not exist. `prefs`: preloaded for a batch."""
    row = session.get(Resource, ("Patient", patient_id))
    if row is None:
        return None
    patient = row.body
    pref = prefs.get(patient_id) if prefs is not None else session.get(OutreachPreference, patient_id)
    if pref is not None:
        return Contact(
            patient_id=patient_id,
            channels=tuple(pref.channels),
            phone=pref.phone or _telecom(patient, "phone"),
            email=pref.email or _telecom(patient, "email"),
            language=pref.language,
            timezone=pref.timezone,
            quiet_start=pref.quiet_start,
            quiet_end=pref.quiet_end,
            name=_name(patient),
            department=row.department,
        )
    return Contact(
        patient_id=patient_id,
        channels=tuple(c for c in settings.default_channels if c in CHANNELS),
        phone=_telecom(patient, "phone"),
        email=_telecom(patient, "email"),
        language=_language(patient),
        timezone=settings.timezone,
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
        name=_name(patient),
        department=row.department,
    )
