"""FastAPI dependencies: the DB session, the caller, the service context; and response helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.auth import Principal, current_principal
from clinical_api.context import Ctx
from clinical_api.events import TaskBroker

FHIR_JSON = "application/fhir+json"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db_session(request: Request) -> Iterator[Session]:
    """One session per request; closing it rolls back whatever was not committed."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_ctx(
    request: Request,
    session: Session = Depends(db_session),
    principal: Principal = Depends(current_principal),
) -> Ctx:
    return Ctx(session=session, settings=request.app.state.settings, principal=principal)


def commit(request: Request, ctx: Ctx) -> None:
    """Commit the request's transaction, then announce the Task changes it made."""
    ctx.session.commit()
    broker: TaskBroker = request.app.state.broker
    for event in ctx.events:
        broker.publish(event)
    ctx.events.clear()


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def resource_response(body: dict[str, Any], status: int = 200, base: str = "") -> FhirResponse:
    headers: dict[str, str] = {}
    meta = body.get("meta") or {}
    if meta.get("versionId"):
        headers["ETag"] = f'W/"{meta["versionId"]}"'
        if status == 201:
            headers["Location"] = (
                f"{base}/fhir/{body['resourceType']}/{body['id']}/_history/{meta['versionId']}"
            )
    return FhirResponse(body, status_code=status, headers=headers)


def bundle(
    request: Request, resource_type: str, resources: list[dict[str, Any]], total: int, count: int, offset: int
) -> FhirResponse:
    """A searchset Bundle with self/next/previous links for offset paging."""
    base = str(request.base_url).rstrip("/")
    links = [{"relation": "self", "url": str(request.url)}]
    if offset + count < total and count > 0:
        links.append(
            {
                "relation": "next",
                "url": str(request.url.include_query_params(_offset=offset + count, _count=count)),
            }
        )
    if offset > 0:
        links.append(
            {
                "relation": "previous",
                "url": str(request.url.include_query_params(_offset=max(0, offset - count), _count=count)),
            }
        )
    return FhirResponse(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/fhir/{r.get('resourceType', resource_type)}/{r.get('id')}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in resources
            ],
        }
    )
