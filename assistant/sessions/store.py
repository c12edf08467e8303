"""Where session state lives. Memory for one worker; Redis so several workers share one pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from assistant.sessions.state import SessionState

SESSION_TTL_S = 24 * 3600


class SessionNotFound(KeyError):
    pass


class SessionStore(Protocol):
    async def create(self, state: SessionState) -> None: ...

    async def load(self, session_id: str) -> SessionState: ...

    async def save(self, state: SessionState) -> None: ...

    def turn_lock(self, session_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Serialises turns of one session, across workers when the store is shared."""
        ...

    async def close(self) -> None: ...


class MemorySessionStore:
    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def create(self, state: SessionState) -> None:
        self._states[state.id] = state.model_dump_json()

    async def load(self, session_id: str) -> SessionState:
        raw = self._states.get(session_id)
        if raw is None:
            raise SessionNotFound(session_id)
        return SessionState.model_validate_json(raw)

    async def save(self, state: SessionState) -> None:
        self._states[state.id] = state.model_dump_json()

    @contextlib.asynccontextmanager
    async def turn_lock(self, session_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            yield

    async def close(self) -> None:
        return None


class RedisSessionStore:
    """JSON per session under `careline:session:{id}`, and a Redis lock per turn."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, decode_responses=True)

    @staticmethod
    def _key(session_id: str) -> str:
        return f"careline:session:{session_id}"

    async def create(self, state: SessionState) -> None:
        await self._redis.set(self._key(state.id), state.model_dump_json(), ex=SESSION_TTL_S)

    async def load(self, session_id: str) -> SessionState:
        raw = await self._redis.get(self._key(session_id))
        if raw is None:
            raise SessionNotFound(session_id)
        return SessionState.model_validate_json(raw)

    async def save(self, state: SessionState) -> None:
        await self._redis.set(self._key(state.id), state.model_dump_json(), ex=SESSION_TTL_S)

    @contextlib.asynccontextmanager
    async def turn_lock(self, session_id: str) -> AsyncIterator[None]:
        async with self._redis.lock(f"careline:lock:{session_id}", timeout=120, blocking_timeout=60):
            yield

    async def close(self) -> None:
        await self._redis.aclose()


def build_store(redis_url: str) -> SessionStore:
    return RedisSessionStore(redis_url) if redis_url else MemorySessionStore()
