"""Smoke runs of both evaluation benches, as the documented `python -m bench.<name>` commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_triage_cases_cover_levels_complaints_and_chinese() -> None:
    cases = yaml.safe_load((ROOT / "bench" / "data" / "triage_cases.yaml").read_text())["cases"]
    assert len(cases) >= 60
    assert {c["level"] for c in cases} == {
        "emergency_ambulance",
        "emergency",
        "consultation_24",
        "consultation",
        "self_care",
    }
    assert sum(c["lang"] == "zh" for c in cases) >= 15


def test_triage_eval_smoke() -> None:
    out = _run("bench.triage_eval", "--limit", "8")
    assert out.returncode == 0, out.stderr
    assert "exact-level accuracy" in out.stdout
    assert "under-triage of emergencies 0 of" in out.stdout


def test_preconsult_eval_smoke() -> None:
    out = _run("bench.preconsult_eval", "--limit", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "recall" in out.stdout and "Hammoud" in out.stdout
    assert "never said by the patient: 0" in out.stdout
