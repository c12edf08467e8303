"""What a turn produces: words to say (streamed) and structured events for the channel to forward."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Say:
    """Words for the patient. The channel streams them and records only what was actually delivered."""

    text: str
    spoken: bool = True  # False: shown on screen only (source lists, links); voice skips it


@dataclass(frozen=True)
class Emit:
    """A structured event (`triage`, `summary`, `escalation`, `error`) sent as it is."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_message(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


TurnOutput = Say | Emit
