"""Serving a simulated venue: in-process on a thread (tests) or in the foreground
(``livecore venue-sim``).

``build_app`` puts the venue's REST and websocket routes, the ``/_sim``
control API and the fault middleware in one ASGI app; ``VenueSimServer``
serves it with uvicorn on a free port (or the one given) and is a context
manager: ``with VenueSimServer(VenueSettings()) as sim: sim.venue.set_price(...)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from fastapi import FastAPI
from starlette.responses import Response
from starlette.routing import BaseRoute

from livecore.api.server import ApiServer
from livecore.errors import ConfigError
from livecore.venues.sim import binance_rest, binance_wire
from livecore.venues.sim.binance_ws import BinanceStreams
from livecore.venues.sim.control import control_routes
from livecore.venues.sim.middleware import FaultMiddleware, quiet_lost_responses
from livecore.venues.sim.okx_rest import OkxRest, rate_limited_response
from livecore.venues.sim.okx_ws import OkxStreams
from livecore.venues.sim.venue import Venue, VenueSettings

DEFAULT_HOST = "127.0.0.1"


def _venue_routes(venue: Venue) -> tuple[list[BaseRoute], Callable[[int, bool], Response]]:
    """The venue's own routes and its rate-limit answer."""
    if venue.settings.venue == "binance":
        routes: list[BaseRoute] = [*binance_rest.BinanceRest(venue).routes(), *BinanceStreams(venue).routes()]
        return routes, lambda retry_after, banned: binance_rest.error_response(
            binance_wire.rate_limited(retry_after, banned=banned, now_ms=venue.now_ms())
        )
    if venue.settings.venue == "okx":
        return [*OkxRest(venue).routes(), *OkxStreams(venue).routes()], rate_limited_response
    raise ConfigError(f"venue {venue.settings.venue!r} is not simulated")


def build_app(venue: Venue) -> FastAPI:
    """One ASGI app: the venue's API, the control API, the armed faults."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    routes, rate_limited = _venue_routes(venue)
    app.router.routes.extend([*routes, *control_routes(venue)])
    app.add_middleware(FaultMiddleware, faults=venue.faults, rate_limited=rate_limited)
    quiet_lost_responses()
    return app


class VenueSimServer:
    """A simulated venue served by uvicorn (``port=0``: a free port)."""

    def __init__(
        self,
        settings: VenueSettings | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        log_level: str = "warning",
    ) -> None:
        self.venue = Venue(settings or VenueSettings(), clock=clock)
        self._server = ApiServer(build_app(self.venue), host, port, log_level=log_level)
        self.host = host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        """``http://host:port``, the base of the REST and control APIs."""
        return self._server.url

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def listen(self) -> str:
        """Bind now (the port is known before serving); returns the URL."""
        return self._server.listen()

    def start(self) -> VenueSimServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread until SIGINT/SIGTERM."""
        self._server.serve_forever()

    def __enter__(self) -> VenueSimServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
