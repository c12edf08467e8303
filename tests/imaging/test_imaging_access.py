"""Who sees which images: patients their own, staff by the record rules, share links exactly their studies.
Every access and refusal leaves an AuditEvent."""

from __future__ import annotations

import time

import jwt
import requests
from imaging_kit import Imaging, encode, instance

from clinical_api.imaging.shares import AUDIENCE, ISSUER


def _studies(imaging: Imaging, who: str | None = None, token: str | None = None) -> set[str]:
    r = imaging.session(who, token).get(f"{imaging.url}/studies", params={"limit": "1000"}, timeout=30)
    assert r.status_code in (200, 204), r.text
    return {s["0020000D"]["Value"][0] for s in r.json()} if r.status_code == 200 else set()


def _audit(imaging: Imaging, patient: str, agent: str) -> list[dict]:
    with imaging.api.client("admin") as c:
        r = c.get("/fhir/AuditEvent", params={"patient": patient, "agent": agent, "_count": "100"})
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", [])]


def test_patients_see_only_their_own_studies(imaging: Imaging) -> None:
    a = instance("CT_small.dcm", imaging.mrn["patient_a"])
    b = instance("MR_small.dcm", imaging.mrn["patient_b"])
    imaging.store("admin", a, b)
    assert a.StudyInstanceUID in _studies(imaging, "pat-a")
    assert b.StudyInstanceUID not in _studies(imaging, "pat-a")
    assert b.StudyInstanceUID in _studies(imaging, "pat-b")

    url = f"{imaging.url}/studies/{a.StudyInstanceUID}"
    other = imaging.session("pat-b")
    assert other.get(f"{url}/metadata", timeout=30).status_code == 403
    assert other.get(f"{url}/series/{a.SeriesInstanceUID}/rendered", timeout=30).status_code == 403
    assert other.get(f"{url}/series", timeout=30).status_code == 204  # the search finds nothing it may see
    assert imaging.session("pat-a").get(f"{url}/metadata", timeout=30).status_code == 200
    assert requests.get(f"{url}/metadata", timeout=30).status_code == 401

    events = _audit(imaging, imaging.api.ids["patient_a"], "pat-b")
    assert any(e["outcome"] == "8" for e in events)  # the refusal
    assert any(e["outcome"] == "0" for e in _audit(imaging, imaging.api.ids["patient_a"], "pat-a"))


def test_staff_follow_the_record_rules(imaging: Imaging) -> None:
    a = instance("CT_small.dcm", imaging.mrn["patient_a"])  # patient A: cardiology
    imaging.store("admin", a)
    assert a.StudyInstanceUID in _studies(imaging, "doctor-cardio")
    assert a.StudyInstanceUID not in _studies(imaging, "nurse-onco")
    r = imaging.session("nurse-onco").get(f"{imaging.url}/studies/{a.StudyInstanceUID}", timeout=30)
    assert r.status_code == 403
    # an oncology nurse cannot add images to a cardiology patient either
    more = instance("MR_small.dcm", imaging.mrn["patient_a"], study=a.StudyInstanceUID)
    r = imaging.stow("nurse-onco", [encode(more)])
    assert r.status_code == 409
    assert r.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0124]
    assert imaging.stow("pat-a", [encode(more)]).status_code == 403  # patients do not store
    with imaging.api.client("service") as c:  # a service token without a patient reaches nothing
        assert c.get("/dicomweb/studies").status_code == 403


def test_share_link_opens_exactly_its_studies_until_revoked(imaging: Imaging) -> None:
    one = instance("CT_small.dcm", imaging.mrn["patient_a"])
    two = instance("MR_small.dcm", imaging.mrn["patient_a"])
    imaging.store("admin", one, two)
    assert imaging.share("pat-b", [one.StudyInstanceUID]).status_code == 403
    r = imaging.share("pat-a", [one.StudyInstanceUID], expires_in=3600)
    assert r.status_code == 201, r.text
    share = r.json()
    token = share["token"]
    assert share["url"].startswith(f"{imaging.url}/studies?share=")

    assert _studies(imaging, token=token) == {one.StudyInstanceUID}
    via_query = requests.get(share["url"], timeout=30)
    assert {s["0020000D"]["Value"][0] for s in via_query.json()} == {one.StudyInstanceUID}
    viewer = imaging.client(token=token)
    rendered = viewer.retrieve_instance_rendered(
        one.StudyInstanceUID, one.SeriesInstanceUID, one.SOPInstanceUID
    )
    assert rendered.startswith(b"\x89PNG")
    shared = imaging.session(token=token)
    for level, key in (("series", "0020000E"), ("instances", "00080018")):
        r = shared.get(f"{imaging.url}/{level}", params={"limit": "1000"}, timeout=30)
        assert r.status_code == 200
        assert {x["0020000D"]["Value"][0] for x in r.json()} == {one.StudyInstanceUID}
        assert all(key in x for x in r.json())
    r = shared.get(
        f"{imaging.url}/studies", params={"Unknownish": "1", "StudyInstanceUID": one.StudyInstanceUID}
    )
    assert "Unknownish" in r.headers["Warning"]
    assert shared.get(f"{imaging.url}/studies/{two.StudyInstanceUID}/metadata", timeout=30).status_code == 403
    assert (
        shared.get(f"{imaging.api.url}/fhir/Patient/{imaging.api.ids['patient_a']}", timeout=30).status_code
        == 401
    )
    assert (
        shared.post(
            f"{imaging.url}/studies", data=b"x", headers={"Content-Type": "application/dicom"}
        ).status_code
        == 401
    )
    assert shared.post(f"{imaging.url}/shares", json={"studies": [one.StudyInstanceUID]}).status_code == 401
    assert _audit(imaging, imaging.api.ids["patient_a"], f"share:{share['id']}")

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert imaging.session(token=tampered).get(f"{imaging.url}/studies", timeout=30).status_code == 401
    assert (
        imaging.session("pat-b").delete(f"{imaging.url}/shares/{share['id']}", timeout=30).status_code == 403
    )
    assert (
        imaging.session("pat-a").delete(f"{imaging.url}/shares/{share['id']}", timeout=30).status_code == 204
    )
    r = imaging.session(token=token).get(f"{imaging.url}/studies", timeout=30)
    assert r.status_code == 401
    assert "revoked" in r.json()["issue"][0]["diagnostics"]


def test_expired_share_link_is_refused(imaging: Imaging) -> None:
    one = instance("CT_small.dcm", imaging.mrn["patient_a"])
    imaging.store("admin", one)
    assert imaging.share("doctor-cardio", [one.StudyInstanceUID], expires_in=5).status_code == 400
    share = imaging.share("doctor-cardio", [one.StudyInstanceUID], expires_in=60).json()
    secret = imaging.api.settings.security.jwt_secret.get_secret_value()
    now = int(time.time())
    # the same share, signed with the real key but already past its expiry
    expired = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "jti": share["id"], "sub": "x", "iat": now - 120, "exp": now - 60},
        secret,
        algorithm="HS256",
    )
    r = imaging.session(token=expired).get(f"{imaging.url}/studies", timeout=30)
    assert r.status_code == 401
    assert "expired" in r.json()["issue"][0]["diagnostics"]
    # a validly signed token for this share that is not the issued one (other expiry) is refused too
    other = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "jti": share["id"], "sub": "x", "iat": now, "exp": now + 30},
        secret,
        algorithm="HS256",
    )
    assert imaging.session(token=other).get(f"{imaging.url}/studies", timeout=30).status_code == 401
    assert _studies(imaging, token=share["token"]) == {one.StudyInstanceUID}
