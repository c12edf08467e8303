"""The `imaging` fixture: a live clinical API with the test world and DICOMweb clients (see imaging_kit)."""

from __future__ import annotations

from collections.abc import Iterator

import clinical_world as world
import pytest
from imaging_kit import ISSUERS, MAX_INSTANCE, Imaging
from live_server import LiveServer

from careline.settings import ImagingSettings
from clinical_api.app import create_app


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def imaging(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[Imaging]:
    """A live clinical API (issuers HOSPA/HOSPB mapped to the world's hospital identifier systems)."""
    if request.param == "postgres" and not pg_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 not reachable")
    tmp = tmp_path_factory.mktemp(f"imaging-{request.param}")
    db = world.make_database(request.param, tmp)
    settings = world.make_settings(tmp, db.url)
    settings = settings.model_copy(
        update={"imaging": ImagingSettings(issuer_systems=ISSUERS, max_instance_bytes=MAX_INSTANCE)}
    )
    app = create_app(settings)
    try:
        with LiveServer(app) as server:
            api = world.Api(url=server.url, settings=settings, backend=db.backend)
            world.build_world(api)
            yield Imaging(api)
    finally:
        app.state.engine.dispose()
        if db.cleanup:
            db.cleanup()
