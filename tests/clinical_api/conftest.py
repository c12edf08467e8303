"""Fixtures of the clinical API tests: a live server on SQLite, then PostgreSQL, with the test world."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from clinical_world import (  # noqa: F401  (re-exported for older imports)
    MAX_BODY,
    PASSWORD,
    PG_ADMIN_URL,
    Api,
    Database,
    appointment,
    build_world,
    make_database,
    make_settings,
    make_slots,
    patient_body,
    pg_is_available,
    pg_schema_url,
)
from live_server import LiveServer

from clinical_api.app import create_app


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[Api]:
    """A live clinical API on SQLite, then on PostgreSQL, with a small world of users and patients."""
    if request.param == "postgres" and not pg_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 not reachable")
    tmp = tmp_path_factory.mktemp(f"clinical-{request.param}")
    db = make_database(request.param, tmp)
    settings = make_settings(tmp, db.url)
    app = create_app(settings)
    try:
        with LiveServer(app) as server:
            api = Api(url=server.url, settings=settings, backend=db.backend)
            build_world(api)
            yield api
    finally:
        app.state.engine.dispose()
        if db.cleanup:
            db.cleanup()


@pytest.fixture
def helpers() -> Any:
    """Module-level helpers, reachable from test files without importing conftest."""

    class H:
        make_slots = staticmethod(make_slots)
        appointment = staticmethod(appointment)
        patient_body = staticmethod(patient_body)
        make_settings = staticmethod(make_settings)
        LiveServer = LiveServer

    return H
