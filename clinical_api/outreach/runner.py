"""Drives a worker with APScheduler: an interval job claims and processes due jobs, another re-plans.

Why APScheduler only drives the ticks: APScheduler 3's SQLAlchemyJobStore persists its own job
definitions but does not stop two schedulers from running the same job, and one APScheduler job per
check-in would not scale to the bench's 10,000. So due work lives in ``outreach_jobs`` (claimed with
leases, see queue.py) and APScheduler supplies the timing, overlap protection (``max_instances=1``),
coalescing of missed ticks and clean start/stop, in the API process or a separate worker process.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from clinical_api.outreach.worker import OutreachWorker

log = logging.getLogger("clinical_api.outreach")


def _safe(name: str, fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except Exception:  # a failing tick is logged and the next one runs
            log.exception("outreach %s failed", name)

    return run


def configure(scheduler: BaseScheduler, worker: OutreachWorker) -> BaseScheduler:
    cfg = worker.cfg
    now = datetime.now(UTC)
    for name, fn, every in (
        ("plan", worker.plan, cfg.plan_interval_s),
        ("tick", worker.tick, cfg.poll_interval_s),
    ):
        scheduler.add_job(
            _safe(name, fn),
            IntervalTrigger(seconds=every),
            id=f"outreach-{name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=now,
        )
    return scheduler


class _WorkerScheduler(BackgroundScheduler):
    """Stops the worker's drain loop before waiting for the running tick, so shutdown is prompt."""

    def __init__(self, worker: OutreachWorker) -> None:
        super().__init__(timezone=UTC)
        self.worker = worker

    def shutdown(self, wait: bool = True) -> None:
        self.worker.stop()
        super().shutdown(wait)


def start_background(worker: OutreachWorker) -> BackgroundScheduler:
    """Start ticking in background threads (the clinical API's lifespan)."""
    scheduler = _WorkerScheduler(worker)
    configure(scheduler, worker)
    scheduler.start()
    return scheduler


def run_blocking(worker: OutreachWorker) -> None:
    """Tick in the foreground until interrupted (``careline outreach worker``)."""
    scheduler = BlockingScheduler(timezone=UTC)
    configure(scheduler, worker)

    def stop(*_: object) -> None:
        worker.stop()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def start_in_app(app: Any) -> BackgroundScheduler | None:
    """Start the scheduler inside the clinical API when ``outreach.enabled`` (its Task events go live)."""
    settings = app.state.settings
    if not settings.outreach.enabled:
        return None
    worker = OutreachWorker(settings, app.state.sessionmaker, publish=app.state.broker.publish)
    log.info("outreach scheduler started", extra={"worker": worker.worker_id})
    app.state.outreach_scheduler = start_background(worker)
    scheduler: BackgroundScheduler = app.state.outreach_scheduler
    return scheduler
