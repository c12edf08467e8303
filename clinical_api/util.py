"""Small helpers: ids, UTC time, FHIR date parsing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9\-._:/|,]{1,128}$")


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Naive UTC, the storage form of every datetime."""
    now = datetime.now(UTC)
    return now.replace(tzinfo=None, microsecond=now.microsecond // 1000 * 1000)


def to_storage(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def iso(value: datetime | None) -> str | None:
    """FHIR instant/dateTime text of a stored (naive UTC) datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_fhir_datetime(text: str) -> tuple[datetime, datetime]:
    """The [start, end) period a FHIR date/dateTime denotes (``2024``, ``2024-05``, ``2024-05-01``, full)."""
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return datetime(year, 1, 1), datetime(year + 1, 1, 1) if year < 9999 else datetime.max
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = (int(p) for p in text.split("-"))
        start = datetime(year, month, 1)
        end = datetime(year + (month == 12), month % 12 + 1, 1) if year < 9999 or month < 12 else datetime.max
        return start, end
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        start = datetime(day.year, day.month, day.day)
        return start, start + timedelta(days=1) if day < date.max else datetime.max
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    stored = to_storage(value)
    return stored, stored


def valid_id(value: str) -> bool:
    return bool(ID_RE.match(value))
