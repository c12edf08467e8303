"""Every error leaves as a FHIR OperationOutcome with the right 4xx (or 500) status.

Denied attempts (401/403) on patient data are written to the audit log here, in their own transaction,
because the request's own transaction has been rolled back by then.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("clinical_api.errors")

FHIR_JSON = "application/fhir+json"

ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


class FhirError(Exception):
    """An expected failure with its HTTP status, FHIR issue code and a diagnostics line (no patient data)."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        patient_id: str | None = None,
    ):
        super().__init__(diagnostics)
        self.patient_id = patient_id
        self.status = status
        self.diagnostics = diagnostics
        self.code = code or ISSUE_CODE.get(status, "exception")
        self.headers = headers


def operation_outcome(diagnostics: str, code: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def outcome_response(
    status: int, diagnostics: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        operation_outcome(diagnostics, code or ISSUE_CODE.get(status, "exception")),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def _audit_denied(request: Request, status: int) -> None:
    if status not in (401, 403):
        return
    recorder = getattr(request.app.state, "audit_denied", None)
    if recorder is None:
        return
    try:
        recorder(request, status)
    except Exception:  # the audit must never turn a 403 into a 500
        log.exception("could not write the audit event of a denied request")


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception type to an OperationOutcome."""

    @app.exception_handler(FhirError)
    async def _fhir_error(request: Request, exc: FhirError) -> JSONResponse:
        if exc.patient_id:
            request.state.audit_patient = exc.patient_id
        _audit_denied(request, exc.status)
        return outcome_response(exc.status, exc.diagnostics, exc.code, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        _audit_denied(request, exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return outcome_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:10]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        return outcome_response(400, "; ".join(parts) or "invalid request", "invalid")

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return outcome_response(400, "request nested too deeply", "structure")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path_template": _route_path(request)})
        return outcome_response(500, "internal error", "exception")


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")
