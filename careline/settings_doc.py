"""Renders the settings table in the README straight from the settings classes, so the two never drift."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from careline.settings import Settings


def _default_text(value: object) -> str:
    if isinstance(value, SecretStr):
        return "(dev secret)" if value.get_secret_value() else '""'
    if value is None:
        return "(packaged/derived)"
    if value == "":
        return '""'
    return f"`{value}`"


def settings_rows() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, nested groups flattened."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            group_doc = (annotation.__doc__ or "").strip().splitlines()[0]
            for sub_name, sub_field in annotation.model_fields.items():
                env = f"CARELINE_{name.upper()}__{sub_name.upper()}"
                description = sub_field.description or group_doc
                rows.append((env, _default_text(sub_field.default), description))
        else:
            rows.append((f"CARELINE_{name.upper()}", _default_text(field.default), field.description or ""))
    return rows


def settings_markdown_table() -> str:
    lines = ["| variable | default | what it sets or swaps |", "| --- | --- | --- |"]
    lines += [f"| `{env}` | {default} | {description} |" for env, default, description in settings_rows()]
    return "\n".join(lines)
