"""Reading DICOM bytes with pydicom and turning them into DICOM JSON (PS3.18 F.2) and index values."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

#: Top-level bulk elements (pixel data and friends) are left out of stored metadata and given a BulkDataURI.
BULK_THRESHOLD = 1024
BULK_MARK = "bulkdata/"
PIXEL_DATA = "7FE00010"


class BadInstance(Exception):
    """A part that cannot be stored, with the PS3.18 FailureReason (0008,1197) to report."""

    def __init__(self, reason: int, message: str, sop_class: str = "", sop_uid: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.sop_class = sop_class
        self.sop_uid = sop_uid


#: FailureReason codes (PS3.18 Table I.2-3 / PS3.4 Annex GG / PS3.7 C.4).
CANNOT_UNDERSTAND = 0xC000
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH = 0xA900
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP = 0x0111
NOT_AUTHORIZED = 0x0124


@dataclass
class Parsed:
    """One readable instance with the values the index needs."""

    dataset: Dataset
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class: str
    transfer_syntax: str
    attrs: dict[str, Any]


def _text(ds: Dataset, keyword: str, limit: int = 64) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    return str(value).strip()[:limit]


def text(ds: Dataset, keyword: str, limit: int = 64) -> str:
    try:
        return _text(ds, keyword, limit)
    except Exception:  # a value pydicom cannot decode counts as absent
        return ""


def integer(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def valid_uid(value: str) -> bool:
    """A DICOM UID: digits and dots, at most 64 characters."""
    return 0 < len(value) <= 64 and all(c.isdigit() or c == "." for c in value)


def parse(data: bytes) -> Parsed:
    """The dataset in a PS3.10 file; BadInstance when it is garbage, truncated or lacks its UIDs."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=False)
        attrs = metadata(ds)  # decodes every element: a truncated or broken file fails here, not later
    except InvalidDicomError as exc:
        raise BadInstance(CANNOT_UNDERSTAND, "not a DICOM PS3.10 file") from exc
    except Exception as exc:
        raise BadInstance(CANNOT_UNDERSTAND, "unreadable or truncated DICOM data") from exc
    sop_class, sop_uid = text(ds, "SOPClassUID"), text(ds, "SOPInstanceUID")
    study_uid, series_uid = text(ds, "StudyInstanceUID"), text(ds, "SeriesInstanceUID")
    for name, value in (
        ("SOPClassUID", sop_class),
        ("SOPInstanceUID", sop_uid),
        ("StudyInstanceUID", study_uid),
        ("SeriesInstanceUID", series_uid),
    ):
        if not valid_uid(value):  # the file meta names the instance in the failure report
            raise BadInstance(
                CANNOT_UNDERSTAND,
                f"missing or invalid {name}",
                sop_class or str(ds.file_meta.get("MediaStorageSOPClassUID", "")),
                sop_uid or str(ds.file_meta.get("MediaStorageSOPInstanceUID", "")),
            )
    ts = str(ds.file_meta.get("TransferSyntaxUID", "") or "")
    if not valid_uid(ts):
        raise BadInstance(CANNOT_UNDERSTAND, "missing transfer syntax", sop_class, sop_uid)
    if "PixelData" in ds:
        _check_pixel_length(ds, sop_class, sop_uid)
    return Parsed(ds, study_uid, series_uid, sop_uid, sop_class, ts, attrs)


def _check_pixel_length(ds: Dataset, sop_class: str, sop_uid: str) -> None:
    """Uncompressed pixel data shorter than rows x columns x frames is a truncated file."""
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return
    rows, cols = integer(ds, "Rows") or 0, integer(ds, "Columns") or 0
    bits = integer(ds, "BitsAllocated") or 0
    samples = integer(ds, "SamplesPerPixel") or 1
    frames = integer(ds, "NumberOfFrames") or 1
    expected = (rows * cols * samples * frames * bits + 7) // 8
    if len(ds.PixelData) < expected:
        raise BadInstance(CANNOT_UNDERSTAND, "pixel data shorter than its image size", sop_class, sop_uid)


def to_json(ds: Dataset, bulk_prefix: str) -> dict[str, Any]:
    """DICOM JSON of `ds`; large binary values become ``BulkDataURI: <bulk_prefix>bulkdata/<tag>``."""

    def handler(elem: DataElement) -> str:
        return f"{bulk_prefix}{BULK_MARK}{elem.tag:08X}"

    result: dict[str, Any] = ds.to_json_dict(
        bulk_data_threshold=BULK_THRESHOLD, bulk_data_element_handler=handler
    )
    return result


def metadata(ds: Dataset) -> dict[str, Any]:
    """The instance's DICOM JSON; bulk values (always the pixel data) become relative ``bulkdata/<tag>``."""
    attrs = to_json(ds, "")
    if PIXEL_DATA in attrs:
        attrs[PIXEL_DATA] = {
            "vr": attrs[PIXEL_DATA].get("vr", "OW"),
            "BulkDataURI": f"{BULK_MARK}{PIXEL_DATA}",
        }
    return attrs


def absolute_bulk_uris(value: Any, base: str) -> Any:
    """Stored metadata keeps relative BulkDataURIs; a reply makes them absolute under `base`."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "BulkDataURI" and isinstance(item, str) and not item.startswith("http"):
                out[key] = base + item
            else:
                out[key] = absolute_bulk_uris(item, base)
        return out
    if isinstance(value, list):
        return [absolute_bulk_uris(v, base) for v in value]
    return value


def person_name(ds: Dataset) -> str:
    value = ds.get("PatientName")
    return str(value)[:200] if value is not None else ""
