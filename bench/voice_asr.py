"""ASR figures: real-time factor and word error rate on the shared recordings.

python -m bench.voice_asr
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import numpy as np

from careline.settings import Settings
from models.registry import ModelRegistry

AUDIO = Path("/work/shared/data/audio")
REFERENCES = {
    "jfk.flac": "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country.",
}


def load(path: Path) -> np.ndarray:
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(path), sampling_rate=16000), dtype=np.float32)


def normalise(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(reference: str, hypothesis: str) -> float:
    r, h = normalise(reference), normalise(hypothesis)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)] / max(1, len(r))


def main() -> None:
    registry = ModelRegistry(Settings(cache_dir=Path(".cache/careline").resolve()))
    for language in ("en", "multilingual"):
        started = time.perf_counter()
        asr = registry.asr("en" if language == "en" else "de")  # any non-English language -> multilingual
        load_s = time.perf_counter() - started
        print(f"\n== {asr.name} (loaded in {load_s:.1f} s)")
        for name in ("jfk.flac", "hotwords.mp3"):
            audio = load(AUDIO / name)
            duration = len(audio) / 16000
            asr.transcribe(audio[:16000], language="en")  # warm-up
            times, text = [], ""
            for _ in range(3):
                t0 = time.perf_counter()
                text = asr.transcribe(audio, language="en").text
                times.append(time.perf_counter() - t0)
            median = statistics.median(times)
            line = (
                f"{name}: {duration:.1f} s audio, median {median * 1000:.0f} ms, RTF {median / duration:.3f}"
            )
            if name in REFERENCES:
                line += f", WER {wer(REFERENCES[name], text) * 100:.1f} %"
            print(line)
            print(f"   transcript: {text}")


if __name__ == "__main__":
    main()
