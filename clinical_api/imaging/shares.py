"""Share links: a signed, expiring, revocable, view-only grant on chosen studies of one patient.

The token is an HS256 JWT (``aud=dicomweb-share``, ``jti`` = share id, ``exp``). The API's own token check
refuses any token with an audience, so a share token opens DICOMweb GETs only. The database keeps a
SHA-256 of the token and a ``revoked`` flag: revoking takes effect at once, and a leaked database does not
leak working links. Links are bearer secrets: serve the API over HTTPS so they travel encrypted.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import select

from careline.settings import Settings
from clinical_api import audit
from clinical_api.access import can_reach_patient, forbidden
from clinical_api.auth import ALGORITHM, Principal, token_audience, unauthorized
from clinical_api.context import Ctx
from clinical_api.errors import FhirError
from clinical_api.imaging.dicom import valid_uid
from clinical_api.imaging.tables import DicomShare, DicomStudy
from clinical_api.util import iso, new_id, utcnow, valid_id

AUDIENCE = "dicomweb-share"
ISSUER = "careline-clinical-api"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_share_token(token: str) -> bool:
    """True when `token` claims the share audience (the signature is checked later, in `resolve`)."""
    return token_audience(token) == AUDIENCE


def create(ctx: Ctx, study_uids: list[str], expires_in: int | None, base: str) -> dict[str, Any]:
    """A share of `study_uids` (all of one patient the caller reaches), valid for `expires_in` seconds."""
    settings = ctx.settings.imaging
    ttl = settings.share_link_ttl_s if expires_in is None else expires_in
    if not 60 <= ttl <= settings.share_link_max_ttl_s:
        raise FhirError(400, f"expires_in must be between 60 and {settings.share_link_max_ttl_s} seconds")
    uids = list(dict.fromkeys(study_uids))
    if not uids or len(uids) > 100 or not all(valid_uid(uid) for uid in uids):
        raise FhirError(400, "studies must list 1 to 100 valid StudyInstanceUIDs", "required")
    rows = ctx.session.scalars(select(DicomStudy).where(DicomStudy.study_uid.in_(uids))).all()
    if len(rows) != len(uids):
        raise FhirError(404, "unknown study")
    patients = {row.patient_id for row in rows}
    if len(patients) != 1:
        raise FhirError(400, "a share link covers studies of one patient")
    patient_id = patients.pop()
    if ctx.principal.role == "service" or not can_reach_patient(
        ctx.session, ctx.settings, ctx.principal, patient_id
    ):
        raise forbidden("outside the caller's patient scope", patient_id)
    share_id = new_id()
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "jti": share_id,
            "sub": f"share:{share_id}",
            "iat": now,
            "exp": now + ttl,
        },
        ctx.settings.security.jwt_secret.get_secret_value(),
        algorithm=ALGORITHM,
    )
    expires = utcnow() + timedelta(seconds=ttl)
    ctx.session.add(
        DicomShare(
            id=share_id,
            token_sha256=_hash(token),
            patient_id=patient_id,
            study_uids=uids,
            created_by=ctx.principal.username,
            created=utcnow(),
            expires=expires,
            revoked=False,
        )
    )
    refs = [f"ImagingStudy/{row.imaging_study_id}" for row in rows if row.imaging_study_id]
    audit.record(ctx.session, ctx.principal, "operation", patient_id, refs, 201)
    return {
        "id": share_id,
        "url": f"{base}/studies?share={token}",
        "token": token,
        "expires": iso(expires),
    }


def revoke(ctx: Ctx, share_id: str) -> None:
    """Revoke a share: its creator, the patient it belongs to, or an admin."""
    share = ctx.session.get(DicomShare, share_id) if valid_id(share_id) else None
    if share is None:
        raise FhirError(404, "share not found")
    allowed = (
        ctx.principal.role == "admin"
        or share.created_by == ctx.principal.username
        or (ctx.principal.role == "patient" and ctx.principal.patient_id == share.patient_id)
    )
    if not allowed:
        raise forbidden("only the creator, the patient or an admin revokes a share", share.patient_id)
    share.revoked = True
    audit.record(ctx.session, ctx.principal, "delete", share.patient_id, [])


def resolve(session: Any, settings: Settings, token: str) -> tuple[Principal, DicomShare]:
    """The share a token opens, or 401 (forged, expired, revoked, unknown)."""
    try:
        claims = jwt.decode(
            token,
            settings.security.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "jti", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise unauthorized("share link expired") from exc
    except jwt.PyJWTError as exc:
        raise unauthorized("invalid share link") from exc
    share = session.get(DicomShare, str(claims["jti"])) if valid_id(str(claims["jti"])) else None
    if share is None or share.token_sha256 != _hash(token):
        raise unauthorized("invalid share link")
    if share.revoked:
        raise unauthorized("share link revoked")
    if share.expires <= utcnow():
        raise unauthorized("share link expired")
    principal = Principal(username=f"share:{share.id}", user_id="", role="share", patient_id=share.patient_id)
    return principal, share
