"""The patient app's microphone path in the browser: the AudioWorklet that makes 16 kHz PCM16 frames.

Runs a 440 Hz tone at 48 kHz through `pcm-capture.js` in an OfflineAudioContext (no device, no server
beyond the static files) and checks what the audio WebSocket would receive.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parents[2] / "assistant" / "static"

RESAMPLE_TONE = """async () => {
  const rate = 48000, seconds = 1, frequency = 440;
  const ctx = new OfflineAudioContext(1, rate * seconds, rate);
  await ctx.audioWorklet.addModule("/js/patient/pcm-capture.js");
  const capture = new AudioWorkletNode(ctx, "pcm16-capture");
  const frames = [];
  capture.port.onmessage = (message) => frames.push(new Int16Array(message.data));
  const tone = ctx.createOscillator();
  tone.frequency.value = frequency;
  const gain = ctx.createGain();
  gain.gain.value = 0.5;
  tone.connect(gain).connect(capture).connect(ctx.destination);
  tone.start();
  await ctx.startRendering();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = frames.flatMap((frame) => Array.from(frame));
  let rising = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1] < 0 && samples[i] >= 0) rising++;
  return { sizes: [...new Set(frames.map((f) => f.length))], samples: samples.length, rising,
           peak: Math.max(...samples.map(Math.abs)) };
}"""


@pytest.fixture(scope="module")
def static_site() -> Iterator[str]:
    app = Starlette(routes=[Mount("/", StaticFiles(directory=STATIC, html=True))])
    with LiveServer(app) as server:
        yield server.url


def test_web_microphone_frames_are_16khz_pcm16_of_20ms(browser: Any, static_site: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{static_site}/")
        result = page.evaluate(RESAMPLE_TONE)
    finally:
        context.close()
    assert result["sizes"] == [320]  # 20 ms at 16 kHz, as docs/voice.md recommends
    assert 15_680 <= result["samples"] <= 16_000  # one second, less at most the last partial frame
    assert 438 <= result["rising"] <= 441  # the tone's pitch survives resampling
    assert 0.45 * 32767 <= result["peak"] <= 0.55 * 32767  # and its level (gain 0.5)
