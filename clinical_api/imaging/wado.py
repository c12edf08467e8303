"""WADO-RS (PS3.18 10.4): the instances a request names, checked against the viewer, and their bytes.

Each function finds the rows, refuses what the viewer may not see (403, audited by the error handler)
and audits the read; the router turns the result into a response.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from sqlalchemy import select

from clinical_api import audit
from clinical_api.errors import FhirError
from clinical_api.imaging.dicom import absolute_bulk_uris, valid_uid
from clinical_api.imaging.render import Undecodable, decode_frame
from clinical_api.imaging.store import BlobStore
from clinical_api.imaging.tables import DicomInstance, DicomStudy
from clinical_api.imaging.viewer import Viewer

NATIVE_LE = frozenset({str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)})


def _study(viewer: Viewer, study_uid: str) -> DicomStudy:
    study = viewer.session.get(DicomStudy, study_uid) if valid_uid(study_uid) else None
    if study is None:
        raise FhirError(404, "study not found")
    viewer.require(study)
    return study


def instances(
    viewer: Viewer, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
) -> tuple[DicomStudy, list[DicomInstance]]:
    """The instances of a study / series / one instance, in series and instance-number order; audited."""
    study = _study(viewer, study_uid)
    if not all(valid_uid(uid) for uid in (series_uid, sop_uid) if uid is not None):
        raise FhirError(404, "series or instance not found")
    query = select(DicomInstance).where(DicomInstance.study_uid == study_uid)
    if series_uid is not None:
        query = query.where(DicomInstance.series_uid == series_uid)
    if sop_uid is not None:
        query = query.where(DicomInstance.sop_uid == sop_uid)
    rows = list(
        viewer.session.scalars(
            query.order_by(DicomInstance.series_uid, DicomInstance.instance_number, DicomInstance.sop_uid)
        ).all()
    )
    if not rows:
        raise FhirError(
            404, "instance not found" if sop_uid else "series not found" if series_uid else "study empty"
        )
    refs = [f"ImagingStudy/{study.imaging_study_id}"] if study.imaging_study_id else []
    audit.record(viewer.session, viewer.principal, "read", study.patient_id, refs)
    viewer.session.commit()
    return study, rows


def metadata(rows: list[DicomInstance], base: str) -> list[dict[str, Any]]:
    """DICOM JSON of each instance, BulkDataURIs made absolute."""
    return [
        absolute_bulk_uris(
            row.attrs, f"{base}/studies/{row.study_uid}/series/{row.series_uid}/instances/{row.sop_uid}/"
        )
        for row in rows
    ]


def renderable(rows: list[DicomInstance]) -> list[DicomInstance]:
    """The instances with pixel data, in order; 406 when there are none."""
    found = [row for row in rows if row.frames > 0]
    if not found:
        raise FhirError(406, "no instance here has pixel data to render", "not-supported")
    return found


def parse_frames(text: str, count: int) -> list[int]:
    """``1,3`` -> [0, 2] (frame numbers are 1-based in the URL); 404 when out of range."""
    try:
        numbers = [int(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise FhirError(400, "frame list must be comma-separated numbers", "invalid") from exc
    if not numbers or len(numbers) > 1000:
        raise FhirError(400, "frame list must name 1 to 1000 frames", "invalid")
    if any(n < 1 or n > count for n in numbers):
        raise FhirError(404, f"frame number out of range (the instance has {count})")
    return [n - 1 for n in numbers]


def frame_bytes(path: Path, row: DicomInstance, index: int) -> bytes:
    """Frame `index` uncompressed (native little-endian layout), transcoded when the file is not."""
    if row.transfer_syntax in NATIVE_LE:
        ds = pydicom.dcmread(str(path))
        bits = int(ds.get("BitsAllocated", 0) or 0)
        if bits % 8 == 0 and bits:
            size = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
            data: bytes = ds.PixelData[index * size : (index + 1) * size]
            return data
    try:
        arr = decode_frame(path, index)
    except Undecodable as exc:
        raise FhirError(
            406,
            f"pixel data in transfer syntax {row.transfer_syntax} cannot be decoded on this server",
            "not-supported",
        ) from exc
    return np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tobytes()


def bulk_value(path: Path, tag_hex: str) -> bytes:
    """The raw value of a top-level element (the BulkDataURI target)."""
    try:
        tag = int(tag_hex, 16)
    except ValueError as exc:
        raise FhirError(404, "bulk data not found") from exc
    ds = pydicom.dcmread(str(path))
    if tag not in ds:
        raise FhirError(404, "bulk data not found")
    value = ds[tag].value
    if not isinstance(value, bytes):
        raise FhirError(404, "bulk data not found")
    return value


def path_of(blobs: BlobStore, row: DicomInstance) -> Path:
    return blobs.path_of(row.sha256)
