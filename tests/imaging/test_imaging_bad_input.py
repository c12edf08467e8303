"""Bad STOW input fails per instance with a reason; the good instances in the same request still store,
and the database and the file store hold exactly those."""

from __future__ import annotations

from pathlib import Path

import pytest
from imaging_kit import MAX_INSTANCE, Imaging, encode, instance, stow_body
from pydicom.data import get_testdata_file
from sqlalchemy import func, select

from clinical_api.db import make_engine, make_sessionmaker
from clinical_api.imaging.store import storage_root
from clinical_api.imaging.tables import DicomInstance, DicomSeries, DicomStudy

CANNOT_UNDERSTAND, TOO_LARGE, MISMATCH = 0xC000, 0xA700, 0xA900


def counts(imaging: Imaging) -> tuple[int, int, int, int]:
    engine = make_engine(imaging.api.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = tuple(
                s.scalar(select(func.count()).select_from(t)) or 0
                for t in (DicomStudy, DicomSeries, DicomInstance)
            )
    finally:
        engine.dispose()
    files = sum(1 for _ in Path(storage_root(imaging.api.settings)).rglob("*.dcm"))
    return rows[0], rows[1], rows[2], files


def test_bad_parts_fail_alone(imaging: Imaging) -> None:
    mrn = imaging.mrn["patient_a"]
    good = instance("CT_small.dcm", mrn)
    whole = encode(instance("MR_small.dcm", mrn))
    truncated = whole[: len(whole) // 2]
    garbage = bytes(range(256)) * 40
    not_dicom = b"%PDF-1.4 this is not a DICOM file\n"
    big = instance("CT_small.dcm", mrn)
    big.PixelData = big.PixelData * 2  # ~64 KB of pixels: over imaging.max_instance_bytes
    big.Rows = 256
    no_uid = instance("MR_small.dcm", mrn)
    del no_uid.SOPInstanceUID
    no_study = instance("MR_small.dcm", mrn)
    del no_study.StudyInstanceUID
    raw_path = get_testdata_file("rtstruct.dcm")  # a bare dataset without the PS3.10 header
    assert raw_path is not None
    no_header = Path(raw_path).read_bytes()
    before = counts(imaging)

    parts = [
        truncated,
        encode(good),
        garbage,
        not_dicom,
        encode(big),
        encode(no_uid),
        encode(no_study),
        no_header,
    ]
    assert len(parts[4]) > MAX_INSTANCE
    r = imaging.stow("doctor-cardio", parts)
    assert r.status_code == 202, r.text
    body = r.json()
    assert [i["00081155"]["Value"][0] for i in body["00081199"]["Value"]] == [good.SOPInstanceUID]
    reasons = [i["00081197"]["Value"][0] for i in body["00081198"]["Value"]]
    assert (
        reasons
        == [CANNOT_UNDERSTAND, CANNOT_UNDERSTAND, CANNOT_UNDERSTAND, TOO_LARGE] + [CANNOT_UNDERSTAND] * 3
    )
    assert counts(imaging) == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
    got = imaging.client("doctor-cardio").retrieve_instance(
        good.StudyInstanceUID, good.SeriesInstanceUID, good.SOPInstanceUID
    )
    assert got.PixelData == good.PixelData


def test_pydicom_truncated_file_and_all_failed_is_409(imaging: Imaging) -> None:
    path = get_testdata_file("MR_truncated.dcm")
    assert path is not None
    before = counts(imaging)
    r = imaging.stow("doctor-cardio", [Path(path).read_bytes(), b"\x00" * 500])
    assert r.status_code == 409
    assert [i["00081197"]["Value"][0] for i in r.json()["00081198"]["Value"]] == [CANNOT_UNDERSTAND] * 2
    assert "00081199" not in r.json()
    assert counts(imaging) == before


def test_study_in_url_must_match(imaging: Imaging) -> None:
    ds = instance("CT_small.dcm", imaging.mrn["patient_a"])
    r = imaging.stow("doctor-cardio", [encode(ds)], study="1.2.3.999")
    assert r.status_code == 409
    assert r.json()["00081198"]["Value"][0]["00081197"]["Value"] == [MISMATCH]
    r = imaging.stow("doctor-cardio", [encode(ds)], study=ds.StudyInstanceUID)
    assert r.status_code == 200
    assert r.json()["00081190"]["Value"][0].endswith(f"/studies/{ds.StudyInstanceUID}")


def test_instance_of_another_patient_cannot_join_a_study(imaging: Imaging) -> None:
    first = instance("CT_small.dcm", imaging.mrn["patient_a"])
    imaging.store("admin", first)
    intruder = instance("MR_small.dcm", imaging.mrn["patient_b"], study=first.StudyInstanceUID)
    r = imaging.stow("admin", [encode(intruder)])
    assert r.status_code == 409
    assert r.json()["00081198"]["Value"][0]["00081197"]["Value"] == [MISMATCH]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/dicom", 415),
        ('multipart/related; type="application/json"; boundary=x', 415),
        ('multipart/related; type="application/dicom"', 400),
    ],
)
def test_broken_envelope(imaging: Imaging, content_type: str, status: int) -> None:
    r = imaging.session("doctor-cardio").post(
        f"{imaging.url}/studies",
        data=b"--x\r\n\r\nabc\r\n--x--",
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert r.status_code == status
    assert r.json()["resourceType"] == "OperationOutcome"


def test_upload_over_server_limit_is_413(imaging: Imaging) -> None:
    body, ctype = stow_body([b"\0" * (imaging.api.settings.server.max_upload_bytes + 10)])
    before = counts(imaging)
    r = imaging.session("doctor-cardio").post(
        f"{imaging.url}/studies", data=body, headers={"Content-Type": ctype}
    )
    assert r.status_code == 413
    assert counts(imaging) == before
