"""Real livecore processes on real servers, for the end-to-end tests
(failover, chaos) and ``bench/bench_failover.py``.

Every process is ``python -m livecore.cli.app ...`` in a session of its own
(so a kill reaches its whole process group), with its output in a log file
that ``Cluster.logs()`` prints when something goes wrong. ``Cluster.close()``
kills whatever is still alive; use the cluster as a context manager.

Also here: portfolio specs that trade often on synthetic ticks, and a small
reader of the gateway journal (the source of truth every check is made against).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from livecore.config import DeploymentSettings
from livecore.ports.store import JournalOrder, Store
from livecore.testing.processes import Proc, livecore_argv, spawn
from livecore.wire.messages import FILL_STATUSES, FeedbackStatus, OrderFeedback, OrderType

SECRET = "e2e-secret"
FINAL_STATUSES = frozenset({FeedbackStatus.FILLED, FeedbackStatus.REJECTED, FeedbackStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class Backends:
    """The global options every process of one cluster shares."""

    bus_url: str
    coord_url: str
    db_url: str
    prefix: str
    secret: str = SECRET

    def settings(self) -> DeploymentSettings:
        """The same, for operator actions called in-process (``livecore.ops``)."""
        return DeploymentSettings(
            bus_url=self.bus_url, coord_url=self.coord_url, db_url=self.db_url,
            secret=self.secret, topic_prefix=self.prefix,
        )  # fmt: skip

    def global_args(self) -> list[str]:
        return [
            "--bus", self.bus_url, "--coord", self.coord_url, "--db", self.db_url,
            "--secret", self.secret, "--topic-prefix", self.prefix,
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Timings:
    """Heartbeat and scheduler settings of the cluster (the DESIGN target's conditions)."""

    heartbeat_interval: float = 1.0
    heartbeat_ttl: float = 3.0
    scheduler_tick: float = 0.2
    lease_ttl: float = 2.0
    session_poll: float | None = None  # the scheduler's --session-poll (None: its default)


class Cluster:
    """Starts livecore processes against one set of backends and cleans them up."""

    def __init__(self, backends: Backends, workdir: Path, timings: Timings | None = None) -> None:
        self.backends = backends
        self.workdir = workdir
        self.timings = timings or Timings()
        self.procs: dict[str, Proc] = {}  # the latest process of each name
        self._spawned: list[Proc] = []  # every process ever started, for close()
        self._generation: dict[str, int] = {}

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- processes --------------------------------------------------------------------

    def spawn(self, name: str, args: Sequence[str]) -> Proc:
        """Start ``livecore <global options> <args>``; a name used before gets a new log."""
        generation = self._generation.get(name, 0) + 1
        self._generation[name] = generation
        argv = livecore_argv(self.backends.global_args(), args)
        proc = spawn(name, argv, self.workdir, log_name=f"{name}.{generation}")
        self.procs[name] = proc
        self._spawned.append(proc)
        return proc

    def node(self, node_id: str) -> Proc:
        t = self.timings
        return self.spawn(
            node_id,
            ["node", "--id", node_id, "--heartbeat-interval", f"{t.heartbeat_interval:g}",
             "--heartbeat-ttl", f"{t.heartbeat_ttl:g}", "--status-every", "0"],
        )  # fmt: skip

    def scheduler(self) -> Proc:
        t = self.timings
        poll = [] if t.session_poll is None else ["--session-poll", f"{t.session_poll:g}"]
        return self.spawn(
            "scheduler",
            ["scheduler", "--id", "sched-e2e", "--tick", f"{t.scheduler_tick:g}",
             "--lease-ttl", f"{t.lease_ttl:g}", *poll, "--verbose"],
        )  # fmt: skip

    def gateway(self) -> Proc:
        # a group of this cluster's own: the broker may be shared with other clusters
        return self.spawn("gateway", ["gateway", "--group", f"{self.backends.prefix}trade_gateway"])

    def feed(self, symbols: int, rate: float, seed: int) -> Proc:
        return self.spawn(
            "feed", ["feed", "synthetic", "--symbols", str(symbols), "--rate", f"{rate:g}", "--seed", str(seed)]
        )

    def cli(self, args: Sequence[str], timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        """Run an operator command to completion (``livecore portfolio ...``, ``status``); the
        generous timeout is for a loaded machine, where starting the CLI alone has taken a minute."""
        argv = livecore_argv(self.backends.global_args(), args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.workdir)

    def close(self) -> None:
        """Kill every process still alive (the test's finally)."""
        for proc in self._spawned:
            proc.kill()

    def logs(self, lines: int = 60) -> str:
        """The tail of every log this cluster wrote, for a failure message."""
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"----- {path.name} (last {len(text)} lines) -----\n" + "\n".join(text))
        return "\n".join(parts)


# --- portfolio specs -------------------------------------------------------------------


def symbol(n: int) -> str:
    """The synthetic feed's symbol names: SYM0001, SYM0002, ..."""
    return f"SYM{n:04d}"


def spec_toml(index: int, symbols: int, quantity: int = 10, probe: int | None = None) -> str:
    """Portfolio ``index`` (0-based) trades two neighbouring symbols with a fast built-in
    strategy (tiny windows: a signal every few ticks) and a fixed-quantity sizer; with
    ``probe``, with ``livecore.testing.strategies:Probe`` (an order on its first price
    after every start, then one every ``probe`` prices)."""
    pid = portfolio_id(index)
    first, second = symbol(index % symbols + 1), symbol((index + 1) % symbols + 1)
    if probe is not None:
        strategy = f'class = "livecore.testing.strategies:Probe"\nparams = {{ every = {probe} }}'
    elif index % 2 == 0:
        strategy = 'class = "ma_crossover"\nparams = { fast = 2, slow = 4 }'
    else:
        strategy = 'class = "breakout"\nparams = { lookback = 4, exit_lookback = 2 }'
    return (
        f'id = "{pid}"\nname = "e2e {pid}"\ncurrency = "USD"\ninitial_cash = 100000\n'
        f'symbols = ["{first}", "{second}"]\n\n[strategy]\n{strategy}\n\n'
        f'[sizer]\nclass = "fixed"\nparams = {{ quantity = {quantity}, lot_size = 1 }}\n'
    )


def portfolio_id(index: int) -> str:
    return f"e2e-{index + 1:02d}"


def write_specs(directory: Path, count: int, symbols: int, probe: int | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"{portfolio_id(index)}.toml"
        path.write_text(spec_toml(index, symbols, probe=probe))
        paths.append(path)
    return paths


# --- the journal ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortfolioJournal:
    """One portfolio's journaled orders (receive order) and outcomes (write order)."""

    orders: list[JournalOrder]
    feedback: list[OrderFeedback]
    seqs: list[int]

    def orders_at(self, epoch: int, node_id: str | None = None) -> list[JournalOrder]:
        return [o for o in self.orders if o.order.epoch == epoch and (node_id is None or o.order.node_id == node_id)]

    def orders_after(self, epoch: int) -> list[JournalOrder]:
        return [o for o in self.orders if o.order.epoch > epoch]

    def fills(self) -> list[tuple[int, OrderFeedback]]:
        return [(seq, fb) for seq, fb in zip(self.seqs, self.feedback, strict=True) if fb.status in FILL_STATUSES]

    def open_market_orders(self) -> list[str]:
        """Accepted market orders without a final outcome yet."""
        done = {fb.client_order_id for fb in self.feedback if fb.status in FINAL_STATUSES}
        return [
            o.order.client_order_id
            for o in self.orders
            if o.order.order_type is OrderType.MARKET and o.order.client_order_id not in done
        ]


def read_journal(store: Store, portfolio_id: str) -> PortfolioJournal:
    feedback = store.journal.feedback(portfolio_id)
    return PortfolioJournal(
        store.journal.orders(portfolio_id), [f.feedback for f in feedback], [f.seq for f in feedback]
    )
