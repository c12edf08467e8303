"""What every service function needs: the session, the settings, the caller, and events to publish."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.auth import Principal
from clinical_api.events import TaskEvent


@dataclass
class Ctx:
    session: Session
    settings: Settings
    principal: Principal
    events: list[TaskEvent] = field(default_factory=list)
