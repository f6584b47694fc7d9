"""The venue broker (``CcxtBroker``, real ccxt.pro) against the local venue
simulator (``livecore venue-sim``) on 127.0.0.1: NOT a real venue. The
network, the venue's matching and its rate limiter are the simulator's; the
figures measure livecore + ccxt + loopback HTTP/websockets.

* order round trip, per venue: ``submit`` -> the ``accepted`` report drained,
  and ``submit`` -> the ``filled`` report drained (a market order: the fill is
  booked by the broker, ready for the gateway to journal and publish), against
  a baseline measured in the same run: a bare ccxt ``create_order`` (sync
  client) of the same order on the same simulator; the first ``WARMUP``
  orders of each series are not counted;
* reconciliation at start: a journal of N filled orders (N = 1,000 and 10,000)
  whose trades the simulator holds; ``open`` -> the catch-up done (markets
  loaded, the journal's fills read, the venue's trades since the last one read
  and matched).

    .venv/bin/python bench/bench_venue.py [--orders 200] [--trades 1000,10000]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import ccxt

from livecore.adapters.factory import open_store
from livecore.testing.venue_gateway import CREDENTIALS, FAST, KEY, PASSWORD, SECRET, sim_settings
from livecore.venues.ccxt.broker import CcxtBroker
from livecore.venues.ccxt.config import VenueConfig
from livecore.venues.ccxt.profiles import PROFILES, build_client
from livecore.venues.sim.ccxt_config import binance_client, okx_client
from livecore.venues.sim.model import OrderType as SimOrderType
from livecore.venues.sim.model import Side as SimSide
from livecore.venues.sim.server import VenueSimServer
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, OrderType, Side

SYMBOL, QTY = "BTC/USDT", Decimal("0.001")
TIMEOUT = 30.0
WARMUP = 5  # orders sent first and not counted (connections, ccxt's first-call work)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def broker_for(
    sim: VenueSimServer, directory: Path, venue: str, name: str, *, scans: bool = False
) -> tuple[CcxtBroker, object]:
    """A broker on ``sim``; ``scans``: the tests' quick scans and snapshots (every 0.5 s)."""
    store = open_store(f"sqlite:///{directory / name}")
    # the broker's default intervals: a scan of open orders costs 40 of Binance's weight, which ccxt's rate
    # limiter makes every placement queued behind it wait for (2 s at 50 ms per unit): see docs/RESULTS.md
    fast = FAST if scans else {k: v for k, v in FAST.items() if not k.endswith("interval_s")}
    config = VenueConfig(**({"venue": venue, "sandbox": True, "venue_url": sim.url} | fast))
    profile = PROFILES[venue]
    broker = CcxtBroker(
        config,
        journal=store.journal,
        client_factory=lambda: build_client(profile, CREDENTIALS, sandbox=True, venue_url=sim.url),
    )
    return broker, store


def order(seq: int, side: Side = Side.BUY) -> NewOrder:
    return NewOrder(
        client_order_id=f"bench-1-{seq}",
        portfolio_id="bench",
        epoch=1,
        node_id="n1",
        symbol=SYMBOL,
        side=side,
        quantity=QTY,
        order_type=OrderType.MARKET,
        created_ns=time.time_ns(),
    )


def wait_for(broker: CcxtBroker, coid: str, status: FeedbackStatus, seen: list[OrderFeedback]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not any(r.client_order_id == coid and r.status is status for r in seen):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{coid} {status.value}")
        broker.wait_reports(0.5)
        seen.extend(r for r in broker.drain_reports() if isinstance(r, OrderFeedback))


def round_trips(venue: str, orders: int, directory: Path, scans: bool) -> dict[str, list[float]]:
    settings = sim_settings(venue=venue, balances={"BTC": Decimal(100), "USDT": Decimal(10**9)})
    with VenueSimServer(settings) as sim:
        bare = (
            binance_client(sim.port, KEY, SECRET) if venue == "binance" else okx_client(sim.port, KEY, SECRET, PASSWORD)
        )
        bare.load_markets()
        base: list[float] = []
        for i in range(WARMUP + orders):
            started = time.perf_counter()
            bare.create_order(SYMBOL, "market", "buy" if i % 2 == 0 else "sell", float(QTY))
            if i >= WARMUP:
                base.append(time.perf_counter() - started)
        broker, store = broker_for(sim, directory, venue, f"rt-{venue}-{scans}.db", scans=scans)
        broker.open()
        acks: list[float] = []
        fills: list[float] = []
        try:
            for i in range(WARMUP + orders):
                sent = order(i + 1, Side.BUY if i % 2 == 0 else Side.SELL)
                seen: list[OrderFeedback] = []
                started = time.perf_counter()
                broker.submit(sent, time.time_ns())
                wait_for(broker, sent.client_order_id, FeedbackStatus.ACCEPTED, seen)
                ack = time.perf_counter() - started
                wait_for(broker, sent.client_order_id, FeedbackStatus.FILLED, seen)
                if i >= WARMUP:
                    acks.append(ack)
                    fills.append(time.perf_counter() - started)
        finally:
            broker.close()
            store.close()  # type: ignore[attr-defined]
    return {"bare ccxt create_order": base, "submit -> accepted": acks, "submit -> filled": fills}


def reconciliation(count: int, directory: Path) -> float:
    """``open`` -> catch-up done, with ``count`` journaled fills the venue also holds."""
    settings = sim_settings(balances={"BTC": Decimal(10**6), "USDT": Decimal(10**12)})
    with VenueSimServer(settings) as sim:
        broker, store = broker_for(sim, directory, "binance", f"rec-{count}.db")
        journal = store.journal  # type: ignore[attr-defined]
        for i in range(count):
            sent = order(i + 1, Side.BUY if i % 2 == 0 else Side.SELL)
            placed, [trade] = sim.venue.place(
                symbol=SYMBOL,
                side=SimSide.BUY if sent.side is Side.BUY else SimSide.SELL,
                type=SimOrderType.MARKET,
                qty=QTY,
                client_id=sent.client_order_id,
            )
            now = time.time_ns()
            journal.record_order(sent, now)
            journal.record_feedback(
                OrderFeedback(
                    status=FeedbackStatus.FILLED,
                    client_order_id=sent.client_order_id,
                    portfolio_id="bench",
                    epoch=1,
                    symbol=SYMBOL,
                    side=sent.side,
                    venue_order_id=str(placed.order_id),
                    fill_id=f"binance:{SYMBOL}:{trade.trade_id}",
                    fill_qty=trade.qty,
                    fill_price=trade.price,
                    cumulative_qty=trade.qty,
                    commission=trade.commission,
                    commission_asset=trade.commission_asset,
                    ts_ns=trade.time_ms * 1_000_000,
                )
            )
        started = time.perf_counter()
        broker.open()
        try:
            if not broker.wait_caught_up(TIMEOUT):
                raise TimeoutError("catch-up")
            took = time.perf_counter() - started
            assert broker.stats.unknown_venue_orders == 0, "every venue trade is in the journal"
        finally:
            broker.close()
            store.close()  # type: ignore[attr-defined]
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--trades", default="1000,10000", help="journal sizes ('' for none)")
    parser.add_argument(
        "--scans", action="store_true", help="scan open orders and balances every 0.5 s (the tests' setting)"
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()}, ccxt {ccxt.__version__}; against the LOCAL SIMULATOR, not a venue")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        scans = "every 0.5 s" if args.scans else "the defaults: 30 s and 10 s"
        print(f"\norder round trip, {args.orders} market orders per venue (ms); scans and snapshots {scans}")
        print(f"{'venue':8} {'path':24} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'p50 / bare':>10}")
        for venue in ("binance", "okx"):
            figures = round_trips(venue, args.orders, directory, args.scans)
            bare = statistics.median(figures["bare ccxt create_order"])
            for path, values in figures.items():
                ms = [v * 1000 for v in values]
                ratio = statistics.median(values) / bare
                print(
                    f"{venue:8} {path:24} {pct(ms, 0.5):7.2f} {pct(ms, 0.9):7.2f} {pct(ms, 0.99):7.2f} "
                    f"{max(ms):7.2f} {ratio:10.2f}"
                )
        print("\nreconciliation at start (binance): open -> catch-up done")
        for count in (int(n) for n in args.trades.split(",") if n):
            print(f"{count:>6} journaled fills: {reconciliation(count, directory):6.2f} s")


if __name__ == "__main__":
    main()
