"""Authentication, roles, the patient compartment, the patient-token exchange and the audit of denials."""

from __future__ import annotations

import time

import jwt

from careline.settings import Settings


def _outcome(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


def test_wrong_password_is_401(api):
    import httpx

    r = httpx.post(f"{api.url}/auth/token", data={"username": "admin", "password": "nope-nope"})
    assert _outcome(r, 401)["code"] == "login"


def test_expired_and_forged_tokens_are_401(api):
    settings: Settings = api.settings
    now = int(time.time())
    claims = {"sub": "admin", "role": "admin", "iat": now - 100, "exp": now - 10, "scope": "user"}
    expired = jwt.encode(claims, settings.security.jwt_secret.get_secret_value(), algorithm="HS256")
    with api.client(token=expired) as c:
        issue = _outcome(c.get(f"/fhir/Patient/{api.ids['patient_a']}"), 401)
        assert "expired" in issue["diagnostics"]
    forged = jwt.encode(
        {**claims, "exp": now + 100}, "another-secret-entirely-long-enough", algorithm="HS256"
    )
    with api.client(token=forged) as c:
        _outcome(c.get("/fhir/Patient"), 401)
    with api.client() as c:
        _outcome(c.get("/fhir/Patient"), 401)


def test_wrong_role_is_403(api):
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": f"Patient/{api.ids['patient_a']}"},
    }
    with api.client("pat-a") as c:
        _outcome(c.post("/fhir/CarePlan", json=plan), 403)
    with api.client("nurse-cardio") as c:
        _outcome(c.get("/fhir/AuditEvent"), 403)
        assert c.post("/fhir/CarePlan", json=plan).status_code == 201


def test_patient_reaches_only_own_compartment(api):
    a, b = api.ids["patient_a"], api.ids["patient_b"]
    with api.client("pat-a") as c:
        assert c.get(f"/fhir/Patient/{a}").status_code == 200
        _outcome(c.get(f"/fhir/Patient/{b}"), 403)
        bundle = c.get("/fhir/Patient").json()
        assert [e["resource"]["id"] for e in bundle["entry"]] == [a]
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "pain score"},
            "subject": {"reference": f"Patient/{b}"},
            "valueInteger": 3,
        }
        _outcome(c.post("/fhir/Observation", json=obs), 403)


def test_staff_department_scope(api):
    a, b = api.ids["patient_a"], api.ids["patient_b"]
    with api.client("nurse-cardio") as c:
        assert c.get(f"/fhir/Patient/{a}").status_code == 200
        _outcome(c.get(f"/fhir/Patient/{b}"), 403)
        ids = {e["resource"]["id"] for e in c.get("/fhir/Patient", params={"_count": 100}).json()["entry"]}
        assert a in ids and b not in ids
    with api.client("nurse-onco") as c:
        assert c.get(f"/fhir/Patient/{b}").status_code == 200


def test_patient_token_exchange(api):
    a, b = api.ids["patient_a"], api.ids["patient_b"]
    with api.client("service") as c:
        # an unscoped service token reaches no patient data
        _outcome(c.get(f"/fhir/Patient/{a}"), 403)
        # a nurse's token is no patient consent
        _outcome(c.post("/auth/patient-token", json={"subject_token": api.tokens["nurse-cardio"]}), 403)
        _outcome(
            c.post("/auth/patient-token", json={"subject_token": api.tokens["pat-a"], "patient_id": b}), 403
        )
        r = c.post("/auth/patient-token", json={"subject_token": api.tokens["pat-a"], "patient_id": a})
        assert r.status_code == 200, r.text
        scoped = r.json()
    assert scoped["scope"] == "patient" and scoped["patient_id"] == a
    assert scoped["expires_in"] <= api.settings.security.patient_token_ttl_s
    with api.client(token=scoped["access_token"]) as c:
        assert c.get(f"/fhir/Patient/{a}").status_code == 200
        _outcome(c.get(f"/fhir/Patient/{b}"), 403)
        # the scope never widens: no second exchange, even with another patient's token
        _outcome(c.post("/auth/patient-token", json={"subject_token": api.tokens["pat-b"]}), 403)
    with api.client("pat-a") as c:  # a patient cannot play the service
        _outcome(c.post("/auth/patient-token", json={"subject_token": api.tokens["pat-a"]}), 403)


def test_denied_attempts_are_audited(api):
    b = api.ids["patient_b"]
    with api.client("pat-a") as c:
        _outcome(c.get(f"/fhir/Patient/{b}"), 403)
    with api.client() as c:
        _outcome(c.get(f"/fhir/Patient/{b}"), 401)
    with api.client("admin") as c:
        r = c.get("/fhir/AuditEvent", params={"patient": b, "agent": "pat-a", "date": "ge2000-01-01"})
        assert r.status_code == 200
        events = [e["resource"] for e in r.json()["entry"]]
        assert any(e["outcome"] == "8" for e in events)
        denied = next(e for e in events if e["outcome"] == "8")
        assert denied["agent"][0]["who"]["identifier"]["value"] == "pat-a"
        assert {"reference": f"Patient/{b}"} in [x["what"] for x in denied["entity"]]
        anonymous = c.get("/fhir/AuditEvent", params={"patient": b, "agent": "anonymous"}).json()
        assert anonymous["total"] >= 1
        # reads are audited too
        reads = c.get("/fhir/AuditEvent", params={"patient": b, "agent": "nurse-onco"}).json()
        assert reads["total"] >= 0


def test_audit_events_are_valid_fhir(api):
    from fhir.resources.R4B.auditevent import AuditEvent

    with api.client("pat-a") as c:
        assert c.get(f"/fhir/Patient/{api.ids['patient_a']}").status_code == 200
    with api.client("admin") as c:
        bundle = c.get("/fhir/AuditEvent", params={"agent": "pat-a", "_count": 5}).json()
    assert bundle["entry"]
    for entry in bundle["entry"]:
        AuditEvent.model_validate(entry["resource"])


def test_staff_scope_all(tmp_path, helpers):
    from clinical_api.access import can_reach_patient
    from clinical_api.auth import Principal
    from clinical_api.db import make_engine, make_sessionmaker, migrate

    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate(url)
    engine = make_engine(url)
    nurse = Principal(username="n", user_id="1", role="nurse", department="oncology")
    with make_sessionmaker(engine)() as s:
        assert not can_reach_patient(s, helpers.make_settings(tmp_path, url), nurse, "p1")
        assert can_reach_patient(s, helpers.make_settings(tmp_path, url, staff_scope="all"), nurse, "p1")
    engine.dispose()
