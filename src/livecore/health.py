"""Bus health made visible: every process publishes whether its bus works.

A broker outage used to be silent: processes kept heartbeating while nothing
was produced. Now nodes put ``Bus.health()`` into their metrics hash
(``bus_health_fields``) and gateway and feed processes run a
``BusHealthReporter`` that refreshes ``bus:health:{process}`` with a TTL.
``ops.status``, ``/api/health`` and ``/metrics`` read them back with
``read_bus_health``. The report carries ``lost_records`` (records consumers
skipped behind retention) when the bus can count them: non-zero is a problem.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from types import TracebackType

import msgspec

from livecore.ports.bus import Bus, BusHealth
from livecore.ports.coordination import Coordination
from livecore.wire import names

log = logging.getLogger(__name__)


class ProcessBusHealth(msgspec.Struct, frozen=True, kw_only=True):
    """One process's bus as it last reported it (``process``: ``node:ID``, ``gateway:ID``, ``feed:NAME``)."""

    process: str
    ok: bool
    reason: str
    since_ns: int
    lost_records: int | None = None


def bus_health_fields(health: BusHealth) -> dict[str, str]:
    fields = {
        names.BUS_OK_FIELD: "1" if health.ok else "0",
        names.BUS_REASON_FIELD: health.reason,
        names.BUS_SINCE_FIELD: str(health.since_ns),
    }
    if health.lost_records is not None:
        fields[names.BUS_LOST_FIELD] = str(health.lost_records)
    return fields


def parse_bus_health(process: str, fields: Mapping[str, str]) -> ProcessBusHealth | None:
    """None when the hash carries no bus health (an older process)."""
    ok = fields.get(names.BUS_OK_FIELD)
    if ok is None:
        return None
    since = fields.get(names.BUS_SINCE_FIELD, "0")
    lost = fields.get(names.BUS_LOST_FIELD, "")
    return ProcessBusHealth(
        process=process,
        ok=ok == "1",
        reason=fields.get(names.BUS_REASON_FIELD, ""),
        since_ns=int(since) if since.isdigit() else 0,
        lost_records=int(lost) if lost.isdigit() else None,
    )


def bus_problems(report: ProcessBusHealth) -> list[str]:
    """What an operator must act on in one process's report (empty: nothing)."""
    problems = [] if report.ok else [f"{report.process}: bus: {report.reason or 'unhealthy'}"]
    if report.lost_records:
        problems.append(f"{report.process}: bus: {report.lost_records} records lost behind retention")
    return problems


def read_bus_health(coord: Coordination) -> list[ProcessBusHealth]:
    """Every gateway/feed report still within its TTL, and every node's (from its metrics hash)."""
    found: list[ProcessBusHealth] = []
    for key in sorted(coord.scan(names.BUS_HEALTH_PREFIX)):
        parsed = parse_bus_health(key[len(names.BUS_HEALTH_PREFIX) :], coord.hgetall(key))
        if parsed is not None:
            found.append(parsed)
    for key in sorted(coord.scan(names.METRICS_PREFIX)):
        node_id = key[len(names.METRICS_PREFIX) :]
        parsed = parse_bus_health(names.node_process(node_id), coord.hgetall(key))
        if parsed is not None:
            found.append(parsed)
    return found


class BusHealthReporter:
    """Refreshes ``bus:health:{process}`` every ``interval_s`` (TTL ``ttl_s``) from a
    daemon thread; logs each change of health. Use as a context manager or
    ``start``/``stop``."""

    def __init__(
        self, *, bus: Bus, coord: Coordination, process: str, interval_s: float = 1.0, ttl_s: float = 5.0
    ) -> None:
        self._bus = bus
        self._coord = coord
        self.process = process
        self._interval = interval_s
        self._ttl = ttl_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: BusHealth | None = None

    def report_once(self) -> BusHealth:
        health = self._bus.health()
        if self._last is None or health.ok != self._last.ok or health.reason != self._last.reason:
            if health.ok:
                log.warning("%s: bus healthy", self.process)
            else:
                log.error("%s: bus DEGRADED: %s", self.process, health.reason)
        self._last = health
        fields = {**bus_health_fields(health), names.UPDATED_AT_FIELD: dt.datetime.now(dt.UTC).isoformat()}
        self._coord.hset(names.bus_health_key(self.process), fields, ttl=self._ttl)
        return health

    def _run(self) -> None:
        while True:
            try:
                self.report_once()
            except Exception as exc:  # coordination down: nothing to report to; try again
                log.warning("%s: cannot report bus health: %s", self.process, exc)
            if self._stop.wait(self._interval):
                return

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"bus-health-{self.process}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._interval + 1)

    def __enter__(self) -> BusHealthReporter:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
