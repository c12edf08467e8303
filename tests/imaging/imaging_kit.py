"""Imaging test kit: a live clinical API (SQLite, then PostgreSQL) with the shared test world, DICOM test files
from the pydicom wheel with fresh UIDs, and dicomweb-client clients per user.

The world (users, patients, departments) comes from tests/clinical_world.py.
"""

from __future__ import annotations

import io
from typing import Any

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian, generate_uid

ISSUERS = {"HOSPA": "urn:hospital:a", "HOSPB": "urn:hospital:b"}
MAX_INSTANCE = 60_000


def load(name: str) -> Dataset:
    """A pydicom test file as a PS3.10 dataset (rtstruct.dcm ships without a file meta header)."""
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not in the installed pydicom wheel"
    ds = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in ds.get("file_meta", {}):
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.preamble = b"\0" * 128
    return ds


def instance(
    name: str,
    patient: str,
    issuer: str = "HOSPA",
    study: str | None = None,
    series: str | None = None,
    **attrs: Any,
) -> Dataset:
    """Test file `name` re-identified: patient/issuer, new (or given) study/series UIDs, a new SOP UID."""
    ds = load(name)
    ds.PatientID = patient
    ds.IssuerOfPatientID = issuer
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = series or generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def stow_body(parts: list[bytes], boundary: str = "b0undary-x") -> tuple[bytes, str]:
    body = b"".join(
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n" for p in parts
    )
    return (
        body + f"--{boundary}--\r\n".encode(),
        f'multipart/related; type="application/dicom"; boundary={boundary}',
    )


class Imaging:
    """The running API with helpers: dicomweb clients per user, raw STOW, the world's patient MRNs."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.mrn: dict[str, str] = {}
        for key in ("patient_a", "patient_b"):
            with api.client("admin") as c:
                body = c.get(f"/fhir/Patient/{api.ids[key]}").json()
            self.mrn[key] = next(i["value"] for i in body["identifier"] if i["system"] == "urn:hospital:a")

    @property
    def url(self) -> str:
        return f"{self.api.url}/dicomweb"

    def session(self, who: str | None = None, token: str | None = None) -> requests.Session:
        session = requests.Session()
        token = self.api.tokens[who] if who else token
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        return session

    def client(self, who: str | None = None, token: str | None = None) -> DICOMwebClient:
        return DICOMwebClient(url=self.url, session=self.session(who, token))

    def stow(self, who: str, parts: list[bytes], study: str | None = None) -> requests.Response:
        body, ctype = stow_body(parts)
        url = f"{self.url}/studies" + (f"/{study}" if study else "")
        return self.session(who).post(url, data=body, headers={"Content-Type": ctype}, timeout=60)

    def store(self, who: str, *datasets: Dataset) -> dict[str, Any]:
        r = self.stow(who, [encode(ds) for ds in datasets])
        assert r.status_code == 200, r.text
        return dict(r.json())

    def share(self, who: str, studies: list[str], expires_in: int | None = None) -> requests.Response:
        body: dict[str, Any] = {"studies": studies}
        if expires_in is not None:
            body["expires_in"] = expires_in
        return self.session(who).post(f"{self.url}/shares", json=body, timeout=30)
