"""``create_app``: the FastAPI application over one set of operator ports.

Everything it needs is passed in (``Ops`` and ``ApiConfig``); nothing is
global, so tests and ``livecore run`` can build as many apps as they like. The
one thread an app owns, the nodes' health sampler, runs between the app's
startup and shutdown (its lifespan).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from livecore import __version__
from livecore.api.actions import action_router
from livecore.api.auth import BearerAuth
from livecore.api.config import ApiConfig
from livecore.api.errors import install_error_handlers
from livecore.api.events import events_router
from livecore.api.guard import install_guard
from livecore.api.halt import halt_router
from livecore.api.history import HistorySampler, NodeHistory
from livecore.api.metrics import LivecoreCollector, MetricsExporter
from livecore.api.trading import trading_router
from livecore.api.views import read_router
from livecore.notify import NO_NOTICES, NoticeSink
from livecore.ops import Ops

STATIC_DIR = Path(__file__).parent / "static"


def create_app(ops: Ops, config: ApiConfig | None = None, notices: NoticeSink = NO_NOTICES) -> FastAPI:
    """REST API under ``/api``, Prometheus text at ``/metrics``, the dashboard at ``/``;
    ``notices``: where a cluster halt pressed here is announced."""
    config = config or ApiConfig()
    history = NodeHistory(samples=config.history_samples)
    sampler = HistorySampler(coord=ops.coord, history=history, interval_s=config.history_interval_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sampler.start()
        try:
            yield
        finally:
            sampler.stop()

    app = FastAPI(
        title="livecore",
        version=__version__,
        description="Operator API of a livecore cluster: status, portfolio and node actions, metrics.",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: useless offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.history_sampler = sampler  # tests sample by hand
    install_error_handlers(app)
    auth = BearerAuth(config.token)
    install_guard(app, auth=auth, max_body_bytes=config.max_body_bytes)  # token and size before any body is read
    exporter = MetricsExporter(LivecoreCollector(ops.coord, ops.store))
    app.include_router(read_router(ops, exporter))
    app.include_router(trading_router(ops))
    app.include_router(
        events_router(ops, history, interval_s=config.history_interval_s, samples=config.history_samples)
    )
    app.include_router(action_router(ops, auth))  # checked again by each route: defence in depth
    app.include_router(halt_router(ops, auth, notices))

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
