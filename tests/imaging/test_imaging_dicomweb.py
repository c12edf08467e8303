"""DICOMweb through dicomweb-client against the live server: store, search, metadata, retrieve, rendered."""

from __future__ import annotations

import io

from imaging_kit import Imaging, instance, load
from PIL import Image
from pydicom.uid import generate_uid


def test_store_search_retrieve_render_ct(imaging: Imaging) -> None:
    mrn = imaging.mrn["patient_a"]
    ds = instance("CT_small.dcm", mrn, AccessionNumber="ACC-CT-1", StudyDate="20240315")
    client = imaging.client("doctor-cardio")
    result = client.store_instances([ds])
    assert [item.ReferencedSOPInstanceUID for item in result.ReferencedSOPSequence] == [ds.SOPInstanceUID]
    assert "FailedSOPSequence" not in result

    found = client.search_for_studies(search_filters={"AccessionNumber": "ACC-CT-1"})
    assert len(found) == 1
    assert found[0]["0020000D"]["Value"] == [ds.StudyInstanceUID]
    assert found[0]["00080061"]["Value"] == ["CT"]
    assert found[0]["00100020"]["Value"] == [mrn]

    got = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert got.SOPInstanceUID == ds.SOPInstanceUID
    assert got.PixelData == ds.PixelData

    meta = client.retrieve_instance_metadata(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert meta["00280010"]["Value"] == [128]
    assert meta["7FE00010"]["BulkDataURI"].startswith(imaging.url)

    png = client.retrieve_instance_rendered(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (128, 128))
    assert len(set(image.getdata())) > 50  # a real greyscale picture, not a flat field
    jpeg = client.retrieve_instance_rendered(
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, media_types=("image/jpeg",)
    )
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"

    frames = client.retrieve_instance_frames(
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, [1]
    )
    assert frames == [ds.PixelData]
    assert client.retrieve_bulkdata(meta["7FE00010"]["BulkDataURI"]) == [ds.PixelData]

    with imaging.api.client("doctor-cardio") as c:
        bundle = c.get("/fhir/ImagingStudy", params={"patient": imaging.api.ids["patient_a"]}).json()
    uids = [e["resource"]["identifier"][0]["value"] for e in bundle["entry"]]
    assert f"urn:oid:{ds.StudyInstanceUID}" in uids


def test_every_listed_file_stores_and_renders_or_explains(imaging: Imaging) -> None:
    mrn = imaging.mrn["patient_a"]
    study = generate_uid()
    names = [
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "rtstruct.dcm",
        "rtplan.dcm",
        "rtdose.dcm",
        "liver_1frame.dcm",
        "JPEG-lossy.dcm",
    ]
    datasets = {name: instance(name, mrn, study=study) for name in names}
    client = imaging.client("doctor-cardio")
    result = client.store_instances(list(datasets.values()))
    assert len(result.ReferencedSOPSequence) == len(names)

    session = imaging.session("doctor-cardio")
    statuses = {}
    for name, ds in datasets.items():
        url = f"{imaging.url}/studies/{study}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
        r = session.get(f"{url}/rendered", timeout=30)
        statuses[name] = r.status_code
        if r.status_code == 200:
            assert Image.open(io.BytesIO(r.content)).size == (int(ds.Columns), int(ds.Rows))
        else:
            assert r.status_code == 406, r.text
            assert r.json()["issue"][0]["code"] == "not-supported"
        again = client.retrieve_instance(study, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        assert again.SOPInstanceUID == ds.SOPInstanceUID  # every instance stays retrievable
    assert statuses["rtstruct.dcm"] == statuses["rtplan.dcm"] == 406  # no pixel data
    assert statuses["JPEG-lossy.dcm"] == 406  # 12-bit JPEG extended: no installed decoder handles it
    decodable = [n for n in names if n.startswith("MR_small")] + ["rtdose.dcm", "liver_1frame.dcm"]
    assert all(statuses[n] == 200 for n in decodable), statuses

    # the MR variants hold the same pixels whatever their transfer syntax: their frames agree
    reference = None
    for name in names[:6]:
        ds = datasets[name]
        (frame,) = client.retrieve_instance_frames(study, ds.SeriesInstanceUID, ds.SOPInstanceUID, [1])
        assert len(frame) == 64 * 64 * 2
        reference = reference or frame
        assert frame == reference, name

    dose = datasets["rtdose.dcm"]
    frames = client.retrieve_instance_frames(study, dose.SeriesInstanceUID, dose.SOPInstanceUID, [2, 15])
    assert [len(f) for f in frames] == [10 * 10 * 4] * 2
    r = session.get(
        f"{imaging.url}/studies/{study}/series/{dose.SeriesInstanceUID}/instances/{dose.SOPInstanceUID}/frames/16",
        timeout=30,
    )
    assert r.status_code == 404
    rendered = client.retrieve_instance_frames_rendered(
        study, dose.SeriesInstanceUID, dose.SOPInstanceUID, [15], media_types=("image/png",)
    )
    assert Image.open(io.BytesIO(rendered)).size == (10, 10)

    series = client.search_for_series(study)
    assert len(series) == len(names)
    thumb = session.get(f"{imaging.url}/studies/{study}/thumbnail", timeout=30)
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 128
    meta = client.retrieve_study_metadata(study)
    assert {m["00080018"]["Value"][0] for m in meta} == {ds.SOPInstanceUID for ds in datasets.values()}
    study_row = client.search_for_studies(search_filters={"StudyInstanceUID": study})[0]
    assert study_row["00201208"]["Value"] == [len(names)]
    assert set(study_row["00080061"]["Value"]) >= {"MR", "RTDOSE", "RTPLAN", "RTSTRUCT", "SEG", "NM"}


def test_storing_twice_is_idempotent_and_other_bytes_conflict(imaging: Imaging) -> None:
    ds = instance("MR_small.dcm", imaging.mrn["patient_a"])
    first = imaging.store("doctor-cardio", ds)
    second = imaging.store("doctor-cardio", ds)
    assert first["00081199"] == second["00081199"]
    client = imaging.client("doctor-cardio")
    assert len(client.search_for_instances(ds.StudyInstanceUID)) == 1

    ds.PatientComments = "changed content, same SOP Instance UID"
    from imaging_kit import encode

    r = imaging.stow("doctor-cardio", [encode(ds)])
    assert r.status_code == 409
    failed = r.json()["00081198"]["Value"]
    assert failed[0]["00081197"]["Value"] == [0x0111]
    assert failed[0]["00081155"]["Value"] == [ds.SOPInstanceUID]
    got = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert "PatientComments" not in got  # the first version stays


def test_qido_matching_keys(imaging: Imaging) -> None:
    mrn = imaging.mrn["patient_a"]
    tag = generate_uid()[-8:]
    a = instance(
        "CT_small.dcm", mrn, StudyDate="20230105", AccessionNumber=f"Q{tag}1", PatientName="Zed^Alpha"
    )
    b = instance(
        "MR_small.dcm", mrn, StudyDate="20230220", AccessionNumber=f"Q{tag}2", PatientName="Zed^Alpha"
    )
    c = instance(
        "MR_small.dcm", mrn, StudyDate="20230410", AccessionNumber=f"Q{tag}3", PatientName="Zed^Alpha"
    )
    imaging.store("doctor-cardio", a, b, c)
    client = imaging.client("doctor-cardio")

    def uids(**filters: str) -> set[str]:
        found = client.search_for_studies(search_filters={"AccessionNumber": f"Q{tag}*", **filters})
        return {s["0020000D"]["Value"][0] for s in found}

    assert uids() == {a.StudyInstanceUID, b.StudyInstanceUID, c.StudyInstanceUID}
    assert uids(StudyDate="20230101-20230301") == {a.StudyInstanceUID, b.StudyInstanceUID}
    assert uids(StudyDate="20230301-") == {c.StudyInstanceUID}
    assert uids(StudyDate="-20230105") == {a.StudyInstanceUID}
    assert uids(ModalitiesInStudy="CT") == {a.StudyInstanceUID}
    assert uids(PatientName="zed^alp*") == {a.StudyInstanceUID, b.StudyInstanceUID, c.StudyInstanceUID}
    assert uids(PatientName="Zed^Alph?") == {a.StudyInstanceUID, b.StudyInstanceUID, c.StudyInstanceUID}
    assert uids(PatientName="Nobody*") == set()
    assert uids(StudyInstanceUID=f"{a.StudyInstanceUID},{c.StudyInstanceUID}") == {
        a.StudyInstanceUID,
        c.StudyInstanceUID,
    }
    assert uids(PatientID=mrn) == uids()
    page1 = client.search_for_studies(search_filters={"AccessionNumber": f"Q{tag}*"}, limit=2, offset=0)
    page2 = client.search_for_studies(search_filters={"AccessionNumber": f"Q{tag}*"}, limit=2, offset=2)
    assert len(page1) == 2 and len(page2) == 1
    assert page1[0]["00080020"]["Value"] == ["20230410"]  # newest first
    plain = client.search_for_studies(search_filters={"AccessionNumber": f"Q{tag}1"})[0]
    assert "00180050" not in plain  # SliceThickness is not a study attribute by default
    wide = client.search_for_studies(search_filters={"AccessionNumber": f"Q{tag}1"}, fields=["all"])[0]
    assert "00180050" in wide
    named = client.search_for_studies(search_filters={"AccessionNumber": f"Q{tag}1"}, fields=["00180050"])[0]
    assert "00180050" in named
    r = imaging.session("doctor-cardio").get(
        f"{imaging.url}/studies", params={"StudyDate": "2023"}, timeout=30
    )
    assert r.status_code == 400


def test_windowing_changes_the_rendering(imaging: Imaging) -> None:
    ds = instance("CT_small.dcm", imaging.mrn["patient_a"])
    imaging.store("doctor-cardio", ds)
    url = f"{imaging.url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    session = imaging.session("doctor-cardio")

    def pixels(**params: str) -> list[int]:
        r = session.get(f"{url}/rendered", params=params, timeout=30)
        assert r.status_code == 200, r.text
        return list(Image.open(io.BytesIO(r.content)).getdata())

    default = pixels()
    narrow = pixels(window="40,80")
    sigmoid = pixels(window="40,400,sigmoid")
    assert default != narrow != sigmoid
    assert sum(p in (0, 255) for p in narrow) > sum(p in (0, 255) for p in default)
    assert session.get(f"{url}/rendered", params={"window": "40"}, timeout=30).status_code == 400
    assert session.get(f"{url}/rendered", headers={"Accept": "image/gif"}, timeout=30).status_code == 406


def test_patient_matching_across_hospitals(imaging: Imaging) -> None:
    """Patient A has ids at hospital A (MRN) and B (B+MRN): both hospitals' studies land on one Patient.
    The same local ID at two other hospitals gives two different patients."""
    mrn = imaging.mrn["patient_a"]
    from_a = instance("CT_small.dcm", mrn, issuer="HOSPA")
    from_b = instance("MR_small.dcm", f"B{mrn}", issuer="HOSPB")
    imaging.store("admin", from_a, from_b)
    seen = imaging.client("pat-a").search_for_studies()
    uids = {s["0020000D"]["Value"][0] for s in seen}
    assert {from_a.StudyInstanceUID, from_b.StudyInstanceUID} <= uids

    local = f"L{generate_uid()[-6:]}"
    x = instance("CT_small.dcm", local, issuer="1.2.3.4.5")
    y = instance("CT_small.dcm", local, issuer="HOSP-D")
    imaging.store("admin", x, y)
    with imaging.api.client("admin") as c:
        px = c.get("/fhir/Patient", params={"identifier": f"urn:oid:1.2.3.4.5|{local}"}).json()
        py = c.get("/fhir/Patient", params={"identifier": f"urn:careline:issuer:HOSP-D|{local}"}).json()
    assert px["total"] == py["total"] == 1
    assert px["entry"][0]["resource"]["id"] != py["entry"][0]["resource"]["id"]
    assert px["entry"][0]["resource"]["name"][0]["family"] == str(
        load("CT_small.dcm").PatientName.family_name
    )


def test_imaging_study_gets_one_version_per_store_request(imaging: Imaging) -> None:
    mrn = imaging.mrn["patient_a"]
    first = instance("MR_small.dcm", mrn)
    second = instance("MR_small.dcm", mrn, study=first.StudyInstanceUID, series=first.SeriesInstanceUID)
    third = instance("CT_small.dcm", mrn, study=first.StudyInstanceUID)
    imaging.store("doctor-cardio", first, second)

    def imaging_study() -> dict:
        with imaging.api.client("doctor-cardio") as c:
            bundle = c.get(
                "/fhir/ImagingStudy", params={"patient": imaging.api.ids["patient_a"], "_count": "100"}
            )
        matches = [
            e["resource"]
            for e in bundle.json()["entry"]
            if e["resource"]["identifier"][0]["value"] == f"urn:oid:{first.StudyInstanceUID}"
        ]
        assert len(matches) == 1
        return matches[0]

    study = imaging_study()
    assert (study["meta"]["versionId"], study["numberOfSeries"], study["numberOfInstances"]) == ("1", 1, 2)
    assert {i["uid"] for i in study["series"][0]["instance"]} == {first.SOPInstanceUID, second.SOPInstanceUID}
    imaging.store("doctor-cardio", third)
    study = imaging_study()
    assert (study["meta"]["versionId"], study["numberOfSeries"], study["numberOfInstances"]) == ("2", 2, 3)
    assert {m["code"] for m in study["modality"]} == {"MR", "CT"}
    assert study["subject"]["reference"] == f"Patient/{imaging.api.ids['patient_a']}"


def test_staff_storing_for_a_new_patient_files_it_under_their_department(imaging: Imaging) -> None:
    local = f"N{generate_uid()[-6:]}"
    ds = instance("MR_small.dcm", local, issuer="HOSP-NEW")
    imaging.store("doctor-cardio", ds)
    found = imaging.client("doctor-cardio").search_for_studies(search_filters={"PatientID": local})
    assert [s["0020000D"]["Value"][0] for s in found] == [ds.StudyInstanceUID]
    assert imaging.client("nurse-onco").search_for_studies(search_filters={"PatientID": local}) == []
    with imaging.api.client("admin") as c:
        bundle = c.get("/fhir/Patient", params={"identifier": f"urn:careline:issuer:HOSP-NEW|{local}"}).json()
    assert bundle["entry"][0]["resource"]["managingOrganization"]["reference"] == "Organization/cardiology"
