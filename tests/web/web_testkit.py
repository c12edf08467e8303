"""Test data for the consoles: a small synthetic CT series stored through STOW-RS, and canvas checks."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import httpx
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PIXEL_SPACING_MM = 0.5
SIZE = 128


@dataclass
class Study:
    study_uid: str
    series_uid: str
    instance_uids: list[str]


def ct_slice(study: str, series: str, number: int, patient_id: str, issuer: str) -> tuple[str, bytes]:
    """One 128x128 CT slice: a bright disc whose radius changes with the slice number, on air."""
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.Modality, ds.StudyDescription, ds.SeriesDescription = "CT", "Chest CT", "Axial"
    ds.PatientID, ds.IssuerOfPatientID, ds.PatientName = patient_id, issuer, "Chen^Wei"
    ds.StudyDate, ds.StudyTime, ds.SeriesNumber, ds.InstanceNumber = "20260101", "090000", 1, number
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelSpacing = [PIXEL_SPACING_MM, PIXEL_SPACING_MM]
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    pixels = np.where((yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2 < (20 + 5 * number) ** 2, 1024 + 60, 0)
    pixels = pixels + xx  # a gradient, so window/level visibly changes the picture
    ds.PixelData = pixels.astype(np.int16).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return sop_uid, buffer.getvalue()


def store_ct_study(clinical_url: str, token: str, patient_id: str, issuer: str, slices: int = 3) -> Study:
    """STOW-RS a series of `slices` instances for the DICOM patient `patient_id` of `issuer`."""
    study, series = generate_uid(), generate_uid()
    boundary = f"careline-{uuid.uuid4().hex}"
    body, uids = b"", []
    for number in range(1, slices + 1):
        sop_uid, data = ct_slice(study, series, number, patient_id, issuer)
        uids.append(sop_uid)
        body += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    response = httpx.post(
        f"{clinical_url}/dicomweb/studies",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return Study(study, series, uids)


def distinct_grey_levels(png: bytes) -> int:
    """How many grey levels a screenshot shows: 1 means blank."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return len(set(image.getdata()))
