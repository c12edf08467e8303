"""Loads the versioned protocol data files and validates each against its JSON schema.

Every rule, question and patient-facing sentence lives in YAML under ``assistant/protocols``;
code here only finds, parses and validates it, so a malformed file fails loudly at load time
instead of silently changing a triage level.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

PROTOCOL_DIR = Path(__file__).resolve().parent.parent / "protocols"
SCHEMA_DIR = PROTOCOL_DIR / "schemas"
LANGS = ("en", "zh")


class ProtocolDataError(ValueError):
    """A protocol data file is missing, unparsable or does not match its schema."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON schema ``schemas/<name>.schema.json``."""
    path = SCHEMA_DIR / f"{name}.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if name != "condition":
        # Shared rule-condition grammar, referenced as "#/$defs/cond" by the schemas that need it.
        schema.setdefault("$defs", {}).update(load_schema("condition")["$defs"])
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def load_yaml(path: Path, schema: str) -> dict[str, Any]:
    """Parse ``path`` and validate it against ``schema``; raise ProtocolDataError on any problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProtocolDataError(path, f"cannot read YAML: {exc}") from exc
    validate(data, schema, path)
    if not isinstance(data, dict):
        raise ProtocolDataError(path, "top level must be a mapping")
    return data


def validate(data: Any, schema: str, path: Path) -> None:
    """Validate already-parsed data; the first error (by path) is reported."""
    validator = jsonschema.Draft202012Validator(load_schema(schema))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        raise ProtocolDataError(path, f"schema {schema}: at {where}: {err.message}")


def localized(texts: dict[str, str], lang: str) -> str:
    """Pick the text for ``lang``, falling back to English (every file must carry both)."""
    return texts.get(lang) or texts["en"]
