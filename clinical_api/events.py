"""In-process fan-out of Task changes to console subscribers (SSE).

Publishers run in worker threads; each subscriber owns an asyncio queue on the event loop, so publishing
hands the event over with ``call_soon_threadsafe``. One process only: several workers would need a shared
bus (e.g. Redis pub/sub) behind the same two methods.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskEvent:
    kind: str  # "created" | "updated"
    task: dict[str, Any]
    patient_id: str | None
    department: str | None


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[TaskEvent] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


class TaskBroker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[_Subscriber] = []

    def subscribe(self) -> _Subscriber:
        sub = _Subscriber(loop=asyncio.get_running_loop())
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: _Subscriber) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def publish(self, event: TaskEvent) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(_offer, sub.queue, event)
            except RuntimeError:  # loop closed
                self.unsubscribe(sub)


def _offer(queue: asyncio.Queue[TaskEvent], event: TaskEvent) -> None:
    if not queue.full():
        queue.put_nowait(event)
