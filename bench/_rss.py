"""RSS sampling of named processes, and the flat-or-growing verdict of a soak.

A sample is (seconds since start, process name, RSS in MiB, 1-minute load).
The verdict looks only at samples after the warm-up (caches, retention windows
and allocator arenas fill first): the least-squares slope of RSS over time in
MiB per minute, "flat" when it is below the threshold.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

MIB = 1024 * 1024

# Slope below which a process counts as flat: 0.2 MiB/min is 12 MiB an hour,
# 50x less than the 11 MB/min the unbounded in-process bus grew by; a buffer
# still filling or a real leak at soak rates shows well above it.
FLAT_MIB_PER_MIN = 0.2


@dataclass(frozen=True, slots=True)
class Sample:
    t_s: float
    process: str
    rss_mib: float
    load1: float


@dataclass(frozen=True, slots=True)
class Verdict:
    process: str
    rss_at_warmup: float
    rss_end: float
    rss_max: float
    slope_mib_per_min: float
    samples: int

    @property
    def flat(self) -> bool:
        return self.slope_mib_per_min < FLAT_MIB_PER_MIN


class Sampler:
    """Reads each named PID's RSS; appends every sample to a CSV as it goes."""

    def __init__(self, csv_path: Path) -> None:
        self._file = csv_path.open("w", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(["t_s", "process", "pid", "rss_mib", "load1"])
        self.samples: list[Sample] = []

    def sample(self, t_s: float, pids: Mapping[str, int]) -> list[str]:
        """One sample per process; return the names of processes that are gone."""
        gone = []
        load1 = os.getloadavg()[0]
        for name, pid in pids.items():
            try:
                rss = psutil.Process(pid).memory_info().rss / MIB
            except psutil.NoSuchProcess:
                gone.append(name)
                continue
            self.samples.append(Sample(t_s, name, rss, load1))
            self._csv.writerow([f"{t_s:.1f}", name, pid, f"{rss:.2f}", f"{load1:.2f}"])
        self._file.flush()
        return gone

    def close(self) -> None:
        self._file.close()


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60


def verdicts(samples: Iterable[Sample], warmup_s: float) -> list[Verdict]:
    """Per process, over the samples taken at or after ``warmup_s``."""
    by_process: dict[str, list[Sample]] = {}
    for s in samples:
        by_process.setdefault(s.process, []).append(s)
    out = []
    for name, rows in by_process.items():
        window = [s for s in rows if s.t_s >= warmup_s] or rows[-1:]
        out.append(
            Verdict(
                process=name,
                rss_at_warmup=window[0].rss_mib,
                rss_end=rows[-1].rss_mib,
                rss_max=max(s.rss_mib for s in rows),
                slope_mib_per_min=slope_per_minute([(s.t_s, s.rss_mib) for s in window]),
                samples=len(window),
            )
        )
    return out
