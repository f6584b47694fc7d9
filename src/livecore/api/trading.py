"""A portfolio's trading record, read-only: its equity curve (recorded by its
nodes), where it ran at each epoch, and its orders and fills from the gateway
journal. Every list is limited and paged newest first: ``before`` in an
answer is the cursor of the next (older) page, null when there is none.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query
from fastapi.responses import Response

from livecore.api.actions import PortfolioId, require_portfolio
from livecore.api.errors import json_response
from livecore.api.views import live_view
from livecore.ops import Ops
from livecore.ports.store import EpochSpan, EquityPoint, JournalFeedback, OrderRecord

MAX_POINTS = 10_000
MAX_ROWS = 500

Cursor = Annotated[int | None, Query(ge=0, description="the previous page's `before`")]


class EquityAnswer(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    initial_cash: str | None  # the spec's, for the return; None if unknown
    points: list[EquityPoint]  # oldest first
    before_ns: int | None  # older points may exist: ask again with ``before_ns``


class OrdersAnswer(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    orders: list[OrderRecord]  # newest first
    before: int | None


class FillsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    fills: list[JournalFeedback]  # newest first
    before: int | None


class EpochsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    portfolio_id: str
    node_id: str | None  # where the scheduler placed it now
    epoch: int  # its current placement's epoch
    epochs: list[EpochSpan]  # from the equity history, oldest first


def initial_cash(ops: Ops, portfolio_id: str) -> str | None:
    """From the live view, else from the registered spec (read as TOML, not built)."""
    view = live_view(ops, portfolio_id)
    if view is not None and view.get("initial_cash") is not None:
        return str(view["initial_cash"])
    entry = ops.store.registry.get(portfolio_id)
    if entry is None:
        return None
    try:
        value: Any = tomllib.loads(entry.spec_toml).get("initial_cash")
    except tomllib.TOMLDecodeError:
        return None
    return None if value is None or isinstance(value, bool) else str(value)


def trading_router(ops: Ops) -> APIRouter:
    router = APIRouter(prefix="/api/portfolios/{portfolio_id}", tags=["read"])

    @router.get("/equity", summary="Its equity curve, oldest first (recorded with its snapshots)")
    def equity(
        portfolio_id: PortfolioId,
        limit: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 2000,
        before_ns: Annotated[int | None, Query(ge=0)] = None,
        after_ns: Annotated[int | None, Query(ge=0)] = None,
    ) -> Response:
        require_portfolio(ops, portfolio_id)
        points = ops.store.equity.points(portfolio_id, limit, before_ns=before_ns, after_ns=after_ns)
        older = points[0].ts_ns if len(points) == limit else None
        cash = initial_cash(ops, portfolio_id)
        return json_response(EquityAnswer(portfolio_id=portfolio_id, initial_cash=cash, points=points, before_ns=older))

    @router.get("/epochs", summary="Where it ran at each epoch, from its equity history")
    def epochs(portfolio_id: PortfolioId) -> Response:
        require_portfolio(ops, portfolio_id)
        entry = ops.store.registry.get(portfolio_id)
        spans = ops.store.equity.epochs(portfolio_id)
        return json_response(
            EpochsAnswer(
                portfolio_id=portfolio_id,
                node_id=entry.node_id if entry else None,
                epoch=entry.epoch if entry else 0,
                epochs=spans,
            )
        )

    @router.get("/orders", summary="Its journaled orders, newest first, with status and filled quantity")
    def orders(
        portfolio_id: PortfolioId,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 50,
        before: Cursor = None,
    ) -> Response:
        require_portfolio(ops, portfolio_id)
        page = ops.store.journal.orders_page(portfolio_id, limit, before)
        return json_response(OrdersAnswer(portfolio_id=portfolio_id, orders=page.items, before=page.before))

    @router.get("/fills", summary="Its journaled fills, newest first")
    def fills(
        portfolio_id: PortfolioId,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 50,
        before: Cursor = None,
    ) -> Response:
        require_portfolio(ops, portfolio_id)
        page = ops.store.journal.feedback_page(portfolio_id, limit, before, fills_only=True)
        return json_response(FillsAnswer(portfolio_id=portfolio_id, fills=page.items, before=page.before))

    return router
