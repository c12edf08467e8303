"""PostgreSQL: concurrent claims take disjoint jobs without waiting (FOR UPDATE SKIP LOCKED), and two
workers running at once send every due check-in exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from outreach_helpers import checkin_plan
from sqlalchemy import func, select

from clinical_api.outreach.queue import claim
from clinical_api.outreach.tables import OutreachJob, OutreachNotification

pytestmark = pytest.mark.postgres


def _plan_checkins(world, n: int) -> None:
    t0 = world.t0
    starts = [t0 - timedelta(minutes=i + 1) for i in range(n)]
    world.api.create("doctor-cardio", checkin_plan(world.api.ids["patient_a"], "cardiology", starts))
    assert world.worker().plan() == n


def test_open_claims_skip_each_others_rows(pg_world):
    _plan_checkins(pg_world, 40)
    now, lease = pg_world.clock(), pg_world.api.settings.outreach.lease_s
    with pg_world.factory() as first, pg_world.factory() as second:
        a = claim(first, "a", now, 25, lease)  # still uncommitted: its rows stay locked
        b = claim(second, "b", now, 25, lease)
        first.commit()
        second.commit()
    ids_a, ids_b = {c.job_id for c in a}, {c.job_id for c in b}
    assert len(ids_a) == 25 and len(ids_b) == 15 and not ids_a & ids_b


def test_two_workers_at_once_send_each_checkin_once(pg_world):
    _plan_checkins(pg_world, 60)
    workers = [pg_world.worker(name, batch_size=5) for name in ("w1", "w2")]
    results = {}

    def run(w):
        results[w.worker_id] = w.tick()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    sent = sum(r.outcomes.get("sent", 0) for r in results.values())
    assert sent == 60
    with pg_world.factory() as s:
        per_job = s.execute(
            select(OutreachNotification.job_id, func.count()).group_by(OutreachNotification.job_id)
        ).all()
        assert len(per_job) == 60 and {n for _, n in per_job} == {1}
        assert s.scalar(select(func.count()).where(OutreachJob.status == "awaiting")) == 60
