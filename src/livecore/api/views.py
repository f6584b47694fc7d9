"""The read-only endpoints: status, portfolios, health, metrics. Open to anyone
who reaches the port (they change nothing)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from livecore import ops as actions
from livecore.api.actions import PortfolioId
from livecore.api.errors import BACKEND_ERRORS, ApiError, json_response, without_passwords
from livecore.api.metrics import MetricsExporter
from livecore.health import read_bus_health
from livecore.ops import Ops
from livecore.wire import names


def live_view(ops: Ops, portfolio_id: str) -> dict[str, Any] | None:
    """The full view its node last published (positions, open orders, P&L), or None."""
    raw = ops.coord.get(names.portfolio_view_key(portfolio_id))
    if raw is None:
        return None
    try:
        view = json.loads(raw)
    except ValueError:
        return None
    return view if isinstance(view, dict) else None


def _bus_check(ops: Ops) -> str:
    """ "ok", or what each process whose bus does not work says (broker down, ...)."""
    try:
        problems = [f"{b.process}: {b.reason or 'unhealthy'}" for b in read_bus_health(ops.coord) if not b.ok]
    except Exception as exc:
        return without_passwords(f"{type(exc).__name__}: {exc}")
    return "; ".join(problems) or "ok"


def read_router(ops: Ops, exporter: MetricsExporter) -> APIRouter:
    router = APIRouter()

    @router.get("/api/status", tags=["read"], summary="Nodes, portfolios, leader and migrations")
    def status() -> Response:
        return json_response(actions.status(ops))

    @router.get("/api/portfolios", tags=["read"], summary="Every registered portfolio")
    def portfolios() -> Response:
        return json_response(actions.list_portfolios(ops))

    @router.get("/api/portfolios/{portfolio_id}", tags=["read"], summary="One portfolio: registry, status, live view")
    def portfolio(portfolio_id: PortfolioId) -> Response:
        row = next((r for r in actions.list_portfolios(ops) if r.portfolio_id == portfolio_id), None)
        if row is None:
            raise ApiError(404, "not_found", f"no portfolio {portfolio_id!r} in the registry")
        report = actions.status(ops)
        state = next((p for p in report.portfolios if p.portfolio_id == portfolio_id), None)
        return json_response({"portfolio": row, "status": state, "view": live_view(ops, portfolio_id)})

    @router.get(
        "/api/health", tags=["read"], summary="200 if coordination and store answer and every bus works, else 503"
    )
    def health() -> Response:
        checks: dict[str, str] = {}
        for name, ping in (("coordination", ops.coord.ping), ("store", ops.store.ping)):
            try:
                ping()
                checks[name] = "ok"
            except BACKEND_ERRORS as exc:
                checks[name] = without_passwords(str(exc))
            except Exception as exc:  # a backend failing in an unforeseen way is still "down"
                checks[name] = without_passwords(f"{type(exc).__name__}: {exc}")
        if checks["coordination"] == "ok":
            checks["bus"] = _bus_check(ops)
        healthy = all(v == "ok" for v in checks.values())
        return json_response({"status": "ok" if healthy else "degraded", **checks}, 200 if healthy else 503)

    @router.get("/metrics", tags=["read"], summary="Prometheus text exposition")
    def metrics() -> Response:
        return Response(exporter.render(), media_type=exporter.CONTENT_TYPE)

    return router
