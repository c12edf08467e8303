"""Headless Chromium against the real servers: the assistant world (clinical API + assistant, real models).

The `world` fixture comes from tests/conftest.py (shared with the assistant tests). Pages are driven through what a person sees; screenshots go to
tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import Browser, Page, expect, sync_playwright

PASSWORD = "careline-demo"
# Generous waits: the machine is shared, and a wait only ends early when the page shows what is expected.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API holds an event loop while open, which async tests elsewhere need."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Person:
    """One person at one browser window: a fresh context, so storage is never shared between people."""

    def __init__(self, browser: Browser, world: Any) -> None:
        self.world = world
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, username: str, password: str = PASSWORD, expect_path: str | None = None) -> Page:
        page = self.page
        page.goto(f"{self.world.assistant_url}/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        if expect_path:
            page.wait_for_url(f"**{expect_path}")
        return page

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser: Browser, world: Any) -> Iterator[Any]:
    """`people()` opens a new person's window; all are closed after the test, with no page errors allowed."""
    opened: list[Person] = []

    def open_person() -> Person:
        person = Person(browser, world)
        opened.append(person)
        return person

    yield open_person
    errors = [error for person in opened for error in person.errors]
    for person in opened:
        person.close()
    assert not errors, errors
