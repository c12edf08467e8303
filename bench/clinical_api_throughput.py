"""Read and write throughput and p50/p99 latency on loopback, SQLite and PostgreSQL.

Load generator: `CONCURRENCY` asyncio workers, each sending requests back to back until `REQUESTS` are
done (bounded count; reads: GET Observation by id; writes: POST Observation). Every request is audited
by the server, so a read is also one small write.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.clinical_api_common import live_server, percentile, pg_available, setup_world

REQUESTS = 400
CONCURRENCY = 32


def observation(patient: str, i: int) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2025-01-01T08:00:00Z",
        "valueQuantity": {"value": 100 + i % 60, "unit": "mm[Hg]"},
    }


async def load(url: str, token: str, make_request: object) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(REQUESTS))
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    ) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t0 = time.perf_counter()
                r = await make_request(client, i)  # type: ignore[operator]
                latencies.append(time.perf_counter() - t0)
                if r.status_code >= 400:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return latencies, errors, time.perf_counter() - start


def make_scenarios(patient: str) -> list[tuple[str, object]]:
    """Write, read-by-id and search requests; reads use the ids the writes created."""
    ids: list[str] = []

    async def write(client: httpx.AsyncClient, i: int) -> httpx.Response:
        r = await client.post("/fhir/Observation", json=observation(patient, i))
        if r.status_code == 201:
            ids.append(r.json()["id"])
        return r

    async def read(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(f"/fhir/Observation/{ids[i % len(ids)]}")

    async def search(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get("/fhir/Observation", params={"patient": patient, "_count": 20})

    return [("write", write), ("read", read), ("search", search)]


def main() -> None:
    backends = ["sqlite"] + (["postgres"] if pg_available() else [])
    for backend in backends:
        with live_server(backend) as (url, settings):
            world = setup_world(url, settings, 0)
            patient, token = str(world["patient"]), str(world["nurse"])
            scenarios = make_scenarios(patient)
            for name, fn in scenarios:
                lat, errors, elapsed = asyncio.run(load(url, token, fn))
                print(
                    f"{backend:8} {name:6} n={len(lat)} conc={CONCURRENCY} {len(lat) / elapsed:7.1f} req/s "
                    f"p50={percentile(lat, 0.5) * 1000:6.1f}ms p99={percentile(lat, 0.99) * 1000:7.1f}ms "
                    f"errors={errors}"
                )
    if "postgres" not in backends:
        print("postgres  skipped (127.0.0.1:5432 not reachable)")


if __name__ == "__main__":
    main()
