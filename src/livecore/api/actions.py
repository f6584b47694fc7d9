"""The mutating endpoints: each calls one ``livecore.ops`` action and maps its
outcome to HTTP.

- 200: the action was carried out; the body is the action's result struct;
- 404: unknown portfolio (not in the registry) or node (no heartbeat, no metrics);
- 409: the action cannot be done in the current state (``OpsError``), or the
  node / leader answered and refused (result ``ok`` false: the body carries it;
  a command the node refused unverified carries its ``reason`` instead);
- 422: bad path or body; 401/403: token (see ``auth``);
- 503: a backend does not answer or the server was started without a bus;
- 504: the node or the leader gave no answer in time (it may still act).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from livecore import ops as actions
from livecore.api.auth import BearerAuth
from livecore.api.errors import ApiError, json_response
from livecore.control.commands import AckTimeout
from livecore.errors import ConfigError
from livecore.ops import Ops, OpsError
from livecore.ops.context import CommandOutcome, CommandRefused
from livecore.ops.migrate import AUTO, MigrationTimeout
from livecore.wire import names

T = TypeVar("T")

ID_MAX = 200
PortfolioId = Annotated[str, Path(min_length=1, max_length=ID_MAX, description="portfolio id")]
NodeId = Annotated[str, Path(min_length=1, max_length=ID_MAX, description="node id")]


class MigrateBody(BaseModel):
    """``to``: a node id, or ``"auto"`` to let placement pick (never the source)."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=ID_MAX, description=f"target node id, or {AUTO!r}")


def call(action: Callable[[], T]) -> T:
    """Run an ops action; its anticipated failures become ``ApiError``."""
    try:
        return action()
    except (AckTimeout, MigrationTimeout) as exc:
        raise ApiError(504, "timeout", str(exc)) from None
    except CommandRefused as exc:  # the node refused it unverified (e.g. this server's secret is wrong)
        raise ApiError(409, "refused", str(exc), extra={"reason": exc.reason, "node_id": exc.node_id}) from None
    except OpsError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except ConfigError as exc:  # e.g. the server has no bus to send commands on
        raise ApiError(503, "unavailable", str(exc)) from None


def answer(result: Any, ok: bool, refused: str) -> Response:
    """200 with ``result``, or 409 naming the refusal and carrying ``result``."""
    if ok:
        return json_response(result)
    return json_response(
        {"error": "refused", "message": refused, "result": msgspec.to_builtins(result)}, status_code=409
    )


def require_portfolio(ops: Ops, portfolio_id: str) -> None:
    if ops.store.registry.get(portfolio_id) is None:
        raise ApiError(404, "not_found", f"no portfolio {portfolio_id!r} in the registry")


def require_node(ops: Ops, node_id: str) -> None:
    """Known = it heartbeats or its metrics hash lives (a dead node's may linger)."""
    if ops.coord.get(names.heartbeat_key(node_id)) is None and not ops.coord.hgetall(names.metrics_key(node_id)):
        raise ApiError(404, "not_found", f"no node {node_id!r} is known (no heartbeat, no metrics)")


def action_router(ops: Ops, auth: BearerAuth) -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(auth)], tags=["actions"])

    @router.post("/portfolios/{portfolio_id}/reload", summary="Re-read the spec from the registry (books kept)")
    def reload(portfolio_id: PortfolioId) -> Response:
        require_portfolio(ops, portfolio_id)
        result = call(lambda: actions.reload(ops, portfolio_id))
        return answer(result, result.ok, f"node {result.node_id} refused the reload: {result.detail}")

    @router.post("/portfolios/{portfolio_id}/stop", summary="Mark stopped and unload it from its node")
    def stop(portfolio_id: PortfolioId) -> Response:
        require_portfolio(ops, portfolio_id)
        result = call(lambda: actions.stop_portfolio(ops, portfolio_id))
        unload = result.unload
        refused = "" if unload is None else f"node {unload.node_id} could not unload it: {unload.detail}"
        return answer(result, unload is None or unload.ok, refused)

    @router.post("/portfolios/{portfolio_id}/migrate", summary="Move it to another node (done by the leader)")
    def migrate(portfolio_id: PortfolioId, body: MigrateBody) -> Response:
        require_portfolio(ops, portfolio_id)
        if body.to != AUTO:
            require_node(ops, body.to)
        result = call(lambda: actions.migrate(ops, portfolio_id, body.to))
        return answer(result, result.ok, f"migration of {portfolio_id} failed: {result.detail}")

    def node_action(name: str, action: Callable[[Ops, str], CommandOutcome]) -> None:
        @router.post(f"/nodes/{{node_id}}/{name}", summary=f"node.{name}", name=f"node_{name}")
        def run(node_id: NodeId) -> Response:
            require_node(ops, node_id)
            result = call(lambda: action(ops, node_id))
            return answer(result, result.ok, f"node {node_id} refused {name}: {result.detail}")

    node_action("shutdown", actions.node_shutdown)
    node_action("pause", actions.node_pause)
    node_action("resume", actions.node_resume)
    return router
