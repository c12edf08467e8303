"""Outbound calls through a Twilio-compatible REST API.

``POST {base}/2010-04-01/Accounts/{sid}/Calls.json`` (form: To, From, Twiml, StatusCallback; HTTP basic
auth with the account SID and auth token). The TwiML connects the answered call to the assistant's media
stream, carrying patient, purpose and job as stream parameters. ``Idempotency-Key`` carries the attempt
id, so a provider that honours it places one call per attempt even if a worker retries the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import httpx

from careline.settings import OutreachSettings


@dataclass(frozen=True)
class CallResult:
    ok: bool
    sid: str | None = None
    reason: str | None = None


def stream_twiml(stream_url: str, parameters: dict[str, str]) -> str:
    """TwiML that connects the call to a bidirectional media stream with custom parameters."""
    params = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in sorted(parameters.items())
    )
    return f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream></Connect></Response>"


class TelephonyAdapter:
    """Places calls; every failure comes back as a reason, never as an exception."""

    def __init__(self, settings: OutreachSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.telephony_timeout_s)

    @property
    def configured(self) -> bool:
        return bool(self.settings.telephony_url)

    def call(
        self, to: str, parameters: dict[str, str], idempotency_key: str, status_callback: str | None = None
    ) -> CallResult:
        s = self.settings
        url = f"{s.telephony_url.rstrip('/')}/2010-04-01/Accounts/{s.telephony_account_sid}/Calls.json"
        form = {"To": to, "From": s.telephony_from, "Twiml": stream_twiml(s.assistant_stream_url, parameters)}
        if status_callback:
            form["StatusCallback"] = status_callback
        try:
            response = self.client.post(
                url,
                data=form,
                auth=(s.telephony_account_sid, s.telephony_auth_token.get_secret_value()),
                headers={"Idempotency-Key": idempotency_key},
                timeout=s.telephony_timeout_s,
            )
        except httpx.TimeoutException:
            return CallResult(False, reason="telephony provider timed out")
        except httpx.HTTPError as exc:
            return CallResult(False, reason=f"telephony provider unreachable: {type(exc).__name__}")
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("message", ""))[:150]
            except ValueError:
                detail = ""
            return CallResult(
                False, reason=f"telephony provider error {response.status_code}: {detail}".strip()
            )
        try:
            sid = str(response.json()["sid"])
        except (ValueError, KeyError, TypeError):
            return CallResult(False, reason="telephony provider answered without a call SID")
        return CallResult(True, sid=sid[:100])

    def close(self) -> None:
        self.client.close()
