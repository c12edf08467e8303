"""Outreach wording and preparation data: validated at load, both languages, no wording in code."""

from __future__ import annotations

import pytest

from clinical_api.outreach import content
from clinical_api.outreach.preferences import Contact, quiet_until, valid_email, valid_phone


def test_every_message_renders_in_both_languages():
    for kind in ("checkin", "reminder"):
        en, zh = content.render(kind, "en", when="x"), content.render(kind, "zh", when="x")
        assert en.title and zh.title and en.title != zh.title
    assert content.render("checkin", "fr").title == content.render("checkin", "en").title


def test_preparation_comes_from_the_data_file():
    assert "4 hours" in content.preparation("contrast-ct", "en")
    assert "4小时" in content.preparation("contrast-ct", "zh")
    assert content.preparation("unknown-service", "en") == content.preparation("default", "en")


def test_a_malformed_data_file_fails_loudly(tmp_path):
    bad = tmp_path / "messages.yaml"
    bad.write_text('version: "1"\nmessages:\n  checkin:\n    en: {title: only}\n', encoding="utf-8")
    with pytest.raises(content.ContentError):
        content.load_data(bad)


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("+14155550100", True), ("+8613800138000", True), ("4155550100", False), ("+0123", False)],
)
def test_phone_numbers_must_be_e164(phone, ok):
    assert valid_phone(phone) is ok


def test_email_validation():
    assert valid_email("a.b@example.org")
    assert not valid_email("a@b") and not valid_email("no at sign") and not valid_email("a@b.c\n")


def test_quiet_hours_across_midnight_in_the_patients_zone():
    from datetime import datetime

    contact = Contact("p", ("phone",), "+14155550100", None, "zh", "Asia/Shanghai", "21:00", "08:00")
    # 14:00 UTC = 22:00 in Shanghai: quiet until 08:00 Shanghai = 00:00 UTC next day
    assert quiet_until(contact, datetime(2030, 1, 1, 14, 0)) == datetime(2030, 1, 2, 0, 0)
    assert quiet_until(contact, datetime(2030, 1, 1, 3, 0)) is None  # 11:00 in Shanghai


def test_the_cli_runs_one_pass_against_a_database(tmp_path):
    import json

    from typer.testing import CliRunner

    from clinical_api.outreach.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["run-once", "--data-dir", str(tmp_path), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"planned": 0, "claimed": 0, "outcomes": {}}
