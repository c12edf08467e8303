"""The clinical API application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from careline.browser import install_browser_policy
from careline.settings import Settings
from clinical_api.audit import denied_recorder
from clinical_api.auth import create_user
from clinical_api.db import make_engine, make_sessionmaker, migrate
from clinical_api.errors import install_error_handlers
from clinical_api.events import TaskBroker
from clinical_api.imaging import router as imaging_router
from clinical_api.models import User
from clinical_api.observability import (
    BodyLimitMiddleware,
    Metrics,
    ObservabilityMiddleware,
    configure_logging,
)
from clinical_api.outreach import router as outreach_router
from clinical_api.outreach.runner import start_in_app
from clinical_api.routers import auth, events, fhir, health
from clinical_api.video import router as video_router

log = logging.getLogger("clinical_api")


def ensure_service_user(settings: Settings, factory: object) -> None:
    """Create the assistant's service account from settings if it does not exist yet."""
    from sqlalchemy.orm import Session, sessionmaker

    assert isinstance(factory, sessionmaker)
    session: Session
    with factory() as session:
        if session.scalar(select(User).where(User.username == settings.security.service_username)):
            return
        try:
            create_user(
                session,
                username=settings.security.service_username,
                password=settings.security.service_password.get_secret_value(),
                role="service",
            )
            session.commit()
        except (IntegrityError, ValueError):
            session.rollback()


def create_app(settings: Settings) -> FastAPI:
    """Migrate the database, then build the app (routers, middleware, error mapping, metrics)."""
    configure_logging(settings.log_level)
    url = settings.database_url
    migrate(url)
    engine = make_engine(url, echo=settings.database.echo)
    factory = make_sessionmaker(engine)
    ensure_service_user(settings, factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("clinical api started", extra={"backend": engine.dialect.name})
        outreach = start_in_app(_app)
        yield
        if outreach is not None:
            outreach.shutdown(wait=True)
        engine.dispose()

    app = FastAPI(
        title="Careline clinical API",
        version="0.1.0",
        description="FHIR R4 records, scheduling, escalations and follow-up data, with auth and audit.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.broker = TaskBroker()
    app.state.metrics = Metrics()
    app.state.audit_denied = denied_recorder(factory)

    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(events.router)
    app.include_router(fhir.router)
    app.include_router(outreach_router.router)
    app.include_router(video_router.router)
    app.include_router(imaging_router.router)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body=settings.server.max_body_bytes,
        max_upload=settings.server.max_upload_bytes,
    )
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    install_browser_policy(app, origins=settings.server.cors_origins)  # consoles: CORS, no-store
    return app


def run(settings: Settings) -> None:
    """Serve on settings.server.host:clinical_port (uvicorn handles graceful shutdown)."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.clinical_port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
