"""The data plane across node processes: events applied per second and read
amplification with 1, 2 (and 4) ``livecore node`` processes over one feed.

Each round starts its own Tansu broker, redis-server and PostgreSQL database
(``livecore.testing.servers``), a scheduler and N node processes
(``livecore node --max-tick-age 0``: under saturation nothing is skipped as
stale; a 1 s heartbeat with a 20 s TTL, so that a saturated node on a busy
machine is not failed over mid-run), and deploys P portfolios with an idle strategy
(``livecore.testing.strategies:Idle``: the cost of the data plane, not of a
strategy). Every symbol is traded by exactly one portfolio and each
portfolio's symbols lie in one partition of ``market.data`` (8 partitions), so
a node that reads only the partitions of its own portfolios has a read
amplification of 1 when placement gives each node whole partitions. The
scheduler starts once the nodes are up and everything is deployed, as after a
cluster restart: its passes place the portfolios as one batch (placement.py).

Once every portfolio is loaded, this process publishes pre-encoded ticks over
all symbols, round robin, as fast as one confluent-kafka producer goes (or at
``--rate``), each to its symbol's partition (``wire.partitioning``). After a
warm-up, each node's metrics hash (written every heartbeat, 1 s) is read twice,
``--seconds`` apart: events applied = routed to a portfolio - conflated away;
read amplification = records consumed / events routed, both over the window;
and each node process's CPU time over the window per event it applied.
``--compare-all`` runs the multi-node rounds again with ``--all-partitions``
(every node reads the whole feed: the behaviour before partition affinity).

``--backlog N`` measures the nodes alone: the node processes are stopped
(SIGSTOP, their sessions stay open: no failover), N ticks are published and
flushed, the nodes are resumed, and the window falls while they work the
backlog off, so no publisher competes with them for the cores (the broker still
serves their fetches). The round fails if the backlog ran out before the window
ended.

    .venv/bin/python bench/bench_cluster.py [--nodes 1,2,4] [--portfolios 200] [--symbols 2000]
        [--seconds 20] [--warmup 8] [--rate 0] [--backlog N] [--compare-all] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psutil
from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_coordination
from livecore.ports.coordination import Coordination
from livecore.testing.cluster import Backends, Cluster
from livecore.testing.processes import Proc
from livecore.testing.servers import postgres_database, redis_server, tansu_broker, tansu_bus_url, wait_until
from livecore.testing.strategies import spec_toml
from livecore.topology import DEFAULT_LAYOUT
from livecore.wire import names
from livecore.wire.codec import encode
from livecore.wire.messages import Tick
from livecore.wire.partitioning import market_partition

PARTITIONS = DEFAULT_LAYOUT.market_data
TIMEOUT = 180.0
# a saturated node on a shared 2-core machine can miss a 3 s TTL: this bench is about
# the data plane, not failover, so the nodes get a long one
HEARTBEAT_TTL_S = 20.0
BACKLOG_TTL_S = 300.0  # --backlog: the nodes stay stopped while the backlog is published
STRATEGY = "livecore.testing.strategies:Idle"


@dataclass(frozen=True)
class NodeFigures:
    node_id: str
    portfolios: int
    partitions: int
    applied_per_s: float
    read_amplification: float | None
    cpu_us_per_applied: float | None  # the node process's CPU time over the window per event applied


@dataclass(frozen=True)
class Round:
    nodes: int
    all_partitions: bool
    published_per_s: float
    applied_per_s: float
    per_node: list[NodeFigures]


def symbols_by_partition(count: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for n in range(1, count + 1):
        symbol = f"SYM{n:04d}"
        out.setdefault(market_partition(symbol, PARTITIONS), []).append(symbol)
    return out


def write_specs(directory: Path, portfolios: int, symbols: int) -> list[Path]:
    """Every symbol traded once; each portfolio's symbols in one partition."""
    directory.mkdir(parents=True, exist_ok=True)
    groups = symbols_by_partition(symbols)
    per_partition = max(1, portfolios // PARTITIONS)
    paths = []
    for _, listed in sorted(groups.items()):
        for k in range(per_partition):
            chunk = listed[k::per_partition]
            if not chunk:
                continue
            pid = f"bc-{uuid.uuid4().hex[:8]}"  # ids in no partition order
            path = directory / f"{pid}.toml"
            path.write_text(spec_toml(pid, chunk, STRATEGY))
            paths.append(path)
    return paths


class Publisher:
    """Pre-encoded ticks, round robin over the symbols, each to its partition."""

    def __init__(self, bootstrap: str, topic: str, symbols: list[str], rate: float) -> None:
        self._producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "log_level": 0})
        self._topic = topic
        now = time.time_ns()
        self._messages = [
            (encode(Tick(symbol=s, ts_ns=now, price=Decimal("100.25"), size=Decimal(1))), s.encode(),
             market_partition(s, PARTITIONS))
            for s in symbols
        ]  # fmt: skip
        self._rate = rate
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self._producer.flush(30)

    def publish(self, count: int) -> float:
        """``count`` ticks round robin, flushed; returns the rate they went at."""
        messages = self._messages
        started = time.monotonic()
        for i in range(count):
            self._produce(messages[i % len(messages)])
        self._producer.flush(120)
        self.published += count
        return count / (time.monotonic() - started)

    def _produce(self, message: tuple[bytes, bytes, int]) -> None:
        """One tick to its partition; while the client's queue is full, serve it first."""
        value, key, partition = message
        while True:
            try:
                self._producer.produce(self._topic, value, key, partition)
                return
            except BufferError:
                self._producer.poll(0.01)

    def _run(self) -> None:
        started = time.monotonic()
        i = 0
        while not self._stop.is_set():
            for message in self._messages:
                self._produce(message)
                i += 1
                if i % 1000 == 0:
                    self._producer.poll(0)
                    if self._rate > 0:
                        ahead = i / self._rate - (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(ahead)
                    if self._stop.is_set():
                        break
            self.published = i


def placement_log(cluster: Cluster) -> str:
    """How many scheduler passes placed the portfolios, and any failover (from its log)."""
    text = cluster.procs["scheduler"].text()
    passes = {line[:21] for line in text.splitlines() if "placed " in line}
    failovers = text.count("failover of")
    return f"{len(passes)} distinct second(s) of placements, {failovers} failover(s)"


def metrics(coord: Coordination, node_id: str) -> dict[str, str]:
    return coord.hgetall(names.metrics_key(node_id))


def cpu_seconds(proc: Proc) -> float:
    times = psutil.Process(proc.pid).cpu_times()
    return float(times.user + times.system)


def run_round(args: argparse.Namespace, nodes: int, all_partitions: bool, console: Console) -> Round:
    with contextlib.ExitStack() as stack:
        broker = stack.enter_context(tansu_broker())
        redis = stack.enter_context(redis_server())
        db_url = stack.enter_context(postgres_database())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cluster-")))
        prefix = f"bc{uuid.uuid4().hex[:6]}."
        backends = Backends(bus_url=tansu_bus_url(broker.url), coord_url=redis.url, db_url=db_url, prefix=prefix)
        cluster = stack.enter_context(Cluster(backends, workdir))
        coord = open_coordination(redis.url)
        stack.callback(coord.close)
        node_ids = [f"n{i}" for i in range(1, nodes + 1)]
        ttl = BACKLOG_TTL_S if args.backlog else HEARTBEAT_TTL_S
        for nid in node_ids:
            cluster.spawn(nid, ["node", "--id", nid, "--heartbeat-interval", "1",
                                "--heartbeat-ttl", f"{ttl:g}", "--status-every", "0",
                                "--max-tick-age", "0",
                                "--all-partitions" if all_partitions else "--own-partitions"])  # fmt: skip
        wait_until(lambda: all(coord.get(names.heartbeat_key(n)) for n in node_ids), TIMEOUT, "nodes up", 0.2)
        specs = write_specs(workdir / "specs", args.portfolios, args.symbols)
        deployed = cluster.cli(["portfolio", "deploy", *map(str, specs)])
        if deployed.returncode != 0:
            raise RuntimeError(deployed.stdout + deployed.stderr + cluster.logs())
        cluster.scheduler()  # after the deploy: its first passes place the whole batch

        def loaded() -> int:
            return sum(int(metrics(coord, n).get("portfolio_count", "0")) for n in node_ids)

        wait_until(lambda: loaded() == len(specs), TIMEOUT, f"{len(specs)} portfolios loaded", 0.5)
        console.print(f"  {nodes} node(s): placed in {placement_log(cluster)}")
        symbols = [s for group in symbols_by_partition(args.symbols).values() for s in group]
        publisher = Publisher(broker.url.removeprefix("kafka://"), names.Topics(prefix).market_data, symbols,
                              args.rate)  # fmt: skip
        if args.backlog:
            published_rate = backlog(cluster, node_ids, publisher, args.backlog)
            first, last, cpu = window(args, cluster, coord, node_ids)
            consumed = sum(int(last[n].get("market_events", "0")) for n in node_ids)
            if consumed >= args.backlog:
                raise RuntimeError(f"the backlog ran out ({consumed:,} of {args.backlog:,} read): raise --backlog")
        else:
            publisher.start()
            try:
                published_0, t0 = publisher.published, time.monotonic()
                first, last, cpu = window(args, cluster, coord, node_ids)
                published_rate = (publisher.published - published_0) / (time.monotonic() - t0)
            finally:
                publisher.stop()
        if not all(first[n] and last[n] for n in node_ids):
            raise RuntimeError(f"a node's metrics hash is missing: {first} {last}\n{cluster.logs(30)}")
        per_node = [node_figures(n, first[n], last[n], cpu[n]) for n in node_ids]
        console.print(f"  {nodes} node(s): published {published_rate:,.0f}/s")
        return Round(nodes, all_partitions, published_rate, sum(f.applied_per_s for f in per_node), per_node)


Metrics = dict[str, dict[str, str]]


def window(
    args: argparse.Namespace, cluster: Cluster, coord: Coordination, node_ids: list[str]
) -> tuple[Metrics, Metrics, dict[str, float]]:
    """After the warm-up, each node's metrics and CPU time ``--seconds`` apart."""
    time.sleep(args.warmup)
    first = {n: metrics(coord, n) for n in node_ids}
    cpu_0 = {n: cpu_seconds(cluster.procs[n]) for n in node_ids}
    time.sleep(args.seconds)
    last = {n: metrics(coord, n) for n in node_ids}
    return first, last, {n: cpu_seconds(cluster.procs[n]) - cpu_0[n] for n in node_ids}


def backlog(cluster: Cluster, node_ids: list[str], publisher: Publisher, count: int) -> float:
    """``count`` ticks published while the nodes are stopped; they resume after the flush."""
    for n in node_ids:
        cluster.procs[n].pause()
    try:
        return publisher.publish(count)
    finally:
        for n in node_ids:
            cluster.procs[n].resume()


def node_figures(node_id: str, first: dict[str, str], last: dict[str, str], cpu_s: float) -> NodeFigures:
    def delta(field: str) -> int:
        return int(last.get(field, "0")) - int(first.get(field, "0"))

    seconds = (datetime.fromisoformat(last["updated_at"]) - datetime.fromisoformat(first["updated_at"])).total_seconds()
    routed, consumed = delta("routed_events"), delta("market_events")
    applied = routed - delta("dropped_events")
    return NodeFigures(
        node_id=node_id,
        portfolios=int(last.get("portfolio_count", "0")),
        partitions=int(last.get("market_partitions", "0")),
        applied_per_s=applied / seconds if seconds > 0 else 0.0,
        read_amplification=consumed / routed if routed else None,
        cpu_us_per_applied=cpu_s * 1e6 / applied if applied > 0 else None,
    )


def report(rounds: list[Round], console: Console) -> None:
    base = next((r.applied_per_s for r in rounds if r.nodes == 1), None)
    table = Table(title=f"cluster data plane ({PARTITIONS} partitions of market.data, idle strategy)")
    for header in ("nodes", "reads", "published/s", "applied/s (all nodes)", "x one node", "per node: portfolios, "
                   "partitions read, applied/s, read amplification, CPU us per applied event"):  # fmt: skip
        table.add_column(header)
    for r in rounds:
        speedup = f"{r.applied_per_s / base:.2f}" if base else "-"
        nodes_text = "; ".join(
            f"{f.node_id}: {f.portfolios}, {f.partitions}/{PARTITIONS}, {f.applied_per_s:,.0f}, "
            f"{'-' if f.read_amplification is None else f'{f.read_amplification:.3f}'}, "
            f"{'-' if f.cpu_us_per_applied is None else f'{f.cpu_us_per_applied:.1f}'}"
            for f in r.per_node
        )
        reads = "all partitions" if r.all_partitions else "own partitions"
        table.add_row(str(r.nodes), reads, f"{r.published_per_s:,.0f}", f"{r.applied_per_s:,.0f}", speedup, nodes_text)
    console.print(table)


def rounds_of(text: str) -> Iterator[int]:
    for part in text.split(","):
        yield int(part)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,2", help="node counts, one round each (e.g. 1,2,4)")
    parser.add_argument("--portfolios", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--rate", type=float, default=0.0, help="ticks/s to publish (0: as fast as possible)")
    parser.add_argument(
        "--backlog", type=int, default=0, help="publish N ticks with the nodes stopped, then measure them alone"
    )
    parser.add_argument(
        "--compare-all", action="store_true", help="also run the multi-node rounds with --all-partitions (as before)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    console = Console(width=200)
    rounds = []
    for n in rounds_of(args.nodes):
        rounds.append(run_round(args, n, False, console))
        if args.compare_all and n > 1:
            rounds.append(run_round(args, n, True, console))
    report(rounds, console)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rounds], indent=2))


if __name__ == "__main__":
    main()
