"""Command line: ``careline users create`` and ``careline demo seed`` (the lead mounts both apps)."""

from __future__ import annotations

from pathlib import Path

import typer

from careline.settings import Settings, get_settings
from clinical_api.auth import ROLES, create_user
from clinical_api.db import make_engine, make_sessionmaker, migrate

users_app = typer.Typer(help="Clinical API users")
demo_app = typer.Typer(help="Demo data for the clinical API")
app = typer.Typer(help="Clinical API")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")


def _settings(data_dir: Path | None, database_url: str | None) -> Settings:
    settings = get_settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    if database_url:
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": database_url})}
        )
    return settings


@users_app.command("create")
def users_create(
    role: str = typer.Option(..., help=f"One of: {', '.join(ROLES)}"),
    username: str = typer.Option(...),
    password: str = typer.Option(..., help="At least 8 characters"),
    department: str | None = typer.Option(None, help="Department (Organization id) of a nurse or doctor"),
    patient_id: str | None = typer.Option(None, help="Patient id of a patient user"),
    data_dir: Path | None = typer.Option(None, help="Overrides settings.data_dir"),
    database_url: str | None = typer.Option(None, help="Overrides settings.database.url"),
) -> None:
    """Create a user with an argon2-hashed password."""
    settings = _settings(data_dir, database_url)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            try:
                user = create_user(
                    session,
                    username=username,
                    password=password,
                    role=role,
                    department=department,
                    patient_id=patient_id,
                )
                session.commit()
            except ValueError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from exc
            except Exception as exc:
                typer.echo(f"error: could not create user ({type(exc).__name__})", err=True)
                raise typer.Exit(1) from exc
            typer.echo(f"created {user.role} {user.username} ({user.id})")
    finally:
        engine.dispose()


@demo_app.command("seed")
def demo_seed(
    days: int = typer.Option(14, help="Days of free slots"),
    password: str = typer.Option("careline-demo", help="Password of every demo user"),
    data_dir: Path | None = typer.Option(None),
    database_url: str | None = typer.Option(None),
) -> None:
    """Departments with nurses and doctors, patients with identifiers of two hospitals, slots, CarePlans."""
    from clinical_api.seed import seed

    settings = _settings(data_dir, database_url)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            report = seed(session, settings, days=days, password=password)
            session.commit()
    finally:
        engine.dispose()
    if not report.users:
        typer.echo("demo data already present")
        return
    typer.echo(f"seeded {len(report.patients)} patients, {report.slots} slots, users:")
    for username, _pw, role in report.users:
        typer.echo(f"  {role:8} {username}")
    typer.echo(f"password of every demo user: {password}")
