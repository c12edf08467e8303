"""FHIR validation errors, search paging, Composition versions and sign-off, Tasks from triage levels."""

from __future__ import annotations

import httpx
import pytest

from clinical_api.fhir import TRIAGE_PRIORITY


def _issue(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["resourceType"] == "OperationOutcome"
    return r.json()["issue"][0]


def test_bad_input_gets_operation_outcomes(api):
    a = api.ids["patient_a"]
    with api.client("nurse-cardio") as c:
        _issue(
            c.post("/fhir/Observation", content=b"{not json", headers={"content-type": "application/json"}),
            400,
        )
        _issue(c.post("/fhir/Observation", json={"resourceType": "Observation", "bogus": 1}), 400)
        _issue(c.post("/fhir/Observation", json={"resourceType": "Patient"}), 400)
        _issue(c.post("/fhir/Observation", json=[1, 2]), 400)
        _issue(c.post("/fhir/Unknown", json={"resourceType": "Unknown"}), 400)
        _issue(c.get("/fhir/Observation/does-not-exist"), 404)
        _issue(c.get(f"/fhir/Patient/{a}/_history/99"), 404)
        _issue(c.get("/fhir/Observation", params={"date": "ge-not-a-date"}), 400)
        big = {"resourceType": "Observation", "status": "final", "code": {"text": "x" * 300_000}}
        _issue(c.post("/fhir/Observation", json=big), 413)
        before = c.get("/fhir/Observation", params={"patient": a}).json()["total"]
        # valid shape but no patient reference: refused, nothing stored
        _issue(
            c.post(
                "/fhir/Observation",
                json={"resourceType": "Observation", "status": "final", "code": {"text": "bp"}},
            ),
            400,
        )
        assert c.get("/fhir/Observation", params={"patient": a}).json()["total"] == before


def test_streamed_body_over_limit_is_413(api):
    def chunks():
        for _ in range(30):
            yield b" " * 10_000

    with api.client("nurse-cardio") as c:
        r = c.post("/fhir/Observation", content=chunks(), headers={"content-type": "application/json"})
        _issue(r, 413)


def _observation(patient, code, value, when):
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mm[Hg]"},
    }


def test_search_paging_and_date_range(api):
    with api.client("admin") as c:
        pid = c.post(
            "/fhir/Patient",
            json={
                "resourceType": "Patient",
                "managingOrganization": {"reference": "Organization/cardiology"},
            },
        ).json()["id"]
    with api.client("nurse-cardio") as c:
        for i in range(25):
            r = c.post(
                "/fhir/Observation",
                json=_observation(pid, "8480-6", 120 + i, f"2024-03-{i + 1:02d}T08:00:00Z"),
            )
            assert r.status_code == 201
        seen = []
        url = f"/fhir/Observation?patient=Patient/{pid}&_count=10"
        pages = 0
        while url:
            bundle = c.get(url).json()
            assert bundle["type"] == "searchset" and bundle["total"] == 25
            seen += [e["resource"]["id"] for e in bundle["entry"]]
            nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
            url = nxt[0] if nxt else None
            pages += 1
        assert pages == 3 and len(set(seen)) == 25
        ranged = c.get(
            "/fhir/Observation", params=[("patient", pid), ("date", "ge2024-03-10"), ("date", "lt2024-03-15")]
        ).json()
        assert ranged["total"] == 5
        assert c.get("/fhir/Observation", params={"patient": pid, "date": "2024-03-07"}).json()["total"] == 1
        assert c.get("/fhir/Observation", params={"patient": pid, "code": "8480-6"}).json()["total"] == 25
        assert c.get("/fhir/Observation", params={"patient": pid, "code": "2339-0"}).json()["total"] == 0
    with api.client("nurse-onco") as c:  # another department sees none of them
        assert c.get("/fhir/Observation", params={"patient": pid}).json()["total"] == 0


def test_patient_identifier_search(api):
    with api.client("admin") as c:
        created = c.post("/fhir/Patient", json=api_patient("cardiology", "MRN-777-" + api.backend)).json()
        found = c.get("/fhir/Patient", params={"identifier": f"urn:hospital:b|BMRN-777-{api.backend}"}).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]
        # one hospital identifier names one patient only
        _issue(c.post("/fhir/Patient", json=api_patient("cardiology", "MRN-777-" + api.backend)), 409)


def api_patient(dept, mrn):
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:hospital:a", "value": mrn},
            {"system": "urn:hospital:b", "value": f"B{mrn}"},
        ],
        "managingOrganization": {"reference": f"Organization/{dept}"},
    }


def _composition(patient, status="preliminary", text="chest pain since 2 days"):
    return {
        "resourceType": "Composition",
        "status": status,
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "date": "2025-01-02T10:00:00Z",
        "author": [{"display": "Careline assistant"}],
        "title": "Pre-consultation summary",
        "custodian": {"reference": "Organization/cardiology"},
        "section": [
            {
                "title": "History",
                "text": {
                    "status": "generated",
                    "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>',
                },
            }
        ],
    }


def _scoped_token(api, patient_user, patient_id):
    with api.client("service") as c:
        r = c.post(
            "/auth/patient-token", json={"subject_token": api.tokens[patient_user], "patient_id": patient_id}
        )
        assert r.status_code == 200
        return r.json()["access_token"]


def test_preconsult_summary_versions_and_sign_off(api):
    a = api.ids["patient_a"]
    token = _scoped_token(api, "pat-a", a)
    with api.client(token=token) as c:
        qr = c.post(
            "/fhir/QuestionnaireResponse",
            json={
                "resourceType": "QuestionnaireResponse",
                "status": "completed",
                "subject": {"reference": f"Patient/{a}"},
                "authored": "2025-01-02T09:55:00Z",
                "item": [{"linkId": "onset", "answer": [{"valueString": "2 days"}]}],
            },
        )
        assert qr.status_code == 201
        # the assistant cannot sign off
        _issue(c.post("/fhir/Composition", json=_composition(a, status="final")), 403)
        comp = c.post("/fhir/Composition", json=_composition(a)).json()
        assert comp["meta"]["versionId"] == "1"
        task = c.post(
            "/fhir/Task/$from-triage",
            json={
                "patient_id": a,
                "triage_level": "consultation_24",
                "kind": "nurse-review",
                "department": "cardiology",
                "focus": f"Composition/{comp['id']}",
                "rule": "chest-pain-r3",
            },
        ).json()
        assert task["priority"] == "urgent" and task["status"] == "requested"
        _issue(c.post(f"/fhir/Composition/{comp['id']}/$sign"), 403)
    cid = comp["id"]
    with api.client("nurse-cardio") as c:
        edited = _composition(a, text="chest pain since 3 days, worse on exertion")
        edited["id"] = cid
        _issue(c.put(f"/fhir/Composition/{cid}", json=edited, headers={"If-Match": 'W/"7"'}), 412)
        r = c.put(f"/fhir/Composition/{cid}", json=edited, headers={"If-Match": 'W/"1"'})
        assert r.status_code == 200 and r.json()["meta"]["versionId"] == "2"
        signed = c.post(f"/fhir/Composition/{cid}/$sign")
        assert signed.status_code == 200
        body = signed.json()
        assert body["status"] == "final" and body["meta"]["versionId"] == "3"
        assert body["attester"][0]["mode"] == "legal"
        _issue(c.post(f"/fhir/Composition/{cid}/$sign"), 409)
        v1 = c.get(f"/fhir/Composition/{cid}/_history/1").json()
        assert v1["status"] == "preliminary" and "2 days" in v1["section"][0]["text"]["div"]
        assert "3 days" in c.get(f"/fhir/Composition/{cid}/_history/2").json()["section"][0]["text"]["div"]
        hist = c.get(f"/fhir/Composition/{cid}/_history").json()
        assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["3", "2", "1"]
        assert c.get(f"/fhir/Task/{task['id']}").json()["status"] == "completed"
    with api.client(token=token) as c:  # a signed summary is no longer the assistant's to change
        _issue(c.put(f"/fhir/Composition/{cid}", json={**_composition(a), "id": cid}), 403)


@pytest.mark.parametrize("level", sorted(TRIAGE_PRIORITY))
def test_task_priority_from_triage_level(api, level):
    a = api.ids["patient_a"]
    expected = {"emergency_ambulance": "stat", "emergency": "stat", "consultation_24": "urgent"}.get(
        level, "routine"
    )
    with api.client("nurse-cardio") as c:
        r = c.post(
            "/fhir/Task/$from-triage",
            json={
                "patient_id": a,
                "triage_level": level,
                "kind": "doctor-escalation",
                "department": "cardiology",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["priority"] == expected
        # a plain Task POST carrying the level gets the same priority, whatever it asked for
        task = {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "priority": "asap",
            "for": {"reference": f"Patient/{a}"},
            "input": [{"type": {"text": "triage-level"}, "valueCode": level}],
        }
        assert c.post("/fhir/Task", json=task).json()["priority"] == expected
        found = c.get("/fhir/Task", params={"patient": a, "priority": expected, "status": "requested"}).json()
        assert found["total"] >= 2


def test_unknown_triage_level_is_400(api):
    with api.client("nurse-cardio") as c:
        r = c.post(
            "/fhir/Task/$from-triage", json={"patient_id": api.ids["patient_a"], "triage_level": "whenever"}
        )
        _issue(r, 400)


def test_photo_upload_and_careplan(api):
    a = api.ids["patient_a"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with api.client("pat-a") as c:
        r = c.post("/fhir/Binary", params={"patient": a}, content=png, headers={"content-type": "image/png"})
        assert r.status_code == 201, r.text
        bid = r.json()["id"]
        doc = {
            "resourceType": "DocumentReference",
            "status": "current",
            "subject": {"reference": f"Patient/{a}"},
            "content": [{"attachment": {"contentType": "image/png", "url": f"Binary/{bid}"}}],
        }
        assert c.post("/fhir/DocumentReference", json=doc).status_code == 201
        assert c.get(f"/fhir/Binary/{bid}").content == png
        _issue(
            c.post(
                "/fhir/Binary",
                params={"patient": api.ids["patient_b"]},
                content=png,
                headers={"content-type": "image/png"},
            ),
            403,
        )
    with api.client("pat-b") as c:
        _issue(c.get(f"/fhir/Binary/{bid}"), 403)
    with api.client("doctor-cardio") as c:
        plan = {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": f"Patient/{a}"},
            "activity": [
                {"detail": {"status": "scheduled", "scheduledPeriod": {"start": "2025-02-01T09:00:00Z"}}}
            ],
        }
        assert c.post("/fhir/CarePlan", json=plan).status_code == 201
    with api.client("pat-a") as c:
        plans = c.get("/fhir/CarePlan", params={"patient": a, "status": "active"}).json()
        assert plans["total"] >= 1


def test_ops_endpoints(api):
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{api.url}/readyz").json() == {"status": "ready"}
    metrics = httpx.get(f"{api.url}/metrics").text
    assert "clinical_http_requests_total" in metrics and 'route="/fhir/{resource_type}"' in metrics
