"""Soak: does every process's memory stay flat while nothing changes?

Runs the system at a steady synthetic rate for ``--minutes`` (default 30) and
samples every process's RSS (psutil) every ``--interval`` seconds into a CSV.
Then, per process: RSS at the end of the warm-up (``--warmup``, default 5
minutes), at the end, the least-squares slope over the post-warm-up window in
MiB/min, and "flat" when the slope is below ``_rss.FLAT_MIB_PER_MIN``.

Two modes:

* ``embedded``: one ``livecore run --synthetic N --rate R --quiet`` process
  (in-process bus and coordination, SQLite), two nodes, the dashboard API on.
* ``distributed``: a private Tansu broker (in-memory storage) and redis-server,
  a SQLite file, and separate processes: ``livecore gateway``, ``scheduler``,
  ``node`` x2, ``feed synthetic``. Tansu and redis are sampled too (Tansu's
  memory storage keeps every record: it grows by design, and is reported apart).

Both load ``--portfolios`` (default 10) portfolios that trade two synthetic
symbols each with fast strategies, so orders, fills and snapshots keep flowing;
at the end every portfolio must have orders in the gateway journal.
``--portfolios 0`` in embedded mode runs ``livecore run`` with its example
portfolios instead (they trade the bundled symbols, not the synthetic ones: the
bus carries ticks that nobody trades on).

    .venv/bin/python bench/bench_soak.py --mode embedded [--minutes 30] [--rate 500] [--symbols 50]
    .venv/bin/python bench/bench_soak.py --mode distributed --rate 200 --csv /tmp/soak-dist.csv
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from _rss import FLAT_MIB_PER_MIN, Sampler, Verdict, verdicts

from livecore.adapters.factory import open_coordination, open_store
from livecore.testing.processes import Proc, livecore_argv, spawn
from livecore.testing.servers import free_port, redis_server, tansu_broker, tansu_bus_url, wait_until
from livecore.wire import names

SECRET = "soak-secret"


def spec_toml(index: int, symbols: int, windows: str = "") -> str:
    """Portfolio ``index`` trades two neighbouring symbols; tiny windows give a signal
    every few ticks, so orders and fills never stop. ``windows``: a ``[settings]``
    table or empty (the portfolio defaults)."""
    first, second = f"SYM{index % symbols + 1:04d}", f"SYM{(index + 1) % symbols + 1:04d}"
    if index % 2 == 0:
        strategy = 'class = "ma_crossover"\nparams = { fast = 2, slow = 4 }'
    else:
        strategy = 'class = "breakout"\nparams = { lookback = 4, exit_lookback = 2 }'
    return (
        f'id = "{portfolio_id(index)}"\nname = "soak {index}"\ncurrency = "USD"\ninitial_cash = 1000000\n'
        f'symbols = ["{first}", "{second}"]\n\n[strategy]\n{strategy}\n\n'
        '[sizer]\nclass = "fixed"\nparams = { quantity = 10, lot_size = 1 }\n' + windows
    )


def portfolio_id(index: int) -> str:
    return f"soak-{index + 1:02d}"


def windows_table(args: argparse.Namespace) -> str:
    """The portfolios' order and fill-id windows: bounded, but at soak rates the
    defaults (1,000 closed orders, 10,000 fill ids) take longer than a soak's warm-up
    to fill, so a soak may shrink them to see what grows beyond them."""
    settings = {"closed_order_window": args.closed_orders, "fill_id_window": args.fill_ids}
    lines = [f"{key} = {value}" for key, value in settings.items() if value]
    return "\n[settings]\n" + "\n".join(lines) + "\n" if lines else ""


def write_specs(directory: Path, args: argparse.Namespace) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(args.portfolios):
        path = directory / f"{portfolio_id(index)}.toml"
        path.write_text(spec_toml(index, args.symbols, windows_table(args)))
        paths.append(path)
    return paths


# --- the two deployments ----------------------------------------------------------------


@contextlib.contextmanager
def embedded(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[dict[str, Proc], str]]:
    db_url = f"sqlite:///{workdir}/state.db"
    specs = workdir / "specs"
    write_specs(specs, args)
    run_args = ["run", "--synthetic", str(args.symbols), "--rate", f"{args.rate:g}", "--quiet",
                "--api-port", str(free_port()), "--duration", str(args.minutes * 60 + 600)]  # fmt: skip
    if args.portfolios:
        run_args += ["--portfolios", str(specs)]
    proc = spawn("livecore-run", livecore_argv(["--db", db_url], run_args), workdir)
    try:
        yield {"livecore run": proc}, db_url
    finally:
        proc.stop(signal.SIGINT, 120)  # its final report checks the books against the journal
        print(proc.tail(12))


@contextlib.contextmanager
def distributed(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[dict[str, Proc], str]]:
    db_url = f"sqlite:///{workdir}/state.db"
    with tansu_broker() as tansu, redis_server() as redis:
        redis_url = redis.url
        prefix = f"soak{uuid.uuid4().hex[:6]}."
        global_args = ["--bus", tansu_bus_url(tansu.url), "--coord", redis_url, "--db", db_url,
                       "--secret", SECRET, "--topic-prefix", prefix]  # fmt: skip
        procs: dict[str, Proc] = {"tansu": tansu, "redis": redis}

        def start(name: str, command: list[str]) -> None:
            procs[name] = spawn(name, livecore_argv(global_args, command), workdir)

        try:
            start("gateway", ["gateway", "--group", f"{prefix}trade_gateway"])
            start("scheduler", ["scheduler", "--id", "soak-scheduler", "--tick", "0.5", "--lease-ttl", "2"])
            for node in ("n1", "n2"):
                start(node, ["node", "--id", node, "--heartbeat-interval", "1", "--heartbeat-ttl", "3",
                             "--status-every", "0"])  # fmt: skip
            start("feed", ["feed", "synthetic", "--symbols", str(args.symbols), "--rate", f"{args.rate:g}"])
            coord = open_coordination(redis_url)
            try:
                wait_until(lambda: all(coord.get(names.heartbeat_key(n)) for n in ("n1", "n2")), 120, "two nodes")
            finally:
                coord.close()
            specs = write_specs(workdir / "specs", args)
            deployed = subprocess.run(
                livecore_argv(global_args, ["portfolio", "deploy", *map(str, specs)]),
                capture_output=True, text=True, timeout=120, cwd=workdir,
            )  # fmt: skip
            if deployed.returncode != 0:
                raise RuntimeError(f"deploy failed: {deployed.stdout}{deployed.stderr}")
            yield procs, db_url
        finally:
            for name, proc in procs.items():
                if name not in ("tansu", "redis"):
                    proc.stop(signal.SIGTERM, 60)


# --- the soak -----------------------------------------------------------------------------


def soak(args: argparse.Namespace, procs: dict[str, Proc], sampler: Sampler) -> None:
    """Sample until the duration is over; raise if a process died."""
    started = time.monotonic()
    end = started + args.minutes * 60
    pids = {name: proc.pid for name, proc in procs.items()}
    while True:
        now = time.monotonic()
        gone = sampler.sample(now - started, pids)
        if gone:
            tails = "\n".join(f"--- {name}\n{procs[name].tail()}" for name in gone)
            raise RuntimeError(f"process(es) ended during the soak: {', '.join(gone)}\n{tails}")
        if now >= end:
            return
        time.sleep(min(args.interval, max(0.0, end - time.monotonic())))


def orders_per_portfolio(db_url: str, count: int) -> dict[str, int]:
    store = open_store(db_url)
    try:
        return {portfolio_id(i): len(store.journal.orders(portfolio_id(i))) for i in range(count)}
    finally:
        store.close()


# Log lines that mean the system did not stay steady: RSS steps next to them are
# the system changing (a failover reloads portfolios), not a leak.
EVENTS = {"failovers": "failover of", "retention losses": "fell behind retention"}


def events(workdir: Path) -> dict[str, int]:
    """How often each of ``EVENTS`` was logged by any process of the soak."""
    counts = dict.fromkeys(EVENTS, 0)
    for path in workdir.glob("*.log"):
        text = path.read_text(errors="replace")
        for name, marker in EVENTS.items():
            counts[name] += text.count(marker)
    return counts


def report(
    args: argparse.Namespace, results: list[Verdict], orders: dict[str, int], load: list[float], seen: dict[str, int]
) -> str:
    lines = [
        f"soak {args.mode}: {args.minutes:g} min, {args.portfolios} portfolios, {args.symbols} symbols at "
        f"{args.rate:g} ticks/s, windows: {args.closed_orders or 'default'} closed orders, "
        f"{args.fill_ids or 'default'} fill ids; RSS every {args.interval:g} s, warm-up {args.warmup:g} min; "
        f"{os.cpu_count()} cores, 1-min load {min(load):.1f}-{max(load):.1f} (mean {sum(load) / len(load):.1f})",
        f"orders journaled per portfolio: min {min(orders.values(), default=0)}, "
        f"max {max(orders.values(), default=0)}, total {sum(orders.values())}; "
        + ", ".join(f"{name}: {count}" for name, count in seen.items()),
        f"{'process':<14} {'RSS@warm-up':>12} {'RSS end':>9} {'max':>8} {'slope MiB/min':>14}  verdict "
        f"(flat: slope < {FLAT_MIB_PER_MIN:g})",
    ]
    for v in sorted(results, key=lambda v: v.process):
        lines.append(
            f"{v.process:<14} {v.rss_at_warmup:>12.1f} {v.rss_end:>9.1f} {v.rss_max:>8.1f} "
            f"{v.slope_mib_per_min:>14.3f}  {'flat' if v.flat else 'GROWING'}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "distributed"), default="embedded")
    parser.add_argument("--minutes", type=float, default=30.0, help="soak duration")
    parser.add_argument("--warmup", type=float, default=5.0, help="minutes excluded from the slope")
    parser.add_argument("--rate", type=float, default=500.0, help="synthetic ticks per second, all symbols")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--portfolios", type=int, default=10)
    parser.add_argument("--closed-orders", type=int, default=0, help="closed_order_window (0: default)")
    parser.add_argument("--fill-ids", type=int, default=0, help="fill_id_window (0: default)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--csv", default="", help="samples CSV (default: soak-<mode>.csv in the work directory)")
    parser.add_argument("--json", default="", help="also write the verdicts here")
    args = parser.parse_args()
    args.warmup = min(args.warmup, args.minutes / 3)
    workdir = Path(tempfile.mkdtemp(prefix=f"livecore-soak-{args.mode}-"))
    csv_path = Path(args.csv) if args.csv else workdir / f"soak-{args.mode}.csv"
    sampler = Sampler(csv_path)
    deployment = embedded if args.mode == "embedded" else distributed
    try:
        with deployment(args, workdir) as (procs, db_url):
            soak(args, procs, sampler)
            orders = orders_per_portfolio(db_url, args.portfolios)
    finally:
        sampler.close()
    results = verdicts(sampler.samples, args.warmup * 60)
    seen = events(workdir)
    print(report(args, results, orders, [s.load1 for s in sampler.samples], seen))
    print(f"samples: {csv_path}")
    if args.json:
        verdict_rows = [asdict(v) | {"flat": v.flat} for v in results]
        payload = {"args": vars(args), "orders": orders, "events": seen, "verdicts": verdict_rows}
        Path(args.json).write_text(json.dumps(payload, indent=2))
    if not all(orders.values()):
        raise SystemExit("some portfolios never traded: the soak did not exercise them")
    shutil.rmtree(workdir / "specs", ignore_errors=True)


if __name__ == "__main__":
    main()
