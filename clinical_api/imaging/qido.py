"""QIDO-RS searches (PS3.18 10.6) over the index tables, always within what the viewer may see.

Matching: exact or wildcard (``*``, ``?``) on PatientID, PatientName (case-insensitive), AccessionNumber,
descriptions; ranges ``A-B``, ``-B``, ``A-`` on StudyDate; lists (``,`` or ``\\``) of UIDs and modalities.
Keys given by keyword or by tag (``00100020``). Unknown keys are ignored and named in a ``Warning`` header.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import keyword_for_tag, tag_for_keyword
from sqlalchemy import ColumnElement, and_, func, or_, select

from clinical_api import audit
from clinical_api.errors import FhirError
from clinical_api.imaging.dicom import valid_uid
from clinical_api.imaging.index import tag
from clinical_api.imaging.tables import DicomInstance, DicomSeries, DicomStudy
from clinical_api.imaging.viewer import Viewer

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
CONTROL = frozenset({"limit", "offset", "includefield", "fuzzymatching", "share"})

STUDY_FIELDS = [
    "SpecificCharacterSet",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",
]
SERIES_FIELDS = [
    "SpecificCharacterSet",
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "SeriesDate",
]
INSTANCE_FIELDS = [
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
]


def _wildcard(column: Any, value: str, fold: bool = False) -> ColumnElement[bool]:
    if "*" not in value and "?" not in value:
        return func.lower(column) == value.lower() if fold else column == value
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = escaped.replace("*", "%").replace("?", "_")
    if fold:
        return func.lower(column).like(pattern.lower(), escape="\\")
    return column.like(pattern, escape="\\")


def _values(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[,\\]", value) if v.strip()]


def _uid_list(column: Any, value: str) -> ColumnElement[bool]:
    return column.in_(_values(value))


def _date_range(column: Any, value: str) -> ColumnElement[bool]:
    match = re.fullmatch(r"(\d{8})?(-)?(\d{8})?", value.replace("-", "-").strip())
    if not match or not (match.group(1) or match.group(3)):
        raise FhirError(
            400, "StudyDate must be YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-", "invalid"
        )
    start, dash, end = match.groups()
    if not dash:
        return column == start
    clauses = [column != ""]
    if start:
        clauses.append(column >= start)
    if end:
        clauses.append(column <= end)
    return and_(*clauses)


def _modalities(column: Any, value: str) -> ColumnElement[bool]:
    return or_(
        *[column.like(f"%|{m}|%") for m in _values(value) if re.fullmatch(r"[A-Z0-9]{1,16}", m)]
        or [column == "\0"]
    )


def _int_eq(column: Any, value: str) -> ColumnElement[bool]:
    if not value.strip().isdigit():
        raise FhirError(400, "numeric matching key expects an integer", "invalid")
    return column == int(value)


Matcher = Callable[[Any, str], ColumnElement[bool]]

STUDY_KEYS: dict[str, tuple[Any, Matcher]] = {
    "PatientID": (DicomStudy.dicom_patient_id, _wildcard),
    "IssuerOfPatientID": (DicomStudy.issuer, _wildcard),
    "PatientName": (DicomStudy.patient_name, lambda c, v: _wildcard(c, v, fold=True)),
    "StudyDate": (DicomStudy.study_date, _date_range),
    "ModalitiesInStudy": (DicomStudy.modalities, _modalities),
    "AccessionNumber": (DicomStudy.accession, _wildcard),
    "StudyInstanceUID": (DicomStudy.study_uid, _uid_list),
    "StudyDescription": (DicomStudy.description, lambda c, v: _wildcard(c, v, fold=True)),
}
SERIES_KEYS: dict[str, tuple[Any, Matcher]] = {
    "Modality": (DicomSeries.modality, _uid_list),
    "SeriesInstanceUID": (DicomSeries.series_uid, _uid_list),
    "SeriesNumber": (DicomSeries.series_number, _int_eq),
    "SeriesDescription": (DicomSeries.description, lambda c, v: _wildcard(c, v, fold=True)),
}
INSTANCE_KEYS: dict[str, tuple[Any, Matcher]] = {
    "SOPClassUID": (DicomInstance.sop_class_uid, _uid_list),
    "SOPInstanceUID": (DicomInstance.sop_uid, _uid_list),
    "InstanceNumber": (DicomInstance.instance_number, _int_eq),
}


def keyword_of(key: str) -> str | None:
    """A query key as a DICOM keyword (``00100020`` -> ``PatientID``), or None when it is not one."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", key):
        return keyword_for_tag(int(key, 16)) or None
    return key if tag_for_keyword(key) is not None else None


@dataclass
class Query:
    """Parsed QIDO query parameters."""

    matches: list[tuple[str, str]]
    limit: int
    offset: int
    include: set[str]
    include_all: bool
    ignored: list[str]


def parse_query(items: list[tuple[str, str]]) -> Query:
    matches, include, ignored = [], set(), []
    limit, offset, include_all = DEFAULT_LIMIT, 0, False
    for key, value in items:
        if key == "limit" or key == "offset":
            if not value.isdigit() or len(value) > 9:
                raise FhirError(400, f"{key} must be a non-negative integer", "invalid")
            if key == "limit":
                limit = min(int(value), MAX_LIMIT)
            else:
                offset = int(value)
        elif key == "includefield":
            for field in _values(value):
                if field == "all":
                    include_all = True
                elif (kw := keyword_of(field)) is not None:
                    include.add(tag(kw))
                else:
                    raise FhirError(400, "includefield names an unknown attribute", "invalid")
        elif key in CONTROL:
            continue
        elif (kw := keyword_of(key)) is not None and value != "":
            matches.append((kw, value))
        else:
            ignored.append(key[:40])
    return Query(matches, limit, offset, include, include_all, ignored)


def _apply(query: Any, keys: dict[str, tuple[Any, Matcher]], q: Query, used: set[str]) -> Any:
    for keyword, value in q.matches:
        if keyword in keys:
            if "\x00" in value or len(value) > 200:
                raise FhirError(400, "matching value too long", "invalid")
            column, matcher = keys[keyword]
            query = query.where(matcher(column, value))
            used.add(keyword)
    return query


def _pick(attrs: dict[str, Any], fields: list[str], q: Query) -> dict[str, Any]:
    if q.include_all:
        return dict(attrs)
    wanted = {tag(f) for f in fields} | q.include | {tag(kw) for kw, _ in q.matches}
    return {k: v for k, v in attrs.items() if k in wanted}


def _int(value: int) -> dict[str, Any]:
    return {"vr": "IS", "Value": [value]}


def study_json(study: DicomStudy, q: Query, base: str) -> dict[str, Any]:
    out = _pick(study.attrs, STUDY_FIELDS, q)
    out[tag("StudyInstanceUID")] = {"vr": "UI", "Value": [study.study_uid]}
    modalities = [m for m in study.modalities.split("|") if m]
    out[tag("ModalitiesInStudy")] = {"vr": "CS", "Value": modalities} if modalities else {"vr": "CS"}
    out[tag("NumberOfStudyRelatedSeries")] = _int(study.num_series)
    out[tag("NumberOfStudyRelatedInstances")] = _int(study.num_instances)
    out[tag("RetrieveURL")] = {"vr": "UR", "Value": [f"{base}/studies/{study.study_uid}"]}
    return dict(sorted(out.items()))


def series_json(series: DicomSeries, q: Query, base: str) -> dict[str, Any]:
    out = _pick(series.attrs, SERIES_FIELDS, q)
    out[tag("StudyInstanceUID")] = {"vr": "UI", "Value": [series.study_uid]}
    out[tag("SeriesInstanceUID")] = {"vr": "UI", "Value": [series.series_uid]}
    out[tag("NumberOfSeriesRelatedInstances")] = _int(series.num_instances)
    out[tag("RetrieveURL")] = {
        "vr": "UR",
        "Value": [f"{base}/studies/{series.study_uid}/series/{series.series_uid}"],
    }
    return dict(sorted(out.items()))


def instance_json(inst: DicomInstance, q: Query, base: str) -> dict[str, Any]:
    out = _pick(inst.attrs, INSTANCE_FIELDS, q)
    out[tag("StudyInstanceUID")] = {"vr": "UI", "Value": [inst.study_uid]}
    out[tag("SeriesInstanceUID")] = {"vr": "UI", "Value": [inst.series_uid]}
    out[tag("SOPInstanceUID")] = {"vr": "UI", "Value": [inst.sop_uid]}
    out[tag("RetrieveURL")] = {
        "vr": "UR",
        "Value": [f"{base}/studies/{inst.study_uid}/series/{inst.series_uid}/instances/{inst.sop_uid}"],
    }
    return dict(sorted(out.items()))


def _audit(viewer: Viewer, studies: list[DicomStudy]) -> None:
    by_patient: dict[str | None, list[str]] = {}
    for study in studies:
        refs = by_patient.setdefault(study.patient_id, [])
        if study.imaging_study_id:
            refs.append(f"ImagingStudy/{study.imaging_study_id}")
    if not by_patient:
        by_patient[None] = []
    for patient_id, refs in by_patient.items():
        audit.record(viewer.session, viewer.principal, "search-type", patient_id, refs)


def _check_uids(*uids: str | None) -> None:
    if not all(valid_uid(uid) for uid in uids if uid is not None):
        raise FhirError(400, "invalid UID in the path", "invalid")


def search_studies(
    viewer: Viewer, q: Query, base: str, study_uid: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    _check_uids(study_uid)
    used: set[str] = set()
    query = select(DicomStudy).where(viewer.study_filter())
    if study_uid:
        query = query.where(DicomStudy.study_uid == study_uid)
    query = _apply(query, STUDY_KEYS, q, used)
    rows = viewer.session.scalars(
        query.order_by(DicomStudy.study_date.desc(), DicomStudy.study_uid).limit(q.limit).offset(q.offset)
    ).all()
    _audit(viewer, list(rows))
    return [study_json(r, q, base) for r in rows], _unused(q, used)


def search_series(
    viewer: Viewer, q: Query, base: str, study_uid: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    _check_uids(study_uid)
    used: set[str] = set()
    query = select(DicomSeries, DicomStudy).join(DicomStudy, DicomStudy.study_uid == DicomSeries.study_uid)
    query = query.where(viewer.study_filter())
    if study_uid:
        query = query.where(DicomSeries.study_uid == study_uid)
    query = _apply(_apply(query, SERIES_KEYS, q, used), STUDY_KEYS, q, used)
    rows = viewer.session.execute(
        query.order_by(DicomSeries.study_uid, DicomSeries.series_number, DicomSeries.series_uid)
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    _audit(viewer, list({r[1].study_uid: r[1] for r in rows}.values()))
    return [series_json(r[0], q, base) for r in rows], _unused(q, used)


def search_instances(
    viewer: Viewer, q: Query, base: str, study_uid: str | None, series_uid: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    _check_uids(study_uid, series_uid)
    used: set[str] = set()
    query = select(DicomInstance, DicomStudy).join(
        DicomStudy, DicomStudy.study_uid == DicomInstance.study_uid
    )
    query = query.where(viewer.study_filter())
    if study_uid:
        query = query.where(DicomInstance.study_uid == study_uid)
    if series_uid:
        query = query.where(DicomInstance.series_uid == series_uid)
    if any(kw in SERIES_KEYS for kw, _ in q.matches):
        query = query.join(DicomSeries, DicomSeries.series_uid == DicomInstance.series_uid)
        query = _apply(query, SERIES_KEYS, q, used)
    query = _apply(_apply(query, INSTANCE_KEYS, q, used), STUDY_KEYS, q, used)
    rows = viewer.session.execute(
        query.order_by(DicomInstance.series_uid, DicomInstance.instance_number, DicomInstance.sop_uid)
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    _audit(viewer, list({r[1].study_uid: r[1] for r in rows}.values()))
    return [instance_json(r[0], q, base) for r in rows], _unused(q, used)


def _unused(q: Query, used: set[str]) -> list[str]:
    return q.ignored + [kw for kw, _ in q.matches if kw not in used]
