"""Settings, the README table and the one-line configuration errors an operator sees."""

from __future__ import annotations

import os
import subprocess
import sys

from careline.paths import REPO_ROOT
from careline.settings import Settings
from careline.settings_doc import settings_markdown_table


def test_readme_lists_every_setting_as_the_code_defines_it() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_markdown_table() in readme, "run `careline settings` and paste the table into the README"


def test_environment_and_toml_are_read(tmp_path, monkeypatch) -> None:
    config = tmp_path / "careline.toml"
    config.write_text(
        '[llm]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n[server]\nclinical_port = 9101\n'
    )
    monkeypatch.setenv("CARELINE_CONFIG", str(config))
    monkeypatch.setenv("CARELINE_SERVER__CLINICAL_PORT", "9202")
    settings = Settings()
    assert settings.llm.backend == "openai"
    assert settings.server.clinical_port == 9202  # the environment wins over the file


def run_careline(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "careline", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        timeout=120,
    )


def test_unknown_backend_stops_with_one_line_naming_the_setting() -> None:
    result = run_careline("models", "check", "llm", CARELINE_LLM__BACKEND="banana")
    assert result.returncode == 2
    assert "CARELINE_LLM__BACKEND" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_llm_server_is_reported_with_the_fix() -> None:
    result = run_careline(
        "models",
        "check",
        "llm",
        CARELINE_LLM__BACKEND="openai",
        CARELINE_LLM__BASE_URL="http://127.0.0.1:9/v1",
    )
    assert result.returncode != 0
    assert "CARELINE_LLM__BASE_URL" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_unreachable_database_is_reported_with_the_fix() -> None:
    result = run_careline(
        "serve-clinical", CARELINE_DATABASE__URL="postgresql+psycopg://nobody@127.0.0.1:9/none"
    )
    assert result.returncode == 2
    assert "CARELINE_DATABASE__URL" in result.stderr
    assert "Traceback" not in result.stderr
