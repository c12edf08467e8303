"""The doctor console in headless Chromium: a live escalation, the record with trends, images and video."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect
from web_testkit import PIXEL_SPACING_MM, Study, distinct_grey_levels, store_ct_study

HOSPITAL_A = "1.2.36.146.595.217.0.1"  # seeded patient-1 is A100000 at this issuer (clinical_api/seed.py)
RANK = {"Immediate": 0, "As soon as possible": 1, "Urgent": 2, "Routine": 3}


@pytest.fixture(scope="module")
def ct_study(world: Any) -> Study:
    return store_ct_study(world.clinical_url, world.token("demo-admin"), "A100000", HOSPITAL_A)


@pytest.fixture(scope="module")
def heart_rates(world: Any) -> list[int]:
    values = [72, 88, 95]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with world.clinical("doctor-cardiology") as clinical:
        patient = clinical.get("/fhir/Patient", params={"identifier": "A100000"}).json()["entry"][0][
            "resource"
        ]
        for days, value in zip((3, 2, 1), values, strict=True):
            response = clinical.post(
                "/fhir/Observation",
                json={
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {
                        "coding": [{"system": "http://loinc.org", "code": "8867-4"}],
                        "text": "Heart rate",
                    },
                    "subject": {"reference": f"Patient/{patient['id']}"},
                    "effectiveDateTime": (now - dt.timedelta(days=days)).isoformat(),
                    "valueQuantity": {"value": value, "unit": "/min"},
                },
            )
            assert response.status_code == 201, response.text
    return values


def test_web_doctor_gets_the_urgent_case_live_and_reads_the_record(
    people: Any, world: Any, ct_study: Study, heart_rates: list[int]
) -> None:
    doctor = people()
    page = doctor.sign_in("doctor-cardiology", expect_path="/doctor/")
    expect(page.locator("#queue-status")).to_have_text("Live")
    with world.assistant("patient-1") as client:
        session = client.post("/v1/sessions", json={"language": "en"}).json()["id"]
        reply = client.post(
            f"/v1/sessions/{session}/messages",
            json={"text": "I have crushing chest pain and I can't breathe"},
        ).json()
    task_id = next(e for e in reply["events"] if e["type"] == "escalation")["task_id"]
    item = page.locator(f'#queue li[data-task="{task_id}"]')
    expect(item).to_be_visible(timeout=30_000)
    expect(item).to_contain_text("Immediate")
    expect(item).to_contain_text("Wei Chen")
    ranks = [RANK[text] for text in page.locator("#queue li .badge[class*=prio-]").all_inner_texts()]
    assert ranks == sorted(ranks), ranks
    doctor.screenshot("doctor-queue")

    item.click()
    expect(page.locator("#record-patient")).to_have_text("Wei Chen")
    expect(page.locator("#case-level")).to_have_text("Emergency: call an ambulance")
    trend = page.locator("#readings figure").filter(has_text="Heart rate")
    expect(trend).to_contain_text(f"Heart rate: {heart_rates[-1]} /min (3)")
    expect(trend.locator("svg polyline")).to_be_visible()
    expect(page.locator("#timeline")).to_be_visible()

    page.locator("#imaging .open-study").first.click()
    canvas = page.locator("#image-canvas")
    expect(canvas).to_have_attribute("data-rendered", "128x128", timeout=30_000)
    expect(canvas).to_be_visible()
    first = canvas.screenshot()
    assert distinct_grey_levels(first) > 8  # a real picture, not a blank box
    doctor.screenshot("doctor-record-image")

    expect(page.locator("#window-center")).to_have_value("40")  # the image's own window, from /metadata
    page.locator("#window-width").fill("40")
    page.locator("#window-width").dispatch_event("change")
    expect(canvas).to_have_attribute("data-window", "40,40")
    assert canvas.screenshot() != first  # re-rendered by the server with the narrower window
    page.locator("#instance-slider").fill("2")
    expect(page.locator("#instance-position")).to_have_text(f"3 / {len(ct_study.instance_uids)}")

    box = canvas.bounding_box()
    assert box is not None
    scale = 128 / box["width"]
    canvas.click(position={"x": 10 / scale, "y": 64 / scale})
    expect(page.locator("#measure-result")).to_have_text("Click the second point.")
    canvas.click(position={"x": 110 / scale, "y": 64 / scale})
    expected = 100 * PIXEL_SPACING_MM
    result = page.locator("#measure-result")
    expect(result).to_contain_text("mm")
    measured = float(result.inner_text().split(":")[1].split("mm")[0])
    assert abs(measured - expected) <= 2 * PIXEL_SPACING_MM * scale, (measured, expected)
    doctor.screenshot("doctor-measure")

    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Start video consult").click()
    popup = popup_info.value
    assert "/video/consult?room=" in popup.url
    popup.close()

    page.get_by_role("button", name="Mark done").click()
    expect(page.locator("#record-message")).to_have_text("Marked done.")
    expect(item).to_be_hidden()


def test_web_patient_shares_cloud_film(people: Any, world: Any, ct_study: Study) -> None:
    patient = people()
    page = patient.sign_in("patient-1", expect_path="/patient/")
    page.get_by_role("tab", name="My images").click()
    study = page.locator(f'#study-list li[data-study="{ct_study.study_uid}"]')
    expect(study).to_contain_text("Chest CT")
    study.get_by_role("button", name="Share link").click()
    link = study.get_by_label("Share link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "/dicomweb/studies?share=" in url
    study.get_by_role("button", name="View").click()
    expect(page.locator("#patient-viewer #image-canvas")).to_have_attribute(
        "data-rendered", "128x128", timeout=30_000
    )
    patient.screenshot("patient-images")
