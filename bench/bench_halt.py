"""How fast the cluster kill switch takes hold on a running system.

A `LiveCore` on the embedded backends (2 nodes, the paper gateway, a
synthetic feed) with ``--portfolios`` portfolios that each add one unit on
every price (``Accumulate``). Per round, from the moment ``ops.halt`` is
called:

- acked: every node has answered the signed ``cluster.halt`` (``halt`` returns);
- gateway: the gateway has read the state (its next order answer would be a
  refusal): the first ``cluster_halted`` rejection or resting-order cancel is
  not needed, the desk's state is read directly;
- flat: with ``--flatten``, every position is zero in the gateway journal.

Then ``resume`` and a wait until positions grow again. Prints each round and
the median. Asserts nothing.

    .venv/bin/python bench/bench_halt.py [--rounds 5] [--portfolios 6] [--rate 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livecore.adapters.factory import open_store
from livecore.config import DeploymentSettings
from livecore.feed.synthetic import symbol_names
from livecore.gateway.journal_books import recompute_all
from livecore.livecore import LiveCore, LiveCoreConfig, SyntheticPlan
from livecore.ops.halt import halt, resume
from livecore.testing.servers import wait_until
from livecore.testing.strategies import spec_toml


def _held(db_url: str) -> Decimal:
    store = open_store(db_url)
    try:
        books = recompute_all(
            [e.order for e in store.journal.orders()], [e.feedback for e in store.journal.feedback()], Decimal(0)
        )
    finally:
        store.close()
    return sum((abs(q) for b in books.values() for q in b.positions.values()), Decimal(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--portfolios", type=int, default=6)
    parser.add_argument("--rate", type=float, default=400.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-halt-"))
    specs = folder / "specs"
    specs.mkdir()
    names = symbol_names(args.portfolios)
    for i in range(args.portfolios):
        symbols = [names[i], names[(i + 1) % args.portfolios]]
        (specs / f"acc{i}.toml").write_text(spec_toml(f"acc-{i}", symbols, "livecore.testing.strategies:Accumulate"))
    db_url = f"sqlite:///{folder / 'lc.db'}"
    settings = DeploymentSettings(bus_url=f"memory://{uuid.uuid4().hex}", coord_url=f"memory://{uuid.uuid4().hex}",
                        db_url=db_url, secret="s")  # fmt: skip
    config = LiveCoreConfig(
        nodes=2, feed=SyntheticPlan(symbols=args.portfolios, rate=args.rate), portfolio_files=(specs,)
    )
    acked, gateway, flat = [], [], []
    with LiveCore(settings, config) as core:
        assert core.gateway is not None
        desk = core.gateway._desk
        for n in range(args.rounds):
            wait_until(lambda: _held(db_url) > 0, 60, "positions")
            started = time.perf_counter()
            report = halt(core.ops, reason=f"bench {n}", flatten=True, by="bench")
            acked.append(time.perf_counter() - started)
            assert all(report.acks.values()), report.answers
            wait_until(lambda: desk is not None and desk.cluster_halt is not None, 30, "gateway halted", 0.001)
            gateway.append(time.perf_counter() - started)
            wait_until(lambda: _held(db_url) == 0, 60, "flat", 0.005)
            flat.append(time.perf_counter() - started)
            resume(core.ops, by="bench")
            print(f"round {n}: acked {acked[-1] * 1e3:.0f} ms, gateway {gateway[-1] * 1e3:.0f} ms, "
                  f"flat {flat[-1] * 1e3:.0f} ms")  # fmt: skip
    for label, values in (("acked", acked), ("gateway", gateway), ("flat", flat)):
        print(f"{label}: median {statistics.median(values) * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
