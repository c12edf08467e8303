"""Fixtures: one live clinical API (SQLite) with the shared test world, plus consult helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import LiveServer
from video_helpers import Api, book, join_token, open_room, world, ws_url

from careline.settings import ImagingSettings
from clinical_api.app import create_app
from clinical_api.auth import create_user
from clinical_api.db import make_engine, make_sessionmaker

PASSWORD = world.PASSWORD


@pytest.fixture(scope="session")
def video_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A live clinical API with the test world and an oncology doctor (someone to invite)."""
    tmp = tmp_path_factory.mktemp("video")
    db = world.make_database("sqlite", tmp)
    # DICOM from "HOSPA" files under the world's hospital-A identifiers (the shared-panel test uploads a CT)
    settings = world.make_settings(tmp, db.url).model_copy(
        update={"imaging": ImagingSettings(issuer_systems={"HOSPA": "urn:hospital:a"})}
    )
    app = create_app(settings)
    try:
        with LiveServer(app) as server:
            api = Api(url=server.url, settings=settings, backend=db.backend)
            world.build_world(api)
            factory = make_sessionmaker(make_engine(settings.database_url))
            with factory() as s:
                create_user(
                    s,
                    username="doctor-onco",
                    password=PASSWORD,
                    role="doctor",
                    department="oncology",
                    practitioner_id="prac-onco-1",
                )
                s.commit()
            factory.kw["bind"].dispose()
            api.tokens["doctor-onco"] = api.login("doctor-onco")
            yield api
    finally:
        app.state.engine.dispose()


@pytest.fixture
def consult(video_api: Any) -> Any:
    """Helpers bound to the live API: book(), open_room(), join_token(), ws_url()."""

    class C:
        api = video_api

        @staticmethod
        def book(start_in_s: int = 120, minutes: int = 30, patient: str = "patient_a") -> str:
            return book(video_api, start_in_s, minutes, patient)

        @staticmethod
        def room(start_in_s: int = 120) -> dict[str, Any]:
            return open_room(video_api, book(video_api, start_in_s))

        @staticmethod
        def token(room: str, who: str, user: str | None = None) -> dict[str, Any]:
            return join_token(video_api, room, who, user)

        @staticmethod
        def ws_url(room: str) -> str:
            return ws_url(video_api, room)

    return C
