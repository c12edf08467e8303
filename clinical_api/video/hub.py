"""The in-process signalling hub: who is connected to which room, and delivery to them.

Each peer has a bounded outbound queue drained by its own writer task, so one slow browser never blocks
the relay for the others (a peer whose queue overflows is disconnected). The room keeps the shared image
panel state (current view and strokes) so a late joiner sees what the others see.

The hub lives in one process: run the clinical API with one worker for signalling (or route each room to
the same worker); see docs/video.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from clinical_api.video.tokens import JoinClaims

log = logging.getLogger("clinical_api.video")

QUEUE_SIZE = 512
MAX_STROKES = 500
MAX_STORED_POINTS = 20_000  # keeps the `peers` message of a late joiner well under 1 MB
SLOW_CONSUMER = 4408
REPLACED = 4409


@dataclass
class Close:
    code: int
    reason: str


@dataclass
class Peer:
    """One connected participant."""

    claims: JoinClaims
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    out: asyncio.Queue[str | Close] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    closed: bool = False

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.claims.username, "role": self.claims.role}

    def send(self, message: dict[str, Any]) -> None:
        self.push(json.dumps(message, separators=(",", ":")))

    def push(self, text: str | Close) -> None:
        if self.closed:
            return
        try:
            self.out.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("video peer too slow; disconnecting", extra={"peer": self.id})
            self.closed = True
            self.out = asyncio.Queue(1)
            self.out.put_nowait(Close(SLOW_CONSUMER, "too slow to keep up"))
            return
        if isinstance(text, Close):
            self.closed = True


@dataclass
class Room:
    peers: dict[str, Peer] = field(default_factory=dict)
    view: dict[str, Any] | None = None
    strokes: list[dict[str, Any]] = field(default_factory=list)


def _bounded(strokes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest strokes within MAX_STROKES and MAX_STORED_POINTS (what a late joiner is sent)."""
    kept: list[dict[str, Any]] = []
    points = 0
    for stroke in reversed(strokes[-MAX_STROKES:]):
        points += len(stroke["points"])
        if points > MAX_STORED_POINTS:
            break
        kept.append(stroke)
    return kept[::-1]


class Hub:
    """Rooms by id; every method runs on the server's event loop."""

    def __init__(self, max_peers: int) -> None:
        self.max_peers = max_peers
        self.rooms: dict[str, Room] = {}

    def join(self, room_id: str, peer: Peer) -> list[dict[str, Any]] | None:
        """Add `peer` (replacing an older connection of the same token); None when the room is full."""
        room = self.rooms.setdefault(room_id, Room())
        for old in [p for p in room.peers.values() if p.claims.jti == peer.claims.jti]:
            old.push(Close(REPLACED, "replaced by a newer connection"))
            self.leave(room_id, old)
        if len(room.peers) >= self.max_peers:
            return None
        others = [p.public() for p in room.peers.values()]
        room.peers[peer.id] = peer
        peer.send(
            {
                "type": "peers",
                "you": peer.id,
                "self": peer.public(),
                "peers": others,
                "view": room.view,
                "strokes": room.strokes,
            }
        )
        self.broadcast(room_id, {"type": "joined", "peer": peer.public()}, exclude=peer.id)
        return others

    def leave(self, room_id: str, peer: Peer) -> bool:
        """Remove `peer` and tell the others; False when it had already gone (e.g. replaced)."""
        room = self.rooms.get(room_id)
        if room is None or room.peers.get(peer.id) is not peer:
            return False
        del room.peers[peer.id]
        self.broadcast(room_id, {"type": "left", "peer": peer.id})
        if not room.peers:
            del self.rooms[room_id]
        return True

    def broadcast(self, room_id: str, message: dict[str, Any], exclude: str | None = None) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        text = json.dumps(message, separators=(",", ":"))
        for peer in list(room.peers.values()):
            if peer.id != exclude:
                peer.push(text)

    def relay(
        self, room_id: str, sender: Peer, kind: str, to: str | None, payload: dict[str, Any]
    ) -> str | None:
        """Deliver one validated message; the error text for the sender when it cannot be delivered."""
        room = self.rooms.get(room_id)
        if room is None:
            return "not in a room"
        message = {"type": kind, "from": sender.id, **payload}
        if to is not None:
            target = room.peers.get(to)
            if target is None:
                return f"no peer {to} in this room"
            target.send(message)
            return None
        if kind == "view":
            room.view = payload
            room.strokes = []
        elif kind == "stroke":
            room.strokes = _bounded([*room.strokes, {**payload, "from": sender.id}])
        elif kind == "clear":
            room.strokes = []
        self.broadcast(room_id, message, exclude=sender.id)
        return None

    def kick(
        self,
        room_id: str,
        code: int,
        reason: str,
        jti: str | None = None,
        notice: dict[str, Any] | None = None,
    ) -> int:
        """Close the connections of one token (or all, when `jti` is None); how many were closed."""
        room = self.rooms.get(room_id)
        if room is None:
            return 0
        victims = [p for p in room.peers.values() if jti is None or p.claims.jti == jti]
        for peer in victims:
            if notice is not None:
                peer.send(notice)
            peer.push(Close(code, reason))
        return len(victims)

    def count(self, room_id: str) -> int:
        room = self.rooms.get(room_id)
        return len(room.peers) if room else 0
