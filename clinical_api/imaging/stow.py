"""STOW-RS: store each part of a multipart/related request on its own, and report per instance.

Each instance is stored in its own transaction (patient match, index rows, audit), so one bad part never
undoes the good ones and a failed part leaves no row behind. Each touched study then gets one new FHIR
ImagingStudy version per request (not one per instance, which would grow quadratically with study size). Reply (PS3.18 10.5.3): 200 when all
stored, 202 when some failed, 409 when none stored; the body is DICOM JSON with ReferencedSOPSequence
(0008,1199) and FailedSOPSequence (0008,1198) with a FailureReason (0008,1197) per failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from careline.settings import Settings
from clinical_api import audit
from clinical_api.access import require_patient, require_write
from clinical_api.auth import Principal
from clinical_api.context import Ctx
from clinical_api.errors import FhirError
from clinical_api.imaging import dicom
from clinical_api.imaging.dicom import BadInstance, Parsed
from clinical_api.imaging.index import add_instance, add_series, add_study, sync_imaging_study
from clinical_api.imaging.multipart import Part
from clinical_api.imaging.patients import find_patient, identifier_system, match_patient
from clinical_api.imaging.store import BlobStore
from clinical_api.imaging.tables import DicomInstance, DicomSeries, DicomStudy

log = logging.getLogger("clinical_api.imaging.stow")


@dataclass
class Outcome:
    sop_class: str
    sop_uid: str
    study_uid: str = ""
    series_uid: str = ""
    reason: int | None = None  # None: stored (or already stored with the same bytes)
    new: bool = False  # stored by this request (its study's ImagingStudy needs a new version)


class Stow:
    """Stores the parts of one STOW-RS request for one caller."""

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], principal: Principal, blobs: BlobStore
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.principal = principal
        self.blobs = blobs

    def store_all(self, parts: list[Part], url_study: str | None) -> list[Outcome]:
        """Store each part, then bring the ImagingStudy of each touched study up to date (once each)."""
        require_write(self.principal, "ImagingStudy")
        outcomes = [self.store_part(part, url_study) for part in parts]
        self.sync_studies(sorted({o.study_uid for o in outcomes if o.new}))
        return outcomes

    def sync_studies(self, study_uids: list[str]) -> None:
        """New ImagingStudy versions for the studies, in one transaction (a savepoint and a row lock each).

        The instances are already committed: if a study fails here its index stays right and the next store
        into it writes the ImagingStudy again.
        """
        if not study_uids:
            return
        with self.factory() as session:
            ctx = Ctx(session=session, settings=self.settings, principal=self.principal)
            for study_uid in study_uids:  # sorted: concurrent requests lock rows in the same order
                try:
                    with session.begin_nested():
                        study = session.scalars(
                            select(DicomStudy).where(DicomStudy.study_uid == study_uid).with_for_update()
                        ).one()
                        sync_imaging_study(ctx, study)
                except Exception:
                    log.exception("could not update the ImagingStudy of a stored study")
            session.commit()

    def store_part(self, part: Part, url_study: str | None) -> Outcome:
        try:
            if part.content_type and part.content_type.split(";")[0].strip().lower() != "application/dicom":
                raise BadInstance(dicom.CANNOT_UNDERSTAND, "part is not application/dicom")
            if len(part.body) > self.settings.imaging.max_instance_bytes:
                raise BadInstance(dicom.OUT_OF_RESOURCES, "instance larger than imaging.max_instance_bytes")
            parsed = dicom.parse(part.body)
            if url_study is not None and parsed.study_uid != url_study:
                raise BadInstance(
                    dicom.DOES_NOT_MATCH,
                    "StudyInstanceUID differs from the URL",
                    parsed.sop_class,
                    parsed.sop_uid,
                )
        except BadInstance as exc:
            log.info("stow part refused", extra={"reason": exc.reason})
            return Outcome(exc.sop_class, exc.sop_uid, reason=exc.reason)
        # The file goes down before the transaction (outside the database write lock). A failure later
        # leaves an unreferenced file, never a row without its file.
        sha256 = self.blobs.put(part.body)
        for attempt in range(3):
            try:
                return self._store_parsed(parsed, sha256, len(part.body))
            except IntegrityError:
                if attempt == 2:
                    log.warning("stow gave up after repeated conflicts")
            except BadInstance as exc:
                return Outcome(
                    parsed.sop_class, parsed.sop_uid, parsed.study_uid, parsed.series_uid, exc.reason
                )
            except FhirError as exc:
                if exc.status in (401, 403):
                    self._audit_denied(exc)
                    return Outcome(parsed.sop_class, parsed.sop_uid, reason=dicom.NOT_AUTHORIZED)
                return Outcome(parsed.sop_class, parsed.sop_uid, reason=dicom.PROCESSING_FAILURE)
            except Exception:
                log.exception("stow failed on an instance")
                return Outcome(parsed.sop_class, parsed.sop_uid, reason=dicom.PROCESSING_FAILURE)
        return Outcome(parsed.sop_class, parsed.sop_uid, reason=dicom.PROCESSING_FAILURE)

    def _audit_denied(self, exc: FhirError) -> None:
        with self.factory() as session:
            audit.record(session, self.principal, "create", exc.patient_id, [], exc.status)
            session.commit()

    def _store_parsed(self, parsed: Parsed, sha256: str, size: int) -> Outcome:
        """One transaction: patient match, access check, index rows, audit (the file is already down)."""
        done = Outcome(parsed.sop_class, parsed.sop_uid, parsed.study_uid, parsed.series_uid)
        with self.factory() as session:
            ctx = Ctx(session=session, settings=self.settings, principal=self.principal)
            existing = session.get(DicomInstance, parsed.sop_uid)
            if existing is not None:
                study = session.get(DicomStudy, existing.study_uid)
                require_patient(session, self.settings, self.principal, study.patient_id if study else None)
                if existing.sha256 != sha256:
                    raise BadInstance(dicom.DUPLICATE_SOP, "SOP instance already stored with other content")
                audit.record(session, self.principal, "create", study.patient_id if study else None, [])
                session.commit()
                return done
            study = session.get(DicomStudy, parsed.study_uid)
            if study is None:
                patient_id, dicom_pid, issuer = match_patient(ctx, parsed.dataset)
                study = add_study(ctx, parsed, patient_id, dicom_pid, issuer)
            else:
                system = identifier_system(self.settings, dicom.text(parsed.dataset, "IssuerOfPatientID"))
                value = dicom.text(parsed.dataset, "PatientID") or "UNKNOWN"
                if find_patient(ctx, system, value) != study.patient_id:
                    raise BadInstance(dicom.DOES_NOT_MATCH, "the study belongs to another patient")
            require_patient(session, self.settings, self.principal, study.patient_id)
            attrs = parsed.attrs
            series = session.get(DicomSeries, parsed.series_uid)
            if series is None:
                series = add_series(ctx, parsed, attrs)
            elif series.study_uid != parsed.study_uid:
                raise BadInstance(dicom.DOES_NOT_MATCH, "the series belongs to another study")
            add_instance(ctx, parsed, attrs, sha256, size, study, series)
            refs = [f"ImagingStudy/{study.imaging_study_id}"] if study.imaging_study_id else []
            audit.record(session, self.principal, "create", study.patient_id, refs, 201)
            session.commit()
        done.new = True
        return done


def _uid(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def reply(outcomes: list[Outcome], base: str, url_study: str | None) -> tuple[int, dict[str, Any]]:
    """The PS3.18 Store Instances Response: (HTTP status, DICOM JSON body)."""
    body: dict[str, Any] = {}
    if url_study:
        body["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{url_study}"]}
    stored = [o for o in outcomes if o.reason is None]
    failed = [o for o in outcomes if o.reason is not None]
    if failed:
        body["00081198"] = {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": _uid(o.sop_class),
                    "00081155": _uid(o.sop_uid),
                    "00081197": {"vr": "US", "Value": [o.reason]},
                }
                for o in failed
            ],
        }
    if stored:
        body["00081199"] = {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": _uid(o.sop_class),
                    "00081155": _uid(o.sop_uid),
                    "00081190": {
                        "vr": "UR",
                        "Value": [
                            f"{base}/studies/{o.study_uid}/series/{o.series_uid}/instances/{o.sop_uid}"
                        ],
                    },
                }
                for o in stored
            ],
        }
    status = 200 if not failed else (202 if stored else 409)
    return status, body
