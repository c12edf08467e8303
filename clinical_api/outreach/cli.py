"""``careline outreach``: run an outreach worker process, or plan and process once."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from clinical_api.cli import _settings
from clinical_api.db import make_engine, make_sessionmaker, migrate
from clinical_api.outreach.runner import run_blocking
from clinical_api.outreach.worker import OutreachWorker

app = typer.Typer(help="Proactive outreach: check-ins and appointment reminders")


def _worker(data_dir: Path | None, database_url: str | None, worker_id: str | None) -> OutreachWorker:
    settings = _settings(data_dir, database_url)
    migrate(settings.database_url)
    factory = make_sessionmaker(make_engine(settings.database_url))
    return OutreachWorker(settings, factory, worker_id=worker_id)


@app.command("worker")
def worker(
    data_dir: Path | None = typer.Option(None, help="Overrides settings.data_dir"),
    database_url: str | None = typer.Option(None, help="Overrides settings.database.url"),
    worker_id: str | None = typer.Option(None, help="Name in leases (default: host-pid)"),
) -> None:
    """Plan and send due outreach until stopped; run as many as you like against one database."""
    w = _worker(data_dir, database_url, worker_id)
    typer.echo(f"outreach worker {w.worker_id} polling every {w.cfg.poll_interval_s}s")
    run_blocking(w)


@app.command("run-once")
def run_once(
    data_dir: Path | None = typer.Option(None, help="Overrides settings.data_dir"),
    database_url: str | None = typer.Option(None, help="Overrides settings.database.url"),
) -> None:
    """Plan, process what is due now, print what happened."""
    w = _worker(data_dir, database_url, None)
    planned = w.plan()
    stats = w.tick()
    typer.echo(json.dumps({"planned": planned, "claimed": stats.claimed, "outcomes": stats.outcomes}))
