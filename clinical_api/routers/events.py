"""Live Task updates for the nurse and doctor consoles (Server-Sent Events).

Each event is delivered only if the subscriber may reach the Task's patient, and each delivery is
audited like any other read of patient data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from clinical_api import audit
from clinical_api.access import can_reach_patient, forbidden
from clinical_api.auth import Principal, current_principal
from clinical_api.events import TaskBroker, TaskEvent

router = APIRouter(tags=["events"])

KEEPALIVE_S = 15.0


@router.get("/events/tasks", include_in_schema=False)
async def task_events(
    request: Request,
    department: str | None = Query(None, pattern=r"^[A-Za-z0-9\-.]{1,64}$"),
    principal: Principal = Depends(current_principal),
) -> StreamingResponse:
    """text/event-stream of ``task`` events (``created``/``updated``) for the caller's queue."""
    if principal.role not in ("nurse", "doctor", "admin"):
        raise forbidden("task events are for nurses, doctors and admins")
    broker: TaskBroker = request.app.state.broker
    factory = request.app.state.sessionmaker
    settings = request.app.state.settings
    sub = broker.subscribe()

    def deliverable(event: TaskEvent) -> bool:
        if department and event.department != department:
            return False
        if event.patient_id is None:
            return False
        with factory() as session:
            if not can_reach_patient(session, settings, principal, event.patient_id):
                return False
            audit.record(session, principal, "read", event.patient_id, [f"Task/{event.task.get('id')}"])
            session.commit()
        return True

    async def stream() -> AsyncIterator[str]:
        try:
            yield ": subscribed\n\n"
            while True:
                if await request.is_disconnected():
                    break
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if await run_in_threadpool(deliverable, event):
                    data = json.dumps({"kind": event.kind, "task": event.task})
                    yield f"event: task\nid: {event.task.get('id')}/{event.task.get('meta', {}).get('versionId')}\ndata: {data}\n\n"
        finally:
            broker.unsubscribe(sub)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
