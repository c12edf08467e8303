"""200 concurrent booking attempts on 20 slots, on SQLite and PostgreSQL, against a live server.

Prints booked count and double bookings (must be 20 and 0).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter

import httpx
from sqlalchemy import func, select

from bench.clinical_api_common import live_server, pg_available, setup_world
from clinical_api.db import make_engine
from clinical_api.models import Appointment

ATTEMPTS = 200
SLOTS = 20


async def race(url: str, world: dict[str, object]) -> tuple[Counter[int], float]:
    slots = list(world["slots"])  # type: ignore[call-overload]
    targets = [slots[i % SLOTS] for i in range(ATTEMPTS)]
    random.shuffle(targets)
    headers = {"Authorization": f"Bearer {world['nurse']}"}
    limits = httpx.Limits(max_connections=ATTEMPTS)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as client:

        async def book(slot: str) -> int:
            body = {
                "resourceType": "Appointment",
                "status": "booked",
                "slot": [{"reference": f"Slot/{slot}"}],
                "participant": [
                    {"actor": {"reference": f"Patient/{world['patient']}"}, "status": "accepted"}
                ],
            }
            r = await client.post(
                "/fhir/Appointment", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            return r.status_code

        start = time.perf_counter()
        codes = await asyncio.gather(*(book(s) for s in targets))
        return Counter(codes), time.perf_counter() - start


def main() -> None:
    backends = ["sqlite"] + (["postgres"] if pg_available() else [])
    for backend in backends:
        with live_server(backend) as (url, settings):
            world = setup_world(url, settings, SLOTS)
            codes, elapsed = asyncio.run(race(url, world))
            engine = make_engine(settings.database_url)
            with engine.connect() as conn:
                per_slot = conn.execute(
                    select(Appointment.slot_id, func.count())
                    .where(Appointment.active_slot_id.is_not(None))
                    .group_by(Appointment.slot_id)
                ).all()
            engine.dispose()
            booked = sum(n for _, n in per_slot)
            double = sum(n - 1 for _, n in per_slot if n > 1)
            print(
                f"{backend:8} attempts={ATTEMPTS} slots={SLOTS} booked={booked} double_bookings={double} "
                f"http={dict(sorted(codes.items()))} elapsed={elapsed:.2f}s"
            )
            if booked != SLOTS or double:
                raise SystemExit(f"{backend}: booking race failed")
    if "postgres" not in backends:
        print("postgres  skipped (127.0.0.1:5432 not reachable)")


if __name__ == "__main__":
    main()
