"""Passwords (argon2), bearer JWTs (HS256) and the current principal.

Token claims: ``sub`` (username), ``uid``, ``role``, ``dept``, ``pid`` (the one patient a token is bound
to), ``prac`` (Practitioner id), ``scope`` (``user`` or ``patient``), ``iat``, ``exp``, ``jti``.
A token whose ``scope`` is ``patient`` reaches only patient ``pid`` and cannot be exchanged again, so its
scope never widens.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.errors import FhirError
from clinical_api.models import User
from clinical_api.util import new_id, utcnow

Role = Literal["patient", "nurse", "doctor", "admin", "service"]
ROLES: tuple[str, ...] = ("patient", "nurse", "doctor", "admin", "service")
STAFF = frozenset({"nurse", "doctor"})
ALGORITHM = "HS256"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("careline-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by a valid token."""

    username: str
    user_id: str
    role: str
    department: str | None = None
    patient_id: str | None = None
    practitioner_id: str | None = None
    scope: str = "user"
    expires_at: int = 0

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def bound_patient(self) -> str | None:
        """The only patient this principal may reach, or None when not bound to one patient."""
        if self.role == "patient" or self.scope == "patient":
            return self.patient_id
        return None


def issue_token(settings: Settings, principal: Principal, ttl_s: int) -> tuple[str, int]:
    now = int(time.time())
    exp = now + ttl_s
    claims: dict[str, Any] = {
        "sub": principal.username,
        "uid": principal.user_id,
        "role": principal.role,
        "scope": principal.scope,
        "iat": now,
        "exp": exp,
        "jti": uuid.uuid4().hex,
    }
    if principal.department:
        claims["dept"] = principal.department
    if principal.patient_id:
        claims["pid"] = principal.patient_id
    if principal.practitioner_id:
        claims["prac"] = principal.practitioner_id
    token = jwt.encode(claims, settings.security.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, exp


def token_audience(token: str) -> str | None:
    """The `aud` a token claims, unverified: routes pick the verifier (share link, video join) by it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    audience = claims.get("aud")
    return audience if isinstance(audience, str) else None


def decode_token(settings: Settings, token: str) -> Principal:
    """The principal a token proves, or FhirError 401 (expired, forged, malformed)."""
    try:
        claims = jwt.decode(
            token,
            settings.security.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise unauthorized("invalid token") from exc
    role = claims.get("role")
    scope = claims.get("scope", "user")
    if role not in ROLES or scope not in ("user", "patient"):
        raise unauthorized("invalid token")
    if scope == "patient" and not claims.get("pid"):
        raise unauthorized("invalid token")
    return Principal(
        username=str(claims["sub"]),
        user_id=str(claims.get("uid", "")),
        role=str(role),
        department=claims.get("dept"),
        patient_id=claims.get("pid"),
        practitioner_id=claims.get("prac"),
        scope=str(scope),
        expires_at=int(claims["exp"]),
    )


def unauthorized(message: str) -> FhirError:
    return FhirError(401, message, "login", headers={"WWW-Authenticate": "Bearer"})


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Costs one argon2 verify either way."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


def principal_of(user: User) -> Principal:
    return Principal(
        username=user.username,
        user_id=user.id,
        role=user.role,
        department=user.department,
        patient_id=user.patient_id,
        practitioner_id=user.practitioner_id,
    )


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    department: str | None = None,
    patient_id: str | None = None,
    practitioner_id: str | None = None,
) -> User:
    """Add a user (caller commits). Patients must name their Patient id; staff may name a department."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "patient" and not patient_id:
        raise ValueError("a patient user needs --patient-id")
    if not username or len(password) < 8:
        raise ValueError("username required and password of at least 8 characters")
    user = User(
        id=new_id(),
        username=username,
        password_hash=hash_password(password),
        role=role,
        department=department,
        patient_id=patient_id if role == "patient" else None,
        practitioner_id=practitioner_id,
        active=True,
        created=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller proven by the bearer token, or 401."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("bearer token required")
    principal = decode_token(request.app.state.settings, token)
    request.state.principal = principal
    return principal
