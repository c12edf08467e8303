"""Who is calling: the patient's bearer token, checked by the clinical API through the token exchange."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.services import AssistantServices
from assistant.tools import PatientTools, ToolError

bearer = HTTPBearer(auto_error=False)


def services_of(request: Request) -> AssistantServices:
    services: AssistantServices = request.app.state.services
    return services


async def patient_tools_for_token(services: AssistantServices, token: str | None) -> PatientTools:
    if not token:
        raise HTTPException(401, "a patient bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    try:
        return await services.tools_for(token)
    except ToolError as exc:
        if exc.status in (401, 403):
            raise HTTPException(401, "the token is invalid or expired, or not a patient's") from None
        raise HTTPException(503, "the clinical API is unavailable; try again shortly") from None


async def patient_tools(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> PatientTools:
    return await patient_tools_for_token(
        services_of(request), credentials.credentials if credentials else None
    )


def websocket_token(websocket: WebSocket) -> str | None:
    """Browsers cannot set headers on WebSockets: accept `Authorization` or the `token` query parameter."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return websocket.query_params.get("token")


async def reject_websocket(websocket: WebSocket, exc: HTTPException) -> None:
    """An accepted WebSocket that fails auth or lookup: one error event, then a 44xx close code."""
    await websocket.send_json({"type": "error", "code": exc.status_code, "message": exc.detail})
    await websocket.close(code=4401 if exc.status_code == 401 else 4404 if exc.status_code == 404 else 1011)
