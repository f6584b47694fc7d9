"""What per-record isolation costs on the hot paths, against the code before it
in the same run.

Rows:

- ``node route``: ``MarketDataLoop.route`` on E encoded ticks in batches of
  B (200 portfolios, 2,000 symbols, stub processors that only count), for the
  loop as it is and for the loop of ``--baseline`` (default: the last commit
  before per-record isolation, loaded from git), on clean batches and on batches where 1 % of the records do not
  decode (both dead-letter those) or raise while decoding (only the isolated
  loop survives those: the baseline loses the rest of the batch, so it is not
  run on them).
- ``guard``: the fixed cost of ``RecordGuard.run`` around a no-op, per record,
  against a direct call (the gateway orders loop pays it once per order).

In-process only; no broker, no database; log records are formatted and
written to /dev/null as in production. Best of ``--repeat`` rounds, the two
versions taking turns in each round. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_isolation.py [--events 200000] [--batch 1000] [--repeat 5] [--baseline REF]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from livecore.faults import RetryPolicy  # noqa: E402
from livecore.isolation import RecordGuard  # noqa: E402
from livecore.node.interest import InterestMap  # noqa: E402
from livecore.node.market import MarketDataLoop  # noqa: E402
from livecore.ports.bus import Record  # noqa: E402
from livecore.wire import codec  # noqa: E402
from livecore.wire.messages import Tick  # noqa: E402

PORTFOLIOS, SYMBOLS = 200, 2000
BEFORE_ISOLATION = "7d34ef5"  # the last commit whose market loop failed whole batches


class CountingProcessor:
    def __init__(self) -> None:
        self.events = 0

    def offer_market(self, slots: list[Any]) -> int:
        self.events += len(slots)
        return 0


class CountingLetters:
    def __init__(self) -> None:
        self.count = 0

    def send(self, record: Record, reason: str) -> None:
        self.count += 1


class RaisingDecoder:
    """The real decoder, raising ``LookupError`` (no decode refusal) on payloads marked ``RAISE``."""

    def __init__(self, real: Any) -> None:
        self._real, self.name = real, real.name
        self.refused, self.checked = real.refused, real.checked

    @property
    def unwrapped(self) -> Any:
        return self.decode

    def decode(self, payload: bytes) -> Any:
        if payload.startswith(b"RAISE"):
            raise LookupError("poison")
        return self._real.decode(payload)


def baseline_class(ref: str) -> type[MarketDataLoop]:
    """``MarketDataLoop`` as committed at ``ref``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:src/livecore/node/market.py"], check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_market.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("baseline_market", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MarketDataLoop  # type: ignore[no-any-return]


def records(events: int, poison: bytes | None) -> list[Record]:
    now = time.time_ns()
    out = []
    for i in range(events):
        if poison is not None and i % 100 == 50:
            value = poison
        else:
            symbol = f"SYM{i % SYMBOLS:04d}"
            value = codec.encode(Tick(symbol=symbol, ts_ns=now, price=Decimal("100.25"), size=Decimal(3)))
        out.append(Record("market.data", i % 8, i, None, value, 0))
    return out


def make_loop(cls: type[MarketDataLoop]) -> tuple[MarketDataLoop, dict[str, CountingProcessor]]:
    interest = InterestMap()
    processors: dict[str, CountingProcessor] = {}
    for p in range(PORTFOLIOS):
        pid = f"p{p}"
        interest.set(pid, [f"SYM{s:04d}" for s in range(p, SYMBOLS, PORTFOLIOS)])
        processors[pid] = CountingProcessor()
    args = (lambda: None, lambda: True, 1000, 0.1, interest, processors, CountingLetters(), lambda: None, None)
    return cls(*args), processors  # type: ignore[arg-type]


def time_routes(classes: list[type[MarketDataLoop]], batches: list[list[Record]], repeat: int) -> list[float]:
    """Best time of each class; the classes take turns in every round, so a load
    change on a shared machine hits them alike."""
    best = [float("inf")] * len(classes)
    for _ in range(repeat):
        for i, cls in enumerate(classes):
            loop, _ = make_loop(cls)
            start = time.perf_counter()
            for batch in batches:
                loop.route(batch)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def time_calls(call: Callable[[], None], n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default=BEFORE_ISOLATION)
    args = parser.parse_args()
    # dead letters and failures are logged as in production, to /dev/null (the cost stays in the figures)
    logging.basicConfig(level=logging.WARNING, stream=open(os.devnull, "w"))  # noqa: SIM115
    old = baseline_class(args.baseline)

    def batches(poison: bytes | None) -> list[list[Record]]:
        recs = records(args.events, poison)
        return [recs[i : i + args.batch] for i in range(0, len(recs), args.batch)]

    clean, undecodable, raising = batches(None), batches(b"not json"), batches(b"RAISE")
    clean_old, clean_new = time_routes([old, MarketDataLoop], clean, args.repeat)
    bad_old, bad_new = time_routes([old, MarketDataLoop], undecodable, args.repeat)
    rows: list[tuple[str, float]] = [
        (f"node route, clean, {args.baseline}", clean_old),
        ("node route, clean, isolated", clean_new),
        (f"node route, 1% undecodable, {args.baseline}", bad_old),
        ("node route, 1% undecodable, isolated", bad_new),
    ]
    real = codec.market_events
    codec.market_events = RaisingDecoder(real)  # type: ignore[assignment]
    try:
        rows.append(("node route, 1% raising, isolated", time_routes([MarketDataLoop], raising, args.repeat)[0]))
    finally:
        codec.market_events = real
    print(f"{'row':45} {'events/s':>12} {'ratio':>7}")
    base = rows[0][1]
    for name, seconds in rows:
        print(f"{name:45} {args.events / seconds:12,.0f} {base / seconds:7.2f}")

    n = 200_000
    guard = RecordGuard(label="b", policy=RetryPolicy(), probe=lambda: True, wait=lambda s: False)
    noop = partial(int, 0)
    direct = time_calls(noop, n, args.repeat)
    guarded = time_calls(lambda: guard.run(noop, print, "r"), n, args.repeat)  # type: ignore[func-returns-value]
    print(f"{'guard: direct call':45} {direct / n * 1e6:9.3f} us/record")
    print(f"{'guard: RecordGuard.run':45} {guarded / n * 1e6:9.3f} us/record")


if __name__ == "__main__":
    main()
