"""Sign-in (`/auth/token`) and the assistant's patient-scoped token exchange (`/auth/patient-token`)."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from clinical_api import audit
from clinical_api.access import forbidden
from clinical_api.auth import (
    Principal,
    authenticate,
    current_principal,
    decode_token,
    issue_token,
    principal_of,
)
from clinical_api.deps import db_session
from clinical_api.errors import FhirError

router = APIRouter(prefix="/auth", tags=["auth"])
log = logging.getLogger("clinical_api.auth")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    patient_id: str | None = None
    scope: str = "user"


class PatientTokenIn(BaseModel):
    """The patient's own access token proves their consent; `patient_id`, if given, must match it."""

    subject_token: str = Field(min_length=1, max_length=4096)
    patient_id: str | None = Field(None, pattern=r"^[A-Za-z0-9\-.]{1,64}$")


@router.post("/token", response_model=TokenOut)
def token(
    request: Request, form: OAuth2PasswordRequestForm = Depends(), session: Session = Depends(db_session)
) -> Any:
    """OAuth2 password grant: a bearer JWT for a user."""
    user = authenticate(session, form.username, form.password)
    if user is None:
        log.info("sign-in refused")
        raise FhirError(401, "wrong username or password", "login", headers={"WWW-Authenticate": "Bearer"})
    settings = request.app.state.settings
    principal = principal_of(user)
    ttl = settings.security.token_ttl_s
    access, _ = issue_token(settings, principal, ttl)
    return TokenOut(access_token=access, expires_in=ttl, role=user.role, patient_id=user.patient_id)


@router.post("/patient-token", response_model=TokenOut)
def patient_token(
    request: Request,
    body: PatientTokenIn,
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> Any:
    """A service exchanges a patient's own valid token for a short token scoped to that patient only."""
    settings = request.app.state.settings
    if principal.role != "service" or principal.scope != "user":
        raise forbidden("only a service credential can request a patient-scoped token")
    try:
        subject = decode_token(settings, body.subject_token)
    except FhirError as exc:
        raise FhirError(403, "subject_token is not a valid patient token", "forbidden") from exc
    if subject.role != "patient" or subject.scope != "user" or not subject.patient_id:
        raise forbidden("subject_token must be a patient's own token")
    if body.patient_id is not None and body.patient_id != subject.patient_id:
        raise forbidden("patient_id does not match the subject token", body.patient_id)
    ttl = max(1, min(settings.security.patient_token_ttl_s, subject.expires_at - int(time.time())))
    scoped = Principal(
        username=principal.username,
        user_id=principal.user_id,
        role="service",
        patient_id=subject.patient_id,
        scope="patient",
    )
    access, _ = issue_token(settings, scoped, ttl)
    audit.record(session, principal, "operation", subject.patient_id, [f"Patient/{subject.patient_id}"])
    session.commit()
    return TokenOut(
        access_token=access, expires_in=ttl, role="service", patient_id=subject.patient_id, scope="patient"
    )
