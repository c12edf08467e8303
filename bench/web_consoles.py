"""What a person waits for in the web consoles, measured in headless Chromium against real servers.

    python -m bench.web_consoles [--runs 20]

Starts the clinical API (SQLite, demo seed) and the assistant (default models, loaded on first use,
empty knowledge base) on loopback, with the consoles allowed by CORS, then measures:

- nurse console: navigation to a live queue (queue searched, event stream connected);
- live queue: a review Task created through the API until its row is visible in the open console;
- patient app: Send until the first streamed word is on screen, and until the triage badge shows
  (an emergency message; the first turn is a warm-up and is not counted).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from assistant.server import create_app as create_assistant
from bench.common import ServedApp, describe_ms, free_port
from careline.settings import ChromaSettings, ServerSettings, Settings
from clinical_api.app import create_app as create_clinical
from clinical_api.seed import seed

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "careline-demo"


def sign_in(page: Page, base: str, username: str, path: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    clinical_port, assistant_port = free_port(), free_port()
    settings = Settings(
        data_dir=tmp,
        chroma=ChromaSettings(path=tmp / "chroma"),
        server=ServerSettings(
            clinical_port=clinical_port,
            assistant_port=assistant_port,
            cors_origins=[f"http://127.0.0.1:{assistant_port}"],
        ),
        log_level="WARNING",
    )
    clinical_app = create_clinical(settings)
    with clinical_app.state.sessionmaker() as session:
        report = seed(session, settings)
        session.commit()
    patient_id = report.patients[0]  # patient-1, cardiology
    with (
        ServedApp(clinical_app, clinical_port) as clinical,
        ServedApp(create_assistant(settings, preload=False), assistant_port) as assistant,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        nurse_token = httpx.post(
            f"{clinical.url}/auth/token", data={"username": "nurse-cardiology", "password": PASSWORD}
        ).json()["access_token"]

        load, live = [], []
        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            sign_in(page, assistant.url, "nurse-cardiology", "/nurse/")
            start = time.perf_counter()
            page.reload()
            page.get_by_text("Live").wait_for()
            load.append(time.perf_counter() - start)
            created = httpx.post(
                f"{clinical.url}/fhir/Task/$from-triage",
                json={"patient_id": patient_id, "triage_level": "consultation", "kind": "nurse-review"},
                headers={"Authorization": f"Bearer {nurse_token}"},
            )
            start = time.perf_counter()
            page.locator(f'#queue li[data-task="{created.json()["id"]}"]').wait_for()
            live.append(time.perf_counter() - start)
            context.close()
        print(f"nurse console, reload to live queue: {describe_ms(load)}")
        print(f"task created -> row visible in the open queue: {describe_ms(live)}")

        first_word, badge = [], []
        for run in range(min(runs, 10) + 1):
            context = browser.new_context()
            page = context.new_page()
            sign_in(page, assistant.url, "patient-1", "/patient/")
            page.locator(".msg.assistant").first.wait_for()
            page.get_by_placeholder("Type your message").fill(
                "I have crushing chest pain and I can't breathe"
            )
            start = time.perf_counter()
            page.get_by_role("button", name="Send").click()
            page.locator(".msg.assistant").nth(1).wait_for(timeout=120_000)
            words = time.perf_counter() - start
            page.locator("#triage-badge:not(.hidden)").wait_for(timeout=120_000)
            shown = time.perf_counter() - start
            if run:
                first_word.append(words)
                badge.append(shown)
            context.close()
        print(f"patient app, Send -> first word on screen: {describe_ms(first_word)}")
        print(f"patient app, Send -> triage badge on screen: {describe_ms(badge)}")
        browser.close()


if __name__ == "__main__":
    main()
