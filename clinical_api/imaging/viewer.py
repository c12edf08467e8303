"""Who is looking at images: a signed-in user (same reach as records) or the holder of a share link.

The viewer turns into one SQL filter on studies, so searches and retrievals can only ever see what the
caller may see; a study outside it is answered 403 (and audited) rather than served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Depends, Request
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from careline.settings import Settings
from clinical_api.access import can_reach_patient, forbidden, patient_filter, require_read
from clinical_api.auth import Principal, bearer_token, current_principal
from clinical_api.deps import db_session
from clinical_api.imaging import shares
from clinical_api.imaging.tables import DicomStudy


@dataclass
class Viewer:
    session: Session
    settings: Settings
    principal: Principal
    share_studies: frozenset[str] | None = None
    audited: set[str] = field(default_factory=set)

    def study_filter(self) -> ColumnElement[bool]:
        if self.share_studies is not None:
            return DicomStudy.study_uid.in_(self.share_studies)
        return patient_filter(self.settings, self.principal, DicomStudy.patient_id)

    def can_see(self, study: DicomStudy) -> bool:
        if self.share_studies is not None:
            return study.study_uid in self.share_studies
        return can_reach_patient(self.session, self.settings, self.principal, study.patient_id)

    def require(self, study: DicomStudy) -> None:
        if not self.can_see(study):
            raise forbidden("outside the caller's patient scope", study.patient_id)


def get_viewer(request: Request, session: Session = Depends(db_session)) -> Viewer:
    """FastAPI dependency: a share link (``?share=`` or a bearer share token) or the user's bearer token."""
    settings: Settings = request.app.state.settings
    token = request.query_params.get("share") or bearer_token(request)
    if token and shares.is_share_token(token):
        principal, share = shares.resolve(session, settings, token)
        request.state.principal = principal
        return Viewer(session, settings, principal, frozenset(share.study_uids))
    principal = current_principal(request)
    require_read(principal, "ImagingStudy")
    return Viewer(session, settings, principal)
