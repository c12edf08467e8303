"""The three ways to reach a patient: in-app notification, phone call, e-mail.

Each send carries the attempt id as its idempotency key: the in-app row is UNIQUE on it, the call
request sends it as ``Idempotency-Key``, the e-mail uses it as ``Message-ID``.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from careline.settings import OutreachSettings
from clinical_api.outreach.content import Message
from clinical_api.outreach.preferences import Contact
from clinical_api.outreach.tables import OutreachNotification
from clinical_api.outreach.telephony import TelephonyAdapter


@dataclass(frozen=True)
class Outgoing:
    """One message to one patient on one channel, for one attempt of one job."""

    job_id: str
    attempt_id: str
    kind: str
    contact: Contact
    message: Message
    link: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    ok: bool
    reason: str | None = None
    provider_ref: str | None = None


def notification_row(out: Outgoing, now: datetime) -> dict[str, Any]:
    return {
        "attempt_id": out.attempt_id,
        "job_id": out.job_id,
        "patient_id": out.contact.patient_id,
        "kind": out.kind,
        "title": out.message.title[:200],
        "body": out.message.body,
        "link": out.link,
        "created": now,
    }


def insert_notifications(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert in the caller's transaction (so they commit with the jobs' new state); a repeated attempt
    id is a no-op."""
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(OutreachNotification).values(rows).on_conflict_do_nothing())


def send_email(settings: OutreachSettings, out: Outgoing) -> Sent:
    to = out.contact.email or ""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = out.message.title
    msg["Message-ID"] = f"<{out.attempt_id.replace(':', '.')}@careline.outreach>"  # ':' is not valid there
    msg.set_content(out.message.email)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused:
        return Sent(False, "e-mail address refused by the SMTP server")
    except (smtplib.SMTPException, OSError) as exc:
        return Sent(False, f"SMTP failure: {type(exc).__name__}")
    if refused:
        return Sent(False, "e-mail address refused by the SMTP server")
    return Sent(True, provider_ref=msg["Message-ID"][:100])


def place_call(
    adapter: TelephonyAdapter, out: Outgoing, token: str, status_callback: str | None = None
) -> Sent:
    """Call the patient; the stream parameters carry a patient-scoped token for the assistant."""
    params = {
        "token": token,
        "patient_id": out.contact.patient_id,
        "purpose": out.kind,
        "job_id": out.job_id,
        "language": out.contact.language,
    }
    result = adapter.call(out.contact.phone or "", params, out.attempt_id, status_callback)
    return Sent(result.ok, result.reason, result.sid)
