"""The patient app in headless Chromium: chat and triage, consults, check-ins, text size, language, voice."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

EMERGENCY = "I have crushing chest pain and I can't breathe"


def test_web_patient_chats_and_is_triaged_with_an_emergency_banner(people: Any) -> None:
    patient = people()
    page = patient.sign_in("patient-1", expect_path="/patient/")
    expect(page.locator(".msg.assistant").first).to_contain_text("care assistant")
    expect(page.locator("#emergency-banner")).to_be_hidden()
    page.get_by_placeholder("Type your message").fill(EMERGENCY)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg.user").last).to_have_text(EMERGENCY)
    reply = page.locator(".msg.assistant").nth(1)
    expect(reply).to_contain_text(re.compile("emergency", re.I), timeout=60_000)
    badge = page.locator("#triage-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("Emergency: call an ambulance")
    banner = page.locator("#emergency-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Call your local emergency number")
    patient.screenshot("patient-chat-emergency")


def test_web_patient_books_and_cancels_a_consult_and_sees_check_ins(people: Any) -> None:
    patient = people()
    page = patient.sign_in("patient-4", expect_path="/patient/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("tab", name="Consults").click()
    expect(page.locator("#consult-list")).to_be_visible()
    before = page.locator("#consult-list li[data-appointment]").count()
    page.get_by_role("button", name="Book a video consult").click()
    page.locator(".slot-picker button").first.click()
    expect(page.get_by_role("status").filter(has_text="Booked.")).to_be_visible()
    booked = page.locator("#consult-list li[data-appointment]")
    expect(booked).to_have_count(before + 1)
    expect(booked.first.get_by_role("button", name="Join")).to_be_visible()
    patient.screenshot("patient-consults")
    booked.first.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status").filter(has_text="Cancelled.")).to_be_visible()
    expect(page.locator("#consult-list li[data-appointment]")).to_have_count(before)
    page.get_by_role("tab", name="Check-ins").click()
    checkins = page.locator("#checkin-list li")
    expect(checkins).to_have_count(3)
    expect(checkins.first).to_contain_text("Planned")
    patient.screenshot("patient-checkins")


def test_web_patient_large_text_and_chinese(people: Any) -> None:
    patient = people()
    page = patient.sign_in("patient-2", expect_path="/patient/")
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_visible()
    normal = send.bounding_box()
    page.get_by_role("button", name="Larger text").click()
    expect(page.locator("html")).to_have_class(re.compile("large"))
    larger = send.bounding_box()
    assert normal and larger and larger["height"] > normal["height"]
    expect(page.locator(".msg.assistant").first).to_contain_text("care assistant")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("tab", name="对话")).to_be_visible()
    expect(page.get_by_role("button", name="发送")).to_be_visible()
    greeting = page.locator(".msg.assistant")
    expect(greeting).to_have_count(1)
    expect(greeting).to_contain_text("护理助手")  # nothing said yet: the assistant starts over in Chinese
    patient.screenshot("patient-large-chinese")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("tab", name="Talk")).to_be_visible()


def test_web_patient_voice_push_to_talk_and_hands_free(people: Any) -> None:
    """Fake microphone (Chromium's test tone): the audio WebSocket opens, the start handshake succeeds."""
    patient = people()
    page = patient.sign_in("patient-3", expect_path="/patient/")
    expect(page.locator(".msg.assistant").first).to_be_visible()
    talk = page.get_by_role("button", name="Hold to talk")
    talk.dispatch_event("pointerdown")
    state = page.locator("#voice-state")
    expect(state).to_have_text("Listening…")
    talk.dispatch_event("pointerup")
    expect(state).to_have_text("Voice ready")
    page.get_by_role("button", name="Hands-free").click()
    expect(state).to_have_text("Listening…")
    expect(page.get_by_role("button", name="Stop hands-free")).to_be_visible()
    patient.screenshot("patient-voice")
    page.get_by_role("button", name="Stop hands-free").click()
    expect(state).to_have_text("Voice ready")
