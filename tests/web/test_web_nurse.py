"""The nurse console in headless Chromium: a summary arrives live, is read, edited and signed off."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect


def complete_preconsult(client: httpx.Client) -> dict[str, Any]:
    """A patient reports a knee problem and answers the assistant's questions until the summary is stored."""
    session = client.post("/v1/sessions", json={"language": "en"}).json()["id"]
    reply = client.post(
        f"/v1/sessions/{session}/messages",
        json={"text": "I've had a sore knee for three days, it hurts when I climb stairs"},
    ).json()
    for _ in range(25):
        if reply["state"]["flow"] != "triage":
            break
        reply = client.post(f"/v1/sessions/{session}/messages", json={"text": "no"}).json()
    summaries = [event for event in reply["events"] if event["type"] == "summary"]
    assert summaries, reply
    return summaries[0]


def test_web_nurse_sees_the_summary_live_edits_and_signs_it_off(people: Any, world: Any) -> None:
    nurse = people()
    page = nurse.sign_in("nurse-cardiology", expect_path="/nurse/")
    expect(page.locator("#queue-status")).to_have_text("Live")
    with world.assistant("patient-1") as client:
        summary = complete_preconsult(client)
    item = page.locator(f'#queue li[data-task="{summary["task_id"]}"]')
    expect(item).to_be_visible(timeout=30_000)  # arrived over the live event stream, no reload
    expect(item).to_contain_text("Wei Chen")
    nurse.screenshot("nurse-queue")
    item.click()
    review = page.locator("#review")
    expect(review.locator("#review-patient")).to_have_text("Wei Chen")
    expect(review.locator("#summary-status")).to_have_text("Draft")
    fields = review.locator("#summary-fields")
    expect(fields).to_contain_text("Chief complaint")
    expect(fields).to_contain_text("knee")
    expect(review.locator("#triage-level")).to_be_visible()
    expect(fields).to_contain_text("Triage and reasons")
    turns = review.locator("#transcript-turns li")
    expect(turns.first).to_contain_text("Assistant:")  # the greeting
    expect(review.locator('#transcript-turns li[data-role="user"]').first).to_contain_text("sore knee")
    expect(review.locator("#transcript")).to_contain_text("Answers")
    nurse.screenshot("nurse-review")

    page.get_by_role("button", name="Edit").click()
    complaint = page.locator('#edit-form textarea[data-section="chief_complaint"]')
    complaint.fill("Right knee pain for three days, worse on stairs (nurse checked)")
    page.get_by_role("button", name="Save").click()
    expect(review.get_by_role("status")).to_have_text("Saved as a new version.")
    expect(fields).to_contain_text("nurse checked")

    page.get_by_role("button", name="Sign off").click()
    expect(review.locator("#summary-status")).to_have_text("Final")
    expect(review.get_by_role("status")).to_have_text("Signed off.")
    expect(page.get_by_role("button", name="Sign off")).to_be_disabled()
    expect(item).to_be_hidden()  # the review Task is completed and leaves the live queue
    nurse.screenshot("nurse-signed")
    with world.clinical("nurse-cardiology") as clinical:
        history = clinical.get(f"/fhir/Composition/{summary['summary_id']}/_history").json()
    assert history["total"] >= 3  # created, edited by the nurse, signed


def test_web_nurse_sends_back_and_escalates(people: Any, world: Any) -> None:
    with world.assistant("patient-1") as client:
        summary = complete_preconsult(client)
    nurse = people()
    page = nurse.sign_in("nurse-cardiology", expect_path="/nurse/")
    item = page.locator(f'#queue li[data-task="{summary["task_id"]}"]')
    item.click()
    page.get_by_label("Note (for send back or escalation)").fill("Ask about swelling and fever")
    page.get_by_role("button", name="Send back for more questions").click()
    expect(page.locator("#review").get_by_role("status")).to_have_text("Sent back for more questions.")
    expect(item).to_contain_text("Sent back")
    page.get_by_label("Note (for send back or escalation)").fill("Please review today")
    page.get_by_role("button", name="Escalate to a doctor").click()
    expect(page.locator("#review").get_by_role("status")).to_have_text("Escalated to a doctor.")
    with world.clinical("doctor-cardiology") as clinical:
        bundle = clinical.get(
            "/fhir/Task", params={"code": "doctor-escalation", "status": "requested"}
        ).json()
    focused = [
        e["resource"]
        for e in bundle.get("entry", [])
        if e["resource"].get("focus", {}).get("reference") == f"Composition/{summary['summary_id']}"
    ]
    assert focused and focused[0]["note"][0]["text"] == "Please review today"
