"""The room/token/end path on PostgreSQL, including concurrent room creation for one appointment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from video_helpers import Api, book, join_token, world, ws_url

from clinical_api.app import create_app
from clinical_api.video.peer import Participant

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        db = world.make_database("postgres", tmp_path_factory.mktemp("video-pg"))
    except Exception as exc:  # any connection failure means: no server here
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    settings = world.make_settings(tmp_path_factory.mktemp("video-pg-data"), db.url)
    app = create_app(settings)
    try:
        with LiveServer(app) as server:
            api = Api(url=server.url, settings=settings, backend=db.backend)
            world.build_world(api)
            yield api
    finally:
        app.state.engine.dispose()
        db.cleanup()


async def test_concurrent_room_creation_yields_one_room_and_a_consult_ends_on_postgres(pg_api: Any) -> None:
    appt = book(pg_api)

    async def open_once(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/video/rooms", json={"appointment": appt})

    headers = {"Authorization": f"Bearer {pg_api.tokens['doctor-cardio']}"}
    async with httpx.AsyncClient(base_url=pg_api.url, headers=headers, timeout=30) as client:
        answers = await asyncio.gather(*(open_once(client) for _ in range(8)))
    assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert [r.status_code for r in answers].count(201) == 1
    room = answers[0].json()["id"]
    doctor = join_token(pg_api, room, "doctor-cardio")["token"]
    patient = join_token(pg_api, room, "pat-a")["token"]
    async with (
        Participant(pg_api.url, room, doctor, send_media=False) as a,
        Participant(pg_api.url, room, patient) as b,
    ):
        await a.wait_for(lambda: a.media_from_all(3), 60)
        assert b.id in a.received
    with pg_api.client("doctor-cardio") as c:
        ended = c.post(f"/video/rooms/{room}/end").json()
        enc = c.get(f"/fhir/Encounter/{ended['encounter']}").json()
    assert enc["class"]["code"] == "VR" and len(enc["participant"]) == 2
    assert ws_url(pg_api, room).endswith(f"/video/rooms/{room}/signal")
