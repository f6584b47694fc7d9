"""Replay file reading: how long ``load_replay`` takes on the bundled data and on
large synthetic files, for this tree and a baseline git revision in the same run.

Datasets (written to a temporary directory):

- ``bundled``: the four bundled daily-bar CSV files (3,028 bars);
- ``bars.csv``: N minute bars of 20 symbols, ISO-8601 ``...Z`` timestamps, symbol column;
- ``ticks.csv.gz``: N gzipped ticks of 20 symbols, epoch-millisecond timestamps,
  price/size/bid/ask;
- ``bars-float-epoch.csv``: N bars with fractional epoch seconds (the per-row path).

Each (tree, dataset) pair runs in its own child process (the baseline's ``src``
comes from ``git archive``), best of ``--repeat`` reads; the trees alternate so
both see the same machine load. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_replay_read.py [--rows 300000] [--baseline main] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = [f"S{i:02d}" for i in range(20)]
MINUTE_S = 60
START_S = 1_704_186_000  # 2024-01-02 09:00 UTC

CHILD = """
import hashlib, json, sys, time
from pathlib import Path
import msgspec
import livecore.feed.readers
from livecore.feed.readers import load_replay
path, repeat = Path(sys.argv[1]), int(sys.argv[2])
times, events = [], []
for _ in range(repeat):
    started = time.perf_counter()
    events = load_replay(path).events
    times.append(time.perf_counter() - started)
digest = hashlib.sha256(msgspec.msgpack.encode(events)).hexdigest()[:12]
figures = {"first": times[0], "best": min(times[1:] or times), "events": len(events), "digest": digest}
print(json.dumps({**figures, "module": livecore.feed.readers.__file__}))
"""


def _price(rng: random.Random, level: float) -> str:
    return f"{level * (1 + rng.uniform(-0.002, 0.002)):.2f}"


def write_bars(path: Path, rows: int, stamp: Callable[[int], str]) -> None:
    rng = random.Random(1)
    out = io.StringIO()
    out.write("timestamp,symbol,open,high,low,close,volume\n")
    for i in range(rows):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        level = 100 + (i % 997) / 10
        prices = sorted((_price(rng, level) for _ in range(4)), key=float)
        low, a, b, high = prices
        out.write(
            f"{stamp(START_S + (i // len(SYMBOLS)) * MINUTE_S)},{symbol},{a},{high},{low},{b},{rng.randint(1, 9999)}\n"
        )
    path.write_text(out.getvalue())


def write_ticks_gz(path: Path, rows: int) -> None:
    rng = random.Random(2)
    out = io.StringIO()
    out.write("ts,symbol,price,size,bid,ask\n")
    for i in range(rows):
        level = 50 + (i % 991) / 10
        price = f"{level:.2f}"
        out.write(f"{START_S * 1000 + i * 7},{SYMBOLS[i % len(SYMBOLS)]},{price},{rng.randint(1, 500)},")
        out.write(f"{level - 0.01:.2f},{level + 0.01:.2f}\n")
    path.write_bytes(gzip.compress(out.getvalue().encode()))


def datasets(directory: Path, rows: int) -> dict[str, Path]:
    from livecore.feed.bundled import bundled_data_dir

    def iso(seconds: int) -> str:
        return f"{seconds_to_iso(seconds)}Z"

    write_bars(directory / "bars.csv", rows, iso)
    write_ticks_gz(directory / "ticks.csv.gz", rows)
    write_bars(directory / "bars-float-epoch.csv", rows, lambda seconds: f"{seconds}.5")
    return {
        "bundled (4 files)": bundled_data_dir(),
        "bars.csv (ISO)": directory / "bars.csv",
        "ticks.csv.gz (epoch ms)": directory / "ticks.csv.gz",
        "bars-float-epoch.csv": directory / "bars-float-epoch.csv",
    }


def seconds_to_iso(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def baseline_src(revision: str, directory: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision, "src"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory / "src"


def measure(src: Path, path: Path, repeat: int) -> dict[str, float | int | str]:
    """First read (imports included) and best of the others, in a fresh child process."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(repeat)],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    if result.returncode != 0:
        raise SystemExit(f"reading {path} under {src} failed:\n{result.stderr}")
    figures = json.loads(result.stdout)
    if not str(figures["module"]).startswith(str(src)):
        raise SystemExit(f"measured {figures['module']}, not the tree under {src}")
    return dict(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    table = Table(title=f"load_replay: first read (imports included), best of {args.repeat}; {args.rows:,} rows")
    for column in ("dataset", "events", "same events", "first", "", "best", "", "speed-up"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    table.columns[3].header, table.columns[4].header = f"{args.baseline} first s", "this first s"
    table.columns[5].header, table.columns[6].header = f"{args.baseline} best s", "this best s"
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_src(args.baseline, Path(tmp) / "baseline")
        for name, path in datasets(Path(tmp), args.rows).items():
            old = measure(base, path, args.repeat)
            new = measure(ROOT / "src", path, args.repeat)
            table.add_row(
                name,
                f"{new['events']:,}",
                "yes" if (old["events"], old["digest"]) == (new["events"], new["digest"]) else "NO",
                f"{old['first']:.3f}",
                f"{new['first']:.3f}",
                f"{old['best']:.3f}",
                f"{new['best']:.3f}",
                f"{float(old['best']) / float(new['best']):.1f}x",
            )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
