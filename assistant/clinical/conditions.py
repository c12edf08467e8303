"""Three-valued evaluation of rule conditions written in the protocol data.

A condition is a concept id (present), ``{present: id}``, ``{absent: id}``, ``{all: [...]}``,
``{any: [...]}``, ``{not: cond}`` or ``{attr: name, gte|gt|lte|lt: number}``. Each leaf is True,
False or None (not yet known); ``all``/``any``/``not`` follow Kleene logic so an unanswered
question can never be mistaken for a "no".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Leaf = Callable[[str, str], bool | None]
"""Resolves a leaf: (kind, name) -> True/False/None, kind in {present, absent, attr:<op>:<value>}."""

ATTR_OPS = ("gte", "gt", "lte", "lt")


def evaluate(cond: Any, leaf: Leaf) -> bool | None:
    if isinstance(cond, str):
        return leaf("present", cond)
    if not isinstance(cond, dict):
        raise ValueError(f"bad condition {cond!r}")
    if "present" in cond:
        return leaf("present", cond["present"])
    if "absent" in cond:
        return leaf("absent", cond["absent"])
    if "attr" in cond:
        op = next(o for o in ATTR_OPS if o in cond)
        return leaf(f"attr:{op}:{cond[op]}", cond["attr"])
    if "not" in cond:
        v = evaluate(cond["not"], leaf)
        return None if v is None else not v
    if "all" in cond:
        values = [evaluate(c, leaf) for c in cond["all"]]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if "any" in cond:
        values = [evaluate(c, leaf) for c in cond["any"]]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    raise ValueError(f"bad condition {cond!r}")


def leaves(cond: Any) -> Iterator[tuple[str, str]]:
    """Every (kind, name) leaf in document order: kind is present, absent or attr."""
    if isinstance(cond, str):
        yield ("present", cond)
    elif "present" in cond:
        yield ("present", cond["present"])
    elif "absent" in cond:
        yield ("absent", cond["absent"])
    elif "attr" in cond:
        yield ("attr", cond["attr"])
    elif "not" in cond:
        yield from leaves(cond["not"])
    else:
        for c in cond.get("all", []) + cond.get("any", []):
            yield from leaves(c)


def compare(value: float, op: str, threshold: float) -> bool:
    return {
        "gte": value >= threshold,
        "gt": value > threshold,
        "lte": value <= threshold,
        "lt": value < threshold,
    }[op]


def undetermined_leaves(cond: Any, leaf: Leaf) -> Iterator[tuple[str, str]]:
    """Leaves whose answer could still change the result, in document order.

    A branch that is already decided (an ``any`` with a True child, an ``all`` with a False
    child) contributes nothing, so the engine never asks a question that cannot matter.
    """
    if evaluate(cond, leaf) is not None:
        return
    if isinstance(cond, str) or any(k in cond for k in ("present", "absent", "attr")):
        yield from leaves(cond)
    elif "not" in cond:
        yield from undetermined_leaves(cond["not"], leaf)
    else:
        for c in cond.get("all", []) + cond.get("any", []):
            yield from undetermined_leaves(c, leaf)
