"""Outreach wording and appointment preparation text, from YAML data files validated at load.

The clinical API does not load the knowledge base (no embedding model at request time): preparation
instructions are curated per service type in ``data/preparation.yaml``; a worker may pass an extra lookup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DATA_DIR = Path(__file__).parent / "data"
LANGS = ("en", "zh")


class ContentError(ValueError):
    """A wording file is missing, unparsable or does not match the schema."""


def load_data(path: Path) -> dict[str, Any]:
    """Parse and validate one outreach data file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot read: {exc}") from exc
    schema = json.loads((DATA_DIR / "outreach.schema.json").read_text(encoding="utf-8"))
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise ContentError(f"{path}: {exc.message}") from exc
    return dict(data)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    email: str


@cache
def _messages() -> dict[str, Any]:
    return load_data(DATA_DIR / "messages.yaml")["messages"]


@cache
def _preparation() -> dict[str, Any]:
    return load_data(DATA_DIR / "preparation.yaml")["services"]


def language(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


def render(kind: str, lang: str | None, **values: str) -> Message:
    """The message of `kind` in `lang` with placeholders filled (unknown placeholders stay empty)."""
    texts = _messages()[kind][language(lang)]
    fill = _Blank(values)
    return Message(
        title=texts["title"].format_map(fill),
        body=texts["body"].format_map(fill).strip(),
        email=texts["email"].format_map(fill),
    )


def preparation(service_type: str | None, lang: str | None) -> str:
    services = _preparation()
    entry = services.get(service_type or "") or services["default"]
    return str(entry[language(lang)])


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
