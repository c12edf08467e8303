"""Keeping the study/series/instance index and the FHIR ImagingStudy in step with stored instances."""

from __future__ import annotations

from typing import Any

from pydicom.datadict import tag_for_keyword
from sqlalchemy import select

from clinical_api import service
from clinical_api.context import Ctx
from clinical_api.imaging.dicom import Parsed, integer, person_name, text
from clinical_api.imaging.tables import DicomInstance, DicomSeries, DicomStudy
from clinical_api.util import utcnow

DCM = "http://dicom.nema.org/resources/ontology/DCM"


def tag(keyword: str) -> str:
    value = tag_for_keyword(keyword)
    if value is None:
        raise KeyError(keyword)
    return f"{value:08X}"


def add_study(ctx: Ctx, parsed: Parsed, patient_id: str, dicom_pid: str, issuer: str) -> DicomStudy:
    ds = parsed.dataset
    study = DicomStudy(
        study_uid=parsed.study_uid,
        patient_id=patient_id,
        dicom_patient_id=dicom_pid,
        issuer=issuer,
        patient_name=person_name(ds),
        study_date=text(ds, "StudyDate", 8),
        accession=text(ds, "AccessionNumber"),
        modalities="|",
        description=text(ds, "StudyDescription", 200),
        num_series=0,
        num_instances=0,
        attrs={},
        created=utcnow(),
    )
    ctx.session.add(study)
    return study


def add_series(ctx: Ctx, parsed: Parsed, attrs: dict[str, Any]) -> DicomSeries:
    ds = parsed.dataset
    series = DicomSeries(
        series_uid=parsed.series_uid,
        study_uid=parsed.study_uid,
        modality=text(ds, "Modality", 16),
        series_number=integer(ds, "SeriesNumber"),
        description=text(ds, "SeriesDescription", 200),
        num_instances=0,
        attrs=attrs,
    )
    ctx.session.add(series)
    return series


def add_instance(
    ctx: Ctx,
    parsed: Parsed,
    attrs: dict[str, Any],
    sha256: str,
    size: int,
    study: DicomStudy,
    series: DicomSeries,
) -> DicomInstance:
    ds = parsed.dataset
    row = DicomInstance(
        sop_uid=parsed.sop_uid,
        series_uid=parsed.series_uid,
        study_uid=parsed.study_uid,
        sop_class_uid=parsed.sop_class,
        instance_number=integer(ds, "InstanceNumber"),
        transfer_syntax=parsed.transfer_syntax,
        sha256=sha256,
        size=size,
        rows=integer(ds, "Rows"),
        columns=integer(ds, "Columns"),
        frames=(integer(ds, "NumberOfFrames") or 1) if "PixelData" in ds else 0,
        attrs=attrs,
        created=utcnow(),
    )
    ctx.session.add(row)
    if not study.attrs:
        study.attrs = attrs
    if series.num_instances == 0:
        study.num_series += 1
    series.num_instances += 1
    study.num_instances += 1
    if series.modality and f"|{series.modality}|" not in study.modalities:
        study.modalities = f"{study.modalities}{series.modality}|"[:200]
    return row


def _started(study: DicomStudy) -> str | None:
    date = study.study_date
    if len(date) != 8 or not date.isdigit():
        return None
    time = str((study.attrs.get(tag("StudyTime")) or {}).get("Value", [""])[0])[:6]
    if len(time) == 6 and time.isdigit():
        return f"{date[:4]}-{date[4:6]}-{date[6:]}T{time[:2]}:{time[2:4]}:{time[4:6]}Z"
    return f"{date[:4]}-{date[4:6]}-{date[6:]}"


def imaging_study_body(ctx: Ctx, study: DicomStudy) -> dict[str, Any]:
    """The FHIR ImagingStudy describing the indexed study (series and instances included)."""
    series_rows = ctx.session.scalars(
        select(DicomSeries).where(DicomSeries.study_uid == study.study_uid)
    ).all()
    instances = ctx.session.scalars(
        select(DicomInstance).where(DicomInstance.study_uid == study.study_uid)
    ).all()
    by_series: dict[str, list[DicomInstance]] = {}
    for inst in instances:
        by_series.setdefault(inst.series_uid, []).append(inst)
    body: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "status": "available",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study.study_uid}"}],
        "subject": {"reference": f"Patient/{study.patient_id}"},
        "numberOfSeries": study.num_series,
        "numberOfInstances": study.num_instances,
    }
    if study.accession:
        body["identifier"].append(
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]
                },
                "value": study.accession,
            }
        )
    modalities = [m for m in study.modalities.split("|") if m]
    if modalities:
        body["modality"] = [{"system": DCM, "code": m} for m in modalities]
    started = _started(study)
    if started:
        body["started"] = started
    if study.description:
        body["description"] = study.description
    series_list = []
    for series in series_rows:
        entry: dict[str, Any] = {
            "uid": series.series_uid,
            "modality": {"system": DCM, "code": series.modality or "OT"},
            "numberOfInstances": series.num_instances,
            "instance": [
                {
                    "uid": inst.sop_uid,
                    "sopClass": {"system": "urn:ietf:rfc:3986", "code": f"urn:oid:{inst.sop_class_uid}"},
                    **({"number": inst.instance_number} if inst.instance_number is not None else {}),
                }
                for inst in by_series.get(series.series_uid, [])
            ],
        }
        if series.series_number is not None:
            entry["number"] = series.series_number
        if series.description:
            entry["description"] = series.description
        series_list.append(entry)
    if series_list:
        body["series"] = series_list
    return body


def sync_imaging_study(ctx: Ctx, study: DicomStudy) -> None:
    """Create or version the study's FHIR ImagingStudy (through the service: validated, audited)."""
    ctx.session.flush()
    body = imaging_study_body(ctx, study)
    if study.imaging_study_id is None:
        created = service.create(ctx, "ImagingStudy", body)
        study.imaging_study_id = str(created["id"])
    else:
        body["id"] = study.imaging_study_id
        service.update(ctx, "ImagingStudy", study.imaging_study_id, body, None)
