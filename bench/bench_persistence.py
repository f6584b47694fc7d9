"""Persistence per fill: what a node writes to the store for each fill, after 10,000
and after 100,000 fills of one portfolio, on SQLite and PostgreSQL.

A node saves a portfolio snapshot after every batch of order feedback it
applied, before it commits the feedback offsets. At a fill a second an order's
``accepted`` and ``filled`` reports arrive in two batches: two snapshots per
fill, the node's worst case, which is what this bench writes (``--saves-per-fill
1`` for reports that arrive together).

One portfolio (``ma_crossover`` 2/4 on two symbols, a random walk, market
orders filled at once) is driven through the domain; in a window of
``--window`` fills before each mark its snapshots are saved with
``store.snapshots.save`` exactly as the node saves them. Measured per fill in
the window: the snapshot bytes handed to the store, and the bytes the database
wrote: on SQLite this process's ``write()`` bytes (``/proc/self/io`` wchar: the
WAL frames and checkpoints), on PostgreSQL the WAL the server generated
(``pg_current_wal_insert_lsn``: the whole server, so other sessions' writes
count too: an upper bound on a shared machine).

Baseline, in the same run and on the same events: the previous layout (schema
1: plain JSON, a tail of 1,000 closed orders and a window of the last 10,000
fill ids), from a second portfolio with that tail, saved the same way.

    .venv/bin/python bench/bench_persistence.py [--backends sqlite,postgres] [--marks 10000,100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import msgspec
import sqlalchemy as sa

from livecore.adapters.sql_store import SqlStore
from livecore.domain import Portfolio, parse_spec
from livecore.domain.snapshot import decode_state, state_json
from livecore.testing.servers import postgres_database
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Tick

PID = "persist-01"
SYMBOLS = ("SYM0001", "SYM0002")
SPEC = f"""
id = "{PID}"
initial_cash = 10000000
symbols = ["{SYMBOLS[0]}", "{SYMBOLS[1]}"]
[strategy]
class = "ma_crossover"
params = {{ fast = 2, slow = 4 }}
[sizer]
class = "fixed"
params = {{ quantity = 10, lot_size = 1 }}
"""
PREVIOUS_CLOSED, PREVIOUS_FILL_IDS = 1_000, 10_000  # the previous layout's defaults
NS = 1_000_000_000
LOW, HIGH = Decimal("50.00"), Decimal("200.00")


@dataclass
class Window:
    """What was written for the fills of one window."""

    fills: int = 0
    saves: int = 0
    payload: int = 0  # snapshot bytes handed to the store
    written: int = 0  # bytes the database wrote
    seconds: float = 0.0
    sizes: list[int] = field(default_factory=list)


class Meter:
    """Bytes a database wrote: this process's write() bytes (SQLite), the server's WAL (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        pg = url.startswith("postgresql")
        self._engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg2")) if pg else None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def read(self) -> int:
        if self._engine is None:
            with open("/proc/self/io") as io:
                return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))
        with self._engine.connect() as conn:
            lsn = conn.execute(sa.text("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")).scalar_one()
        return int(lsn)


class Driver:
    """The portfolio (and the previous layout's twin) on one random walk."""

    def __init__(self, seed: int) -> None:
        spec = parse_spec(SPEC, source="bench")
        previous = parse_spec(SPEC + f"[settings]\nclosed_order_window = {PREVIOUS_CLOSED}\n", source="bench")
        self.current = Portfolio.create(spec, 1, "node-1")
        self.previous = Portfolio.create(previous, 1, "node-1")
        self.fill_ids: deque[str] = deque(maxlen=PREVIOUS_FILL_IDS)
        self.fills = 0
        self._rng = random.Random(seed)
        self._prices = {symbol: Decimal(100) for symbol in SYMBOLS}
        self._i = 0

    def next_reports(self) -> list[OrderFeedback]:
        """One tick; the reports (accepted, filled) of each order it caused."""
        self._i += 1
        symbol = self._rng.choice(SYMBOLS)
        # an additive walk in cents kept within [50, 200]: a multiplicative one quantized
        # to cents drifts down to 0.00 over ~100,000 steps and then never trades again
        step = Decimal(self._rng.randint(-100, 100)) / 100
        price = self._prices[symbol] + step
        if not LOW <= price <= HIGH:
            price = self._prices[symbol] - step
        self._prices[symbol] = price
        tick = Tick(symbol=symbol, ts_ns=self._i * NS, price=price)
        self.current.on_market(tick)
        self.previous.on_market(tick)
        self.previous.drain_outbox()
        reports = []
        for order in self.current.drain_outbox():
            if isinstance(order, NewOrder):
                reports += self._reports(order, price)
        return reports

    def _reports(self, order: NewOrder, price: Decimal) -> list[OrderFeedback]:
        common = {"client_order_id": order.client_order_id, "portfolio_id": PID, "epoch": order.epoch}
        fill_id = f"{order.client_order_id}-f1"
        self.fill_ids.append(fill_id)
        self.fills += 1
        return [
            OrderFeedback(status=FeedbackStatus.ACCEPTED, symbol=order.symbol, ts_ns=self._i * NS, **common),
            OrderFeedback(
                status=FeedbackStatus.FILLED, symbol=order.symbol, side=order.side, fill_id=fill_id,
                fill_qty=order.quantity, fill_price=price, cumulative_qty=order.quantity,
                commission=Decimal("0.1"), ts_ns=self._i * NS, **common,
            ),
        ]  # fmt: skip

    def apply(self, report: OrderFeedback) -> None:
        self.current.on_feedback(report)
        self.previous.on_feedback(report)

    def previous_snapshot(self) -> bytes:
        """The twin's state in the previous layout: plain JSON with the fill-id window."""
        state = msgspec.json.decode(state_json(self.previous.snapshot()))
        state.update(schema=1, fill_ids=list(self.fill_ids))
        return msgspec.json.encode(state)


def save(store: SqlStore, meter: Meter, pid: str, data: bytes, window: Window) -> None:
    before, start = meter.read(), time.perf_counter()
    store.snapshots.save(pid, 1, data, time.time_ns())
    window.seconds += time.perf_counter() - start
    window.written += meter.read() - before
    window.saves += 1
    window.payload += len(data)
    window.sizes.append(len(data))


def run_backend(url: str, marks: list[int], window_fills: int, saves_per_fill: int) -> dict[int, tuple[Window, Window]]:
    store = SqlStore(url)
    meter = Meter(url)
    driver = Driver(seed=7)
    results: dict[int, tuple[Window, Window]] = {}
    for mark in marks:
        start = max(driver.fills, mark - window_fills)
        while driver.fills < start:  # not measured: the domain alone
            for report in driver.next_reports():
                driver.apply(report)
        now, before = Window(), Window()
        while driver.fills < mark:
            reports = driver.next_reports()
            for i, report in enumerate(reports):
                driver.apply(report)
                if saves_per_fill == 2 or i % 2 == 1:  # each report its own batch, or both in one
                    save(store, meter, PID, driver.current.snapshot(), now)
                    save(store, meter, PID + "-previous", driver.previous_snapshot(), before)
            now.fills += len(reports) // 2
            before.fills += len(reports) // 2
        check(store, driver)
        results[mark] = (now, before)
    meter.close()
    store.close()
    return results


def check(store: SqlStore, driver: Driver) -> None:
    """The saved snapshot restores the portfolio's books exactly."""
    stored = store.snapshots.latest(PID)
    assert stored is not None
    state = decode_state(stored.data)
    assert state.books == driver.current.books, "the saved snapshot does not restore the books"


@contextmanager
def backend(name: str, workdir: Path) -> Iterator[str]:
    if name == "sqlite":
        yield f"sqlite:///{workdir / 'persist.db'}"
    elif name == "postgres":
        with postgres_database() as url:
            yield url
    else:
        raise SystemExit(f"unknown backend {name!r} (sqlite, postgres)")


def report(name: str, results: dict[int, tuple[Window, Window]], say: Callable[[str], None]) -> None:
    say(f"\n{name}")
    say(f"{'fills':>8} {'layout':>9} {'saves/fill':>10} {'snapshot B':>10} {'payload B/fill':>14} "
        f"{'db B/fill':>10} {'ms/save':>8}")  # fmt: skip
    for mark, windows in results.items():
        for label, w in zip(("schema 2", "previous"), windows, strict=True):
            say(
                f"{mark:>8,} {label:>9} {w.saves / w.fills:>10.2f} {w.sizes[-1]:>10,} {w.payload / w.fills:>14,.0f} "
                f"{w.written / w.fills:>10,.0f} {1000 * w.seconds / w.saves:>8.2f}"
            )
        ratio = windows[1].written / max(windows[0].written, 1)
        say(f"{'':>8} db bytes per fill: previous / schema 2 = {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--marks", default="10000,100000", help="fill counts at which to measure")
    parser.add_argument("--window", type=int, default=500, help="fills measured before each mark")
    parser.add_argument("--saves-per-fill", type=int, choices=(1, 2), default=2)
    args = parser.parse_args()
    marks = sorted(int(m) for m in args.marks.split(","))
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average {os.getloadavg()[0]:.2f}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, window {args.window} fills, "
        f"{args.saves_per_fill} saves per fill"
    )
    with tempfile.TemporaryDirectory(prefix="bench-persist-") as tmp:
        for name in args.backends.split(","):
            with backend(name.strip(), Path(tmp)) as url:
                start = time.perf_counter()
                results = run_backend(url, marks, args.window, args.saves_per_fill)
                report(name.strip(), results, print)
                print(f"{'':>8} ({time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
