"""`careline`: the one console script. Sub-commands live with the package they belong to."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer
from pydantic import ValidationError

from careline.errors import ConfigError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Careline medical assistant service.")


def _mount(name: str, module: str, attribute: str, help_text: str) -> None:
    """Mount a package's Typer app; a package that fails to import must not break the other commands."""
    import importlib

    try:
        sub = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:  # pragma: no cover - shown to the operator
        sub = typer.Typer(help=f"{help_text} (unavailable: {exc})")
    app.add_typer(sub, name=name, help=help_text)


_mount("models", "models.cli", "app", "Prepare and check the packaged models.")
_mount("kb", "knowledge.cli", "app", "Ingest, query and manage the knowledge base.")
_mount("users", "clinical_api.cli", "users_app", "Manage clinical API accounts.")
_mount("demo", "clinical_api.cli", "demo_app", "Seed a realistic demo.")
_mount(
    "outreach", "clinical_api.outreach.cli", "app", "Proactive outreach: check-ins and appointment reminders."
)


@app.command()
def serve() -> None:
    """Start the clinical API and the assistant, and wait until both are ready."""
    from careline.launcher import serve_all

    serve_all()


@app.command("serve-clinical")
def serve_clinical() -> None:
    """Run only the clinical API server (the launcher starts it as a child process)."""
    from careline.launcher import run_clinical_api

    run_clinical_api()


@app.command("serve-assistant")
def serve_assistant() -> None:
    """Run only the assistant server (the launcher starts it as a child process)."""
    from careline.launcher import run_assistant

    run_assistant()


@app.command("settings")
def settings_table() -> None:
    """Print every setting with its environment variable, default and meaning (Markdown)."""
    from careline.settings_doc import settings_markdown_table

    typer.echo(settings_markdown_table())


def _one_line_errors(command: Callable[[], Any]) -> Any:
    """A wrong setting stops the start with one clear line, not a traceback wall."""
    try:
        return command()
    except ConfigError as exc:
        typer.echo(f"careline: configuration error: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "__".join(str(part) for part in first["loc"]).upper()
        typer.echo(
            f"careline: configuration error: CARELINE_{where}: {first['msg']}. "
            "Fix: correct the environment variable or careline.toml (see `careline settings`).",
            err=True,
        )
        sys.exit(2)


def main() -> None:
    _one_line_errors(lambda: app(standalone_mode=True))
