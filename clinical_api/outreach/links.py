"""One-tap appointment links: a signed, expiring token naming one appointment and its patient.

The token is the only credential of the link, so it is bound to one appointment, expires at the
appointment's start, and only allows viewing, cancelling and rescheduling that appointment.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from careline.settings import Settings
from clinical_api.errors import FhirError

PURPOSE = "appointment-link"


@dataclass(frozen=True)
class LinkClaims:
    appointment_id: str
    patient_id: str


def appointment_token(settings: Settings, appointment_id: str, patient_id: str, expires: datetime) -> str:
    exp = int(expires.replace(tzinfo=UTC).timestamp())
    claims = {
        "purpose": PURPOSE,
        "aid": appointment_id,
        "pid": patient_id,
        "iat": int(time.time()),
        "exp": exp,
    }
    return jwt.encode(claims, settings.security.jwt_secret.get_secret_value(), algorithm="HS256")


def read_token(settings: Settings, token: str) -> LinkClaims:
    try:
        claims = jwt.decode(
            token,
            settings.security.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            options={"require": ["exp", "aid", "pid", "purpose"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise FhirError(410, "this link has expired", "expired") from exc
    except jwt.PyJWTError as exc:
        raise FhirError(404, "unknown link", "not-found") from exc
    if claims.get("purpose") != PURPOSE:
        raise FhirError(404, "unknown link", "not-found")
    return LinkClaims(str(claims["aid"]), str(claims["pid"]))


def base_url(settings: Settings) -> str:
    if settings.outreach.public_url:
        return settings.outreach.public_url.rstrip("/")
    return f"http://{settings.server.host}:{settings.server.clinical_port}"


def appointment_links(
    settings: Settings, appointment_id: str, patient_id: str, start: datetime
) -> dict[str, str]:
    token = appointment_token(settings, appointment_id, patient_id, start)
    base = f"{base_url(settings)}/outreach/a/{token}"
    return {"view": base, "reschedule": f"{base}/reschedule", "cancel": f"{base}/cancel"}


def _attempt_sig(settings: Settings, attempt_id: str) -> str:
    key = settings.security.jwt_secret.get_secret_value().encode()
    return hmac.new(key, f"call-status:{attempt_id}".encode(), hashlib.sha256).hexdigest()[:32]


def status_callback_url(settings: Settings, attempt_id: str) -> str:
    """Where the provider reports the call's fate; signed, so only our own calls can be reported."""
    return f"{base_url(settings)}/outreach/telephony/status?attempt={attempt_id}&sig={_attempt_sig(settings, attempt_id)}"


def check_attempt_sig(settings: Settings, attempt_id: str, sig: str) -> bool:
    return hmac.compare_digest(_attempt_sig(settings, attempt_id), sig)
