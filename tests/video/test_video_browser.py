"""Headless Chromium with a fake camera and microphone opens the consult page and talks to an aiortc peer."""

from __future__ import annotations

import io
from typing import Any

import pydicom
import pytest
from chromium import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from clinical_api.video.peer import Participant

playwright = pytest.importorskip("playwright.async_api")

ARGS = CHROMIUM_ARGS


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
def upload_ct(api: Any) -> dict[str, str]:
    """pydicom's CT_small, re-identified as patient A of hospital A and stored through STOW-RS."""
    with api.client("admin") as c:
        body = c.get(f"/fhir/Patient/{api.ids['patient_a']}").json()
    mrn = next(i["value"] for i in body["identifier"] if i["system"] == "urn:hospital:a")
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    ds = pydicom.dcmread(path)
    ds.PatientID, ds.IssuerOfPatientID = mrn, "HOSPA"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = (
        generate_uid(),
        generate_uid(),
        generate_uid(),
    )
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    boundary = "video-test-boundary"
    payload = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + buffer.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    with api.client("doctor-cardio") as c:
        r = c.post("/dicomweb/studies", content=payload, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text
    return {"study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID, "instance": ds.SOPInstanceUID}


async def test_browser_consult_page_connects_to_aiortc_peer(consult: Any) -> None:
    api = consult.api
    room = consult.room()["id"]
    patient = consult.token(room, "pat-a")
    doctor = consult.token(room, "doctor-cardio")
    ct = upload_ct(api)
    async with Participant(api.url, room, patient["token"]) as bot, playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # the doctor's API token rides in the fragment too, so the panel can fetch DICOMweb frames
            await page.goto(f"{doctor['joinUrl']}&api={api.tokens['doctor-cardio']}")
            # the token left the address bar as soon as the page read it
            assert "#token" not in page.url
            state = page.locator("#state")
            await playwright.expect(state).to_have_text("connected", timeout=30_000)
            remote = page.locator("video.remote-video")
            await page.wait_for_function(
                "() => { const v = document.querySelector('video.remote-video');"
                " return v && v.videoWidth > 0 && !v.paused && v.currentTime > 0; }",
                timeout=30_000,
            )
            assert await remote.evaluate("v => v.videoWidth") == 320
            # the browser's fake camera and microphone reach the aiortc peer
            await bot.wait_for(lambda: bot.media_from_all(10), 30)
            got = next(iter(bot.received.values()))
            assert got.frames["audio"] >= 10 and got.frames["video"] >= 10 and got.size is not None
            # the quality indicator is fed by getStats
            await page.wait_for_function(
                "() => ['good','fair','poor'].includes(document.getElementById('quality').dataset.level)",
                timeout=15_000,
            )
            assert (await page.locator("#quality").text_content() or "").startswith("quality: ")
            # mute toggles the local microphone track
            await page.click("#mute-audio")
            assert await page.evaluate("() => call.local.getAudioTracks()[0].enabled") is False
            assert await page.locator("#mute-audio").get_attribute("aria-pressed") == "true"
            # the shared panel follows the other side's frame, window and strokes
            view = {**ct, "frame": 1, "center": 50, "width": 350}
            await bot.send({"type": "view", **view})
            await bot.send(
                {
                    "type": "stroke",
                    "id": "s1",
                    "points": [[0.1, 0.1], [0.9, 0.9]],
                    "color": "#ff0000",
                    "width": 6,
                }
            )
            await playwright.expect(page.locator("#instance")).to_have_value(ct["instance"], timeout=10_000)
            await playwright.expect(page.locator("#ww")).to_have_value("350")
            await page.wait_for_function(
                "() => { const c = document.getElementById('ink');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; }",
                timeout=10_000,
            )
            # the real CT frame, rendered by the API's DICOMweb with the shared window, is on screen
            await page.wait_for_function(
                "() => document.getElementById('frame-img').naturalWidth === 128", timeout=15_000
            )
            await playwright.expect(page.locator("#panel-status")).to_have_text("Frame 1 · window 50/350")
            # and the browser's own strokes reach the other side
            box = await page.locator("#ink").bounding_box()
            assert box is not None
            await page.mouse.move(box["x"] + 50, box["y"] + 50)
            await page.mouse.down()
            await page.mouse.move(box["x"] + 150, box["y"] + 120, steps=5)
            await page.mouse.up()
            await bot.wait_for(lambda: any(e.get("type") == "stroke" for e in bot.events), 10)
            # a dropped signalling connection (closed under the page, as a network drop would): the page
            # shows it, rejoins with its stored token, renegotiates, and media flows again with the peer
            await page.evaluate("() => { call.ws.close(3000, 'simulated drop'); updateState(); }")
            await playwright.expect(state).to_have_text("reconnecting", timeout=5_000)
            await playwright.expect(state).to_have_text("connected", timeout=30_000)
            rejoined = [e for e in bot.events if e.get("type") == "joined"]
            assert rejoined and rejoined[-1]["peer"]["user"] == "doctor-cardio"
            newest = rejoined[-1]["peer"]["id"]
            await bot.wait_for(lambda: bot.received.get(newest) is not None and bot.media_from_all(5), 30)
            # staff see the invite button; an invite yields a join link for the colleague
            await page.click("#invite")
            await page.fill("#invite-user", "doctor-onco")
            await page.click("#invite-form button[type=submit]")
            await page.wait_for_function(
                "() => document.getElementById('invite-link').value.includes('/video/consult?room=')",
                timeout=10_000,
            )
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "video_consult.png"), full_page=True)
            # ending from the page closes the room for everyone
            await page.click("#end")
            await playwright.expect(state).to_have_text("ended", timeout=10_000)
            await bot.wait_for(lambda: bot.close_code is not None, 10)
            assert bot.close_code == 4410
            assert errors == []
        finally:
            await browser.close()
