"""The market-data loop: poll a batch, decode each message once, drop stale
ticks, route each event to exactly the portfolios whose strategies trade its
symbol (InterestMap), and keep the order producer served.

Each node reads only the partitions of ``market.data`` that hold its
portfolios' symbols, through an assigned consumer (no group) that a
``MarketAssignment`` keeps current between two polls; each partition starts at
``latest``: market data is only worth its freshest value, so nothing is
committed and nothing replays after a restart. ``events`` (records consumed)
over ``routed`` (events some hosted portfolio wanted) is the node's read
amplification.

A record whose decoding or routing raises is dead-lettered on its own and the
rest of the batch is routed; it is never retried (this loop waits on no
backend, and a tick is only worth its freshest value). A portfolio whose
mailbox raises on an offer loses that batch's events, never another
portfolio's.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import cast

from livecore.eventtime import EventClock
from livecore.node.assignment import MarketAssignment
from livecore.node.deadletter import DeadLetters
from livecore.node.gate import MarketGate
from livecore.node.interest import InterestMap
from livecore.node.latency import LatencyRecorder
from livecore.node.loop import ConsumerLoop, LoopSettings
from livecore.node.mailbox import MarketSlot
from livecore.node.table import HostedPortfolios
from livecore.ports.bus import AssignedConsumer, Consumer, Record
from livecore.wire import codec, names
from livecore.wire.messages import SCHEMA_VERSION

log = logging.getLogger(__name__)


class MarketDataLoop(ConsumerLoop):
    label = names.MARKET_LOOP

    def __init__(
        self,
        *,
        consumer_factory: Callable[[], Consumer],
        should_run: Callable[[], bool],
        settings: LoopSettings,
        interest: InterestMap,
        portfolios: HostedPortfolios,
        dead_letters: DeadLetters,
        service: Callable[[], None],
        max_age_s: float | None,
        event_clock: EventClock | None = None,
        gate: MarketGate | None = None,
        assignment: MarketAssignment | None = None,
    ) -> None:
        """``event_clock``: in event time, the stale-tick guard measures age from
        the latest event seen, not the wall clock; ``gate``: a lockstep replay's;
        ``assignment``: the partitions to read (the factory then makes an
        ``AssignedConsumer``); None reads what the consumer's group gives it."""
        super().__init__(consumer_factory=consumer_factory, should_run=should_run, settings=settings)
        self._assignment = assignment
        self._interest = interest
        self._portfolios = portfolios
        self._dead_letters = dead_letters
        self._service = service
        self._max_age_ns = None if max_age_s is None else int(max_age_s * 1e9)
        self._event_clock = event_clock
        self._gate = gate
        self.events = 0
        self.settled = 0  # records fully handled: routed, skipped or dead-lettered
        self.routed = 0  # events delivered to at least one hosted portfolio
        self.stale = 0
        self.unrouted = 0
        self.conflated = 0
        self.offer_errors = 0
        self.market_time_ns = 0  # the newest event timestamp decoded (the data's "now")
        self.event_age = LatencyRecorder(single_writer=True)  # observed by this loop's thread only

    def poll(self, consumer: Consumer) -> list[Record]:
        """Apply the wanted partitions first: ready once they are positioned."""
        if self._assignment is not None:
            self._assignment.apply(cast(AssignedConsumer, consumer))
            if not self.ready.is_set():
                self.ready.set()
        return super().poll(consumer)

    def _note_ready(self, consumer: Consumer) -> None:
        if self._assignment is None:
            super()._note_ready(consumer)

    def reset(self) -> None:
        super().reset()
        if self._assignment is not None:
            self._assignment.detach()

    def finish(self, consumer: Consumer) -> None:
        if self._assignment is not None:
            self._assignment.detach()

    @property
    def read_amplification(self) -> float | None:
        """Records consumed per event routed to a hosted portfolio, since the start
        (None until one is routed)."""
        return self.events / self.routed if self.routed else None

    def handle(self, consumer: Consumer, records: list[Record]) -> None:
        if records:
            self.route(records)
        self._service()

    def route(self, records: list[Record]) -> None:
        """Decode and deliver one polled batch (public for the benchmark): the whole
        batch at once when it can (``_route_batch``), else record by record."""
        if self._gate is None and self._event_clock is None and self._route_batch(records):
            return
        self._route_each(records)

    def _route_batch(self, records: list[Record]) -> bool:
        """The common batch, on the wall clock and without a lockstep gate, decoded by
        one msgspec call: no decode call, record read or refusal handling per event.
        False, with nothing changed, when any record is refused or has another schema
        version, or anything raises: ``_route_each`` then isolates each record."""
        received = time.perf_counter_ns()
        try:
            events = codec.market_events.batch([record.value for record in records])
            if events is None:
                return False
            now_ns, max_age = time.time_ns(), self._max_age_ns
            oldest = now_ns - max_age if max_age is not None else -1  # -1: below every timestamp
            ages: list[int] = []
            age, lookup, version = ages.append, self._interest.routes.get, SCHEMA_VERSION
            routed: defaultdict[str, list[MarketSlot]] = defaultdict(list)
            stale = unrouted = 0
            for event in events:
                if event.v != version:
                    return False  # refused record by record, with its reason
                ts = event.ts_ns
                age(now_ns - ts)
                if ts < oldest:
                    stale += 1
                    continue
                symbol = event.symbol
                pids = lookup(symbol)
                if not pids:
                    unrouted += 1
                    continue
                for pid in pids:  # a slot per portfolio: conflation overwrites slots in place
                    routed[pid].append(MarketSlot(symbol, event, received))
        except Exception:
            log.debug("%s: batch not routed at once; record by record", self.label, exc_info=True)
            return False
        self.events += len(records)
        self._count(len(events) - stale - unrouted, stale, unrouted)
        self._observe_ages(ages, now_ns)
        self._offer(routed)
        self.settled += len(records)
        return True

    def _observe_ages(self, ages: list[int], now_ns: int) -> None:
        """Observe a batch's event ages; its newest event time is ``now`` minus the
        smallest (no comparison per event)."""
        if ages:
            self.market_time_ns = max(self.market_time_ns, now_ns - min(ages))
            self.event_age.observe_many(ages)

    def _route_each(self, records: list[Record]) -> None:
        """Decode and deliver one batch record by record: each refusal dead-lettered on
        its own. Counters are added once per batch; a record is decoded by msgspec
        directly (the codec's rules, ``Decoder.unwrapped``). On the wall clock the
        batch's newest event time comes from its smallest age."""
        received = time.perf_counter_ns()
        max_age, clock, gate = self._max_age_ns, self._event_clock, self._gate
        now_ns = time.time_ns()
        # below every valid timestamp when no age limit applies: one comparison, no None test
        oldest = now_ns - max_age if max_age is not None and clock is None else -1
        ages: list[int] = []  # now - event time of each decoded event, observed once per batch
        age = ages.append
        decoder = codec.market_events
        decode, refusals, version = decoder.unwrapped, codec.REFUSALS, SCHEMA_VERSION
        lookup = self._interest.routes.get
        routed: defaultdict[str, list[MarketSlot]] = defaultdict(list)
        self.events += len(records)
        counted = 0  # records of this batch already added to ``settled``
        hits = stale = unrouted = 0
        latest = self.market_time_ns
        for index, record in enumerate(records):
            if gate is not None and not gate.try_pass():
                # what the gate already let through goes first, counted
                self._offer(routed)
                self._count(hits, stale, unrouted)
                routed, hits, stale, unrouted = defaultdict(list), 0, 0, 0
                self.settled += index - counted
                counted = index
                if not gate.wait_pass(should_run=self._should_run, service=self._serve_held):
                    return  # stopping: a replay's events are not worth keeping
            try:
                try:
                    event = decode(record.value)
                except refusals as exc:
                    raise decoder.refused(exc) from None
                if event.v != version:
                    decoder.checked(event)
                ts = event.ts_ns
                if clock is None:
                    age(now_ns - ts)
                    if ts < oldest:
                        stale += 1
                        continue
                else:  # event time: an age against the wall clock means nothing
                    if ts > latest:
                        latest = ts
                    clock.observe(ts)
                    if max_age is not None and ts < clock() - max_age:
                        stale += 1
                        continue
                symbol = event.symbol
                pids = lookup(symbol)
                if not pids:
                    unrouted += 1
                    continue
                hits += 1
            except codec.MalformedMessage as exc:
                self._dead_letters.send(record, exc.reason)
                continue
            except Exception as exc:  # not a decode refusal: a bug, isolated to this record
                self._dead_letters.send(record, self.poisoned(f"{record.topic}@{record.offset}", exc))
                continue
            for pid in pids:  # a slot per portfolio: conflation overwrites slots in place
                routed[pid].append(MarketSlot(symbol, event, received))
        self._count(hits, stale, unrouted)
        if ages:
            latest = max(latest, now_ns - min(ages))
            self.event_age.observe_many(ages)
        self._offer(routed)
        self.market_time_ns = latest
        self.settled += len(records) - counted

    def _count(self, routed: int, stale: int, unrouted: int) -> None:
        """Add one batch's counts (this loop's thread is their only writer)."""
        self.routed += routed
        self.stale += stale
        self.unrouted += unrouted

    def _serve_held(self) -> None:
        """While held at the gate: alive (the heartbeat watches) and the producer served."""
        self._stamp()
        self._service()

    def _offer(self, routed: Mapping[str, list[MarketSlot]]) -> None:
        portfolios = self._portfolios
        for pid, slots in routed.items():
            processor = portfolios.get(pid)
            if processor is None:
                continue
            try:
                self.conflated += processor.offer_market(slots)
            except Exception:
                self.offer_errors += 1
                log.exception("%s: offering %d events to portfolio %s failed", self.label, len(slots), pid)
