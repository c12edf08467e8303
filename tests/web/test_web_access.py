"""Who sees which page, sign-out, idle time-out, and the browser-facing headers of both servers."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect


def test_web_each_role_gets_only_its_own_page(people: Any, world: Any) -> None:
    nurse = people()
    page = nurse.sign_in("nurse-cardiology", expect_path="/nurse/")
    page.goto(f"{world.assistant_url}/doctor/")
    page.wait_for_url("**/?reason=wrong_role")
    expect(page.get_by_text("This page is not available to your account.")).to_be_visible()
    nurse.screenshot("access-wrong-role")

    patient = people()
    page = patient.sign_in("patient-2", expect_path="/patient/")
    page.goto(f"{world.assistant_url}/nurse/")
    page.wait_for_url("**/?reason=wrong_role")
    expect(page.get_by_text("This page is not available to your account.")).to_be_visible()
    page.goto(f"{world.assistant_url}/patient/")
    expect(page.get_by_role("tab", name="Talk")).to_be_visible()
    status = page.evaluate(
        """async (url) => {
            const session = JSON.parse(sessionStorage.getItem("careline.session"));
            const response = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
            return response.status;
        }""",
        f"{world.clinical_url}/events/tasks",
    )
    assert status == 403  # the API refuses a patient the staff event stream, whatever the page does

    stranger = people()
    stranger.page.goto(f"{world.assistant_url}/doctor/")
    stranger.page.wait_for_url("**/?reason=expired")
    expect(stranger.page.get_by_text("Your session has ended. Please sign in again.")).to_be_visible()


def test_web_wrong_password_is_refused(people: Any) -> None:
    person = people()
    person.sign_in("nurse-cardiology", password="not-the-password")
    expect(person.page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(person.page.get_by_role("button", name="Sign in")).to_be_visible()


def test_web_sign_out_leaves_nothing_behind(people: Any, world: Any) -> None:
    patient = people()
    page = patient.sign_in("patient-2", expect_path="/patient/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    page.goto(f"{world.assistant_url}/patient/")
    page.wait_for_url("**/?reason=expired")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_web_idle_session_times_out(people: Any, world: Any) -> None:
    nurse = people()
    nurse.page.clock.install()
    page = nurse.sign_in("nurse-cardiology", expect_path="/nurse/")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.clock.fast_forward((world.settings.server.web_idle_timeout_s + 5) * 1000)
    page.wait_for_url("**/?reason=idle")
    expect(page.get_by_text("You were signed out after a period of inactivity.")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_web_servers_send_cors_and_no_store(world: Any) -> None:
    console = world.assistant_url
    config = httpx.get(f"{console}/v1/config", timeout=30)
    assert config.json()["clinical_url"] == world.clinical_url
    assert config.headers["cache-control"] == "no-store"
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    allowed = httpx.options(f"{world.clinical_url}/fhir/Task", headers={"Origin": console, **preflight})
    assert allowed.headers.get("access-control-allow-origin") == console
    refused = httpx.options(
        f"{world.clinical_url}/fhir/Task", headers={"Origin": "http://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers
    with world.clinical("nurse-cardiology") as clinical:
        response = clinical.get("/fhir/Task", headers={"Origin": console})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == console
    page = httpx.get(f"{console}/nurse/", timeout=30)
    assert page.status_code == 200 and "cache-control" not in page.headers  # static pages hold no data
