"""The signalling message vocabulary: which client messages are accepted, and what is relayed of them.

Each accepted type maps to a validator that returns the clean payload (only known fields, bounded sizes)
or raises ``BadMessage``. Routing (to one peer, or to everyone else in the room) is part of the table,
so adding a message type is one entry here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PEER_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
MAX_SDP = 100_000
MAX_POINTS = 2_000
MAX_TEXT = 256_000


class BadMessage(ValueError):
    """A client message the hub will not relay; the reason goes back to its sender only."""


def _str(msg: dict[str, Any], key: str, limit: int, pattern: re.Pattern[str] | None = None) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadMessage(f"{key} must be a string of 1-{limit} characters")
    if pattern is not None and not pattern.match(value):
        raise BadMessage(f"{key} is malformed")
    return value


def _num(msg: dict[str, Any], key: str, lo: float, hi: float, default: float | None = None) -> float:
    value = msg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadMessage(f"{key} must be a number")
    if not lo <= value <= hi:
        raise BadMessage(f"{key} must be between {lo} and {hi}")
    return float(value)


def _sdp(msg: dict[str, Any]) -> dict[str, Any]:
    return {"sdp": _str(msg, "sdp", MAX_SDP), "restart": bool(msg.get("restart", False))}


def _ice(msg: dict[str, Any]) -> dict[str, Any]:
    cand = msg.get("candidate")
    if cand is None:  # end of candidates
        return {"candidate": None}
    if not isinstance(cand, dict):
        raise BadMessage("candidate must be an object or null")
    text = cand.get("candidate")
    mid = cand.get("sdpMid")
    index = cand.get("sdpMLineIndex")
    if not isinstance(text, str) or len(text) > 2_000:
        raise BadMessage("candidate.candidate must be a string")
    if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
        raise BadMessage("candidate.sdpMid must be a short string")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 64):
        raise BadMessage("candidate.sdpMLineIndex must be a small integer")
    return {"candidate": {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index}}


def _view(msg: dict[str, Any]) -> dict[str, Any]:
    return {
        "study": _str(msg, "study", 64, UID_RE),
        "series": _str(msg, "series", 64, UID_RE),
        "instance": _str(msg, "instance", 64, UID_RE),
        "frame": int(_num(msg, "frame", 1, 100_000, 1)),
        "center": _num(msg, "center", -100_000, 100_000, 40),
        "width": _num(msg, "width", 1, 200_000, 400),
    }


def _points(msg: dict[str, Any]) -> list[list[float]]:
    points = msg.get("points")
    if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
        raise BadMessage(f"points must be a list of 1-{MAX_POINTS} [x, y] pairs")
    out: list[list[float]] = []
    for point in points:
        if not isinstance(point, list) or len(point) != 2:
            raise BadMessage("each point is [x, y]")
        out.append([_num({"v": v}, "v", 0.0, 1.0) for v in point])
    return out


def _stroke(msg: dict[str, Any]) -> dict[str, Any]:
    color = msg.get("color", "#ffcc00")
    if not isinstance(color, str) or not COLOR_RE.match(color):
        raise BadMessage("color must be #rrggbb")
    return {
        "id": _str(msg, "id", 64, PEER_RE),
        "points": _points(msg),
        "color": color,
        "width": _num(msg, "width", 0.5, 20, 2),
    }


def _pointer(msg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"x": _num(msg, "x", 0, 1), "y": _num(msg, "y", 0, 1)}
    if "t" in msg:
        out["t"] = _num(msg, "t", 0, 1e13)
    return out


def _empty(_msg: dict[str, Any]) -> dict[str, Any]:
    return {}


def _ping(msg: dict[str, Any]) -> dict[str, Any]:
    return {"t": _num(msg, "t", 0, 1e13, 0)}


@dataclass(frozen=True)
class Kind:
    """How one message type is checked and routed: ``peer`` (field ``to``), ``room`` (all others), ``self``."""

    clean: Callable[[dict[str, Any]], dict[str, Any]]
    route: str


KINDS: dict[str, Kind] = {
    "offer": Kind(_sdp, "peer"),
    "answer": Kind(_sdp, "peer"),
    "ice": Kind(_ice, "peer"),
    "view": Kind(_view, "room"),
    "stroke": Kind(_stroke, "room"),
    "clear": Kind(_empty, "room"),
    "pointer": Kind(_pointer, "room"),
    "ping": Kind(_ping, "self"),
    "bye": Kind(_empty, "self"),
}


def parse(msg: Any) -> tuple[str, str | None, dict[str, Any]]:
    """(type, addressee or None, clean payload) of one decoded client message."""
    if not isinstance(msg, dict):
        raise BadMessage("a message is a JSON object")
    kind_name = msg.get("type")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None or kind_name is None:
        raise BadMessage(f"type must be one of {', '.join(KINDS)}")
    to = _str(msg, "to", 64, PEER_RE) if kind.route == "peer" else None
    return str(kind_name), to, kind.clean(msg)
