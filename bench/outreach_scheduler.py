"""10,000 check-ins due over one simulated hour, two worker processes on PostgreSQL, one SIGKILLed.

Time is compressed (default: 1 simulated hour = 60 real seconds) with a clock shared by all processes.
Each worker process is the real thing: `OutreachWorker` driven by APScheduler (`runner.run_blocking`),
planning from CarePlans and delivering in-app notifications. Prints fired, fired twice (must be 0), lost
(must be 0), lateness (simulated seconds: p50/p95/max), and how many jobs were taken over after the kill.

    .venv/bin/python -m bench.outreach_scheduler [--jobs 10000] [--real-seconds 60] [--kill-after 20]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select

from careline.settings import DatabaseSettings, OutreachSettings, Settings
from clinical_api.auth import Principal
from clinical_api.context import Ctx
from clinical_api.db import make_engine, make_sessionmaker, migrate
from clinical_api.models import User
from clinical_api.outreach.clock import CompressedClock
from clinical_api.outreach.runner import run_blocking
from clinical_api.outreach.tables import OutreachAttempt, OutreachJob, OutreachNotification
from clinical_api.outreach.worker import OutreachWorker
from clinical_api.service import create
from clinical_api.util import new_id, utcnow

PG = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIM_HOUR_S = 3600
PER_PLAN = 20


def bench_settings(url: str, factor: float) -> Settings:
    """Outreach timings in simulated seconds; the poll interval is real (APScheduler runs in real time)."""
    outreach = OutreachSettings(
        poll_interval_s=0.25,
        plan_interval_s=5.0,
        batch_size=200,
        lease_s=int(3 * factor),  # 3 real seconds
        answer_wait_s=2 * SIM_HOUR_S,  # no second send inside the run
        default_channels=["app"],
    )
    return Settings(database=DatabaseSettings(url=url), outreach=outreach, log_level="WARNING")


def seed(url: str, jobs: int, sim_start: datetime) -> None:
    """Patients with app accounts and CarePlans whose check-ins are spread evenly over the hour."""
    settings = bench_settings(url, 60)
    factory = make_sessionmaker(make_engine(url))
    admin = Ctx(factory(), settings, Principal("bench", "bench", "admin"))
    doctor = Principal("bench", "bench", "doctor", department="cardiology")
    session = admin.session
    create_org = {"resourceType": "Organization", "id": "cardiology", "name": "Cardiology"}
    from clinical_api.service import update

    update(admin, "Organization", "cardiology", create_org, None)
    step = SIM_HOUR_S / jobs
    for p in range((jobs + PER_PLAN - 1) // PER_PLAN):
        patient = create(
            admin,
            "Patient",
            {"resourceType": "Patient", "managingOrganization": {"reference": "Organization/cardiology"}},
        )
        session.add(
            User(
                id=new_id(),
                username=f"bench-{patient['id']}",
                password_hash="-",
                role="patient",
                patient_id=patient["id"],
                active=True,
                created=utcnow(),
            )
        )
        activities = []
        for k in range(PER_PLAN):
            i = p * PER_PLAN + k
            if i >= jobs:
                break
            due = sim_start + timedelta(seconds=i * step)
            activities.append(
                {
                    "detail": {
                        "kind": "Task",
                        "code": {
                            "coding": [
                                {
                                    "system": "http://careline.example/fhir/CodeSystem/check-in",
                                    "code": "check-in",
                                }
                            ]
                        },
                        "status": "scheduled",
                        "scheduledPeriod": {
                            "start": due.isoformat(timespec="milliseconds") + "Z",
                            "end": (due + timedelta(hours=12)).isoformat(timespec="milliseconds") + "Z",
                        },
                    }
                }
            )
        create(
            Ctx(session, settings, doctor),
            "CarePlan",
            {
                "resourceType": "CarePlan",
                "status": "active",
                "intent": "plan",
                "subject": {"reference": f"Patient/{patient['id']}"},
                "author": {"reference": "Organization/cardiology"},
                "activity": activities,
            },
        )
    session.commit()
    session.close()


def worker_main(url: str, name: str, sim_start: str, real_start: float, factor: float) -> None:
    settings = bench_settings(url, factor)
    clock = CompressedClock(datetime.fromisoformat(sim_start), real_start, factor)
    worker = OutreachWorker(settings, make_sessionmaker(make_engine(url)), clock=clock, worker_id=name)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: still running" is expected here
    run_blocking(worker)


def spawn(
    url: str, name: str, sim_start: datetime, real_start: float, factor: float
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "bench.outreach_scheduler",
        "worker",
        url,
        name,
        sim_start.isoformat(),
        str(real_start),
        str(factor),
    ]
    return subprocess.Popen(
        cmd, cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def kill_while_holding(
    factory: Any, proc: subprocess.Popen[bytes], name: str, patience_s: float = 10.0
) -> int:
    """SIGKILL the worker at a moment it holds leased, unfinished jobs (so the crash path is exercised)."""
    held = 0
    deadline = time.time() + patience_s
    while time.time() < deadline:
        with factory() as s:
            held = s.scalar(
                select(func.count()).where(
                    OutreachJob.lease_owner == name, OutreachJob.lease_until.is_not(None)
                )
            )
        if held:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return int(held or 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument(
        "--real-seconds", type=float, default=60.0, help="Real duration of the simulated hour"
    )
    parser.add_argument(
        "--kill-after", type=float, default=20.0, help="Real seconds before worker w1 is SIGKILLed"
    )
    parser.add_argument(
        "--startup", type=float, default=15.0, help="Real seconds for workers to start and plan"
    )
    parser.add_argument("--grace", type=float, default=120.0, help="Real seconds allowed after the hour ends")
    args = parser.parse_args()
    factor = SIM_HOUR_S / args.real_seconds
    schema = f"bench_outreach_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        migrate(url)
        sim_start = utcnow().replace(microsecond=0) + timedelta(days=1)
        t = time.perf_counter()
        seed(url, args.jobs, sim_start)
        print(
            f"seeded {args.jobs} check-ins in {time.perf_counter() - t:.1f} s; 1 simulated hour = {args.real_seconds:.0f} s"
        )
        real_start = time.time() + args.startup  # workers start and plan before the first check-in is due
        procs = [spawn(url, name, sim_start, real_start, factor) for name in ("w1", "w2")]
        time.sleep(max(0.0, real_start + args.kill_after - time.time()))
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        held = kill_while_holding(factory, procs[0], "w1")
        killed_at = (time.time() - real_start) * factor / 60
        print(f"SIGKILLed worker w1 at simulated minute {killed_at:.1f}, holding {held} leased jobs")
        deadline = real_start + args.real_seconds + args.grace
        while time.time() < deadline:
            with factory() as s:
                fired = s.scalar(select(func.count(func.distinct(OutreachNotification.job_id)))) or 0
            if fired >= args.jobs and time.time() > real_start + args.real_seconds:
                break
            time.sleep(1.0)
        procs[1].send_signal(signal.SIGTERM)
        procs[1].wait(30)
        report(factory, args.jobs, factor)
        engine.dispose()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def report(factory: object, jobs: int, factor: float) -> None:
    from sqlalchemy.orm import Session, sessionmaker

    assert isinstance(factory, sessionmaker)
    s: Session
    with factory() as s:
        planned = s.scalar(select(func.count()).select_from(OutreachJob)) or 0
        per_job = dict(
            s.execute(
                select(OutreachNotification.job_id, func.count()).group_by(OutreachNotification.job_id)
            ).all()
        )
        rows = s.execute(
            select(
                OutreachJob.id,
                OutreachJob.due_at,
                OutreachJob.fired_at,
                OutreachJob.lease_expiries,
                OutreachJob.sends,
            )
        ).all()
        states = dict(s.execute(select(OutreachJob.status, func.count()).group_by(OutreachJob.status)).all())
        by_worker = dict(
            s.execute(
                select(OutreachAttempt.worker, func.count())
                .where(OutreachAttempt.outcome == "sent")
                .group_by(OutreachAttempt.worker)
            ).all()
        )
    fired = sum(1 for r in rows if per_job.get(r.id, 0) >= 1)
    twice = sum(1 for r in rows if per_job.get(r.id, 0) > 1 or r.sends > 1)
    lost = sum(1 for r in rows if per_job.get(r.id, 0) == 0)
    taken_over = sum(1 for r in rows if r.lease_expiries > 0)
    lateness = [(r.fired_at - r.due_at).total_seconds() for r in rows if r.fired_at is not None]
    print(f"planned jobs        {planned} (expected {jobs})")
    print(f"fired               {fired}")
    print(f"fired twice         {twice}")
    print(f"lost                {lost}")
    print(f"taken over after the kill (lease expired) {taken_over}")
    print(f"job states          {states}")
    print(f"sent per worker     {by_worker}")
    timed = sorted(
        (r.due_at, (r.fired_at - r.due_at).total_seconds()) for r in rows if r.fired_at is not None
    )
    if timed:
        tenth = max(1, len(timed) // 10)
        p95s = [
            percentile([late for _, late in timed[i : i + tenth]], 0.95) for i in range(0, len(timed), tenth)
        ]
        print("p95 lateness per tenth of the hour (simulated s): " + " ".join(f"{v:.0f}" for v in p95s[:10]))
    if lateness:
        p50, p95, worst = statistics.median(lateness), percentile(lateness, 0.95), max(lateness)
        print(
            f"lateness (simulated s) p50 {p50:.1f}  p95 {p95:.1f}  max {worst:.1f}"
            f"  | real s: p50 {p50 / factor:.2f}  p95 {p95 / factor:.2f}  max {worst / factor:.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]))
    else:
        main()
