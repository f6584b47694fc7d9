"""What `livecore run` tells its user: the live headline (uptime, counts, the
replay's data time and pass), a note when it resumes an earlier run's state,
and the final report (status, books check, each portfolio's results with the
backtest's statistics), as tables or as one JSON document (``--json``)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import msgspec
from rich.console import Console, RenderableType

from livecore.adapters.factory import open_store
from livecore.backtest.records import EquityPoint
from livecore.backtest.stats import Stats, iso
from livecore.cli.backtest import stats_table
from livecore.cli.books import detail_lines
from livecore.cli.status import emit_json, renderables
from livecore.config import DeploymentSettings
from livecore.livecore import LiveCore
from livecore.ops.books import MISMATCH, BooksCheck, check_snapshots
from livecore.ops.results import run_results
from livecore.ops.status import StatusReport


class EquitySampler:
    """Each portfolio's equity as the live view saw it, once per refresh (the
    results' curve when the run is not an event-time replay)."""

    def __init__(self) -> None:
        self.points: dict[str, list[EquityPoint]] = {}

    def add(self, report: StatusReport, ts_ns: int | None = None) -> None:
        now = time.time_ns() if ts_ns is None else ts_ns
        for p in report.portfolios:
            if p.equity is None:
                continue  # not reported yet
            equity = Decimal(p.equity)
            held = sum((Decimal(r.market_value) for r in p.positions.values() if r.market_value), Decimal(0))
            point = EquityPoint(
                portfolio_id=p.portfolio_id, ts_ns=now, equity=equity, cash=equity - held, positions_value=held
            )
            self.points.setdefault(p.portfolio_id, []).append(point)


def headline(core: LiveCore) -> str:
    uptime = 0.0 if core.started_at is None else time.monotonic() - core.started_at
    feed = core.feed
    published = 0 if feed is None else feed.published
    stats = core.gateway.stats if core.gateway is not None else None
    orders = 0 if stats is None else stats.orders
    events = sum(node.total_event_count for node in core.nodes)
    where = core.replay_position
    data = ""
    if where.data_ts_ns is not None:
        data = f" | data {iso(where.data_ts_ns)}" + (f" (pass {where.pass_number})" if where.pass_number > 1 else "")
    return (
        f"[bold]livecore[/] up {uptime:.0f}s | feed {published} events{data} | "
        f"nodes saw {events} events | gateway {orders} orders"
    )


def earlier_state(settings: DeploymentSettings, fresh_hint: str) -> str | None:
    """A note when the database holds an earlier run (its portfolios resume from
    their snapshots at the next epoch), saying how to start from scratch."""
    store = open_store(settings.db_url)
    try:
        registered = store.registry.list()
        orders = len(store.journal.orders()) if registered else 0
    finally:
        store.close()
    if not registered:
        return None
    return (
        f"resuming the state of an earlier run in {settings.db_url}: {len(registered)} portfolio(s), "
        f"{orders} order(s) journaled; each portfolio continues from its last snapshot at the next epoch "
        f"({fresh_hint})"
    )


class FinalReport(msgspec.Struct, frozen=True, kw_only=True):
    """``livecore run --json``: the whole final report as one document."""

    headline: dict[str, Any]
    status: StatusReport
    books: list[BooksCheck]
    results: list[Stats]
    replay_finished: bool


def final_report(
    core: LiveCore, status: StatusReport, settings: DeploymentSettings, samples: EquitySampler
) -> FinalReport:
    store = open_store(settings.db_url)
    try:
        checks = check_snapshots(store)
        events = core.replay_data.events if core.replay_data is not None and core.event_time else None
        stats = run_results(store, events=events, samples=samples.points)
    finally:
        store.close()
    feed = core.feed
    gateway = core.gateway
    where = core.replay_position
    head = {
        "published": 0 if feed is None else feed.published,
        "node_events": sum(node.total_event_count for node in core.nodes),
        "gateway_orders": 0 if gateway is None else gateway.stats.orders,
        "data_time": None if where.data_ts_ns is None else iso(where.data_ts_ns),
        "pass": where.pass_number,
    }
    return FinalReport(
        headline=head,
        status=status,
        books=checks,
        results=stats,
        replay_finished=core.replay_finished.is_set(),
    )


def books_lines(checks: list[BooksCheck]) -> list[str]:
    good = sum(1 for c in checks if c.matches)
    lines = [f"books vs gateway journal: {good}/{len(checks)} portfolios equal (cash and positions, exact)"]
    in_flight = sum(c.in_flight_fills for c in checks)
    if in_flight:
        lines.append(f"  {in_flight} fill(s) were in flight at stop: applied from the journal, as the next load does")
    return lines + [f"  {line}" for line in detail_lines([c for c in checks if c.status == MISMATCH])]


def show(report: FinalReport, core: LiveCore, console: Console, as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    parts: list[RenderableType] = [headline(core), *renderables(report.status, console.width)]
    for part in parts:
        console.print(part, highlight=False)
    for line in books_lines(report.books):
        console.print(line, highlight=False)
    if report.results:
        console.print("\nresults (the backtest's statistics; docs/BACKTEST.md):", highlight=False)
        for stats in report.results:
            console.print(stats_table(stats), highlight=False)


def has_mismatch(report: FinalReport) -> bool:
    return any(c.status == MISMATCH for c in report.books)
