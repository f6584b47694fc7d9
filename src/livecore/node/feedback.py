"""The order-feedback loop: at least once, de-duplicated, committed only when
durable.

The node's own group (``execution_node_{id}.feedback``) reads every partition:
feedback for portfolios hosted elsewhere is ignored. A group with no committed
offset starts at ``latest``: history before this node started is already in
the gateway journal, which every ``portfolio.load`` reconciles, and the
overlap is harmless because fills are de-duplicated by fill id. The node does
not announce itself (heartbeat) before this consumer has its start position,
so nothing can fall between the journal read and the first fetch.

A record's offset is committed only after the fill was applied AND the
snapshot that contains it was saved: processors release ``FeedbackTicket`` s
after ``store.snapshots.save`` returned; this loop commits, per partition, the
longest run of released tickets. A processor saves at most one such snapshot
per ``feedback_snapshot_interval_s``; this loop asks for the ones it put off
(``node/deferred.py``). A full feedback mailbox pauses the consumer
(membership kept) until the portfolio catches up: feedback is never dropped.

A record whose decoding or delivery raises (anything but a full or loading
mailbox, which wait) is dead-lettered on its own, its ticket released, and the
records behind it are delivered: the commit passes it, nothing after it is
skipped. Its portfolio (named by the feedback, or else by the record key) may
now hold wrong positions, so it is isolated (``on_given_up``): it stops opening
positions, shows as faulted ``needs reconcile: ...`` and is audited, until a
new load restores it from its snapshot and the gateway journal, which holds the
fill. A record that is not a feedback message at all (``MalformedMessage``) is
only dead-lettered.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from livecore.node.deadletter import DeadLetters
from livecore.node.loop import ConsumerLoop, LoopSettings
from livecore.node.mailbox import FeedbackItem, FeedbackTicket
from livecore.node.table import HostedPortfolios
from livecore.ports.bus import Consumer, Record
from livecore.wire import codec, names

log = logging.getLogger(__name__)


class OffsetTracker:
    """Tickets per partition in offset order; ``committable`` pops the released prefix."""

    def __init__(self, topic: str) -> None:
        self._topic = topic
        self._pending: dict[int, deque[FeedbackTicket]] = {}

    def track(self, record: Record) -> FeedbackTicket:
        ticket = FeedbackTicket(record.partition, record.offset)
        self._pending.setdefault(record.partition, deque()).append(ticket)
        return ticket

    def committable(self) -> list[Record]:
        """One marker record per partition whose released prefix grew."""
        out: list[Record] = []
        for partition, tickets in self._pending.items():
            last: FeedbackTicket | None = None
            while tickets and tickets[0].done:
                last = tickets.popleft()
            if last is not None:
                out.append(Record(self._topic, partition, last.offset, None, b"", 0))
        return out

    def outstanding(self) -> int:
        return sum(len(tickets) for tickets in self._pending.values())

    def clear(self) -> None:
        self._pending = {}


class FeedbackLoop(ConsumerLoop):
    label = names.FEEDBACK_LOOP

    def __init__(
        self,
        *,
        consumer_factory: Callable[[], Consumer],
        should_run: Callable[[], bool],
        settings: LoopSettings,
        topic: str,
        portfolios: HostedPortfolios,
        is_loading: Callable[[str], bool],
        dead_letters: DeadLetters,
        on_given_up: Callable[[str, str], None],
        request_due_snapshots: Callable[[], int] = lambda: 0,
    ) -> None:
        super().__init__(consumer_factory=consumer_factory, should_run=should_run, settings=settings)
        self._portfolios = portfolios
        self._is_loading = is_loading
        self._dead_letters = dead_letters
        self._on_given_up = on_given_up  # (portfolio_id, reason): stop it trading
        self._request_due_snapshots = request_due_snapshots  # deferred ones (node/deferred.py)
        self.tracker = OffsetTracker(topic)
        self._backlog: deque[tuple[FeedbackItem, Record]] = deque()
        self._paused = False
        self.events = 0
        self.settled = 0  # records fully handled: offered, ignored or dead-lettered
        self.ignored = 0
        self.waits = 0  # records that met a full mailbox and had to wait
        self.commits = 0

    def handle(self, consumer: Consumer, records: list[Record]) -> None:
        self.events += len(records)
        for record in records:
            ticket = self.tracker.track(record)
            try:
                feedback = codec.order_feedback.decode(record.value)
            except codec.MalformedMessage as exc:
                self._dead_letters.send(record, exc.reason)
                ticket.done = True
                self.settled += 1
                continue
            except Exception as exc:  # not a decode refusal: a bug, isolated to this record
                self._give_up(record, _key(record), self.poisoned(_where(record), exc))
                ticket.done = True
                self.settled += 1
                continue
            self._backlog.append((FeedbackItem(feedback, ticket), record))
        self._drain_backlog(consumer)
        self._request_due_snapshots()  # every turn, records or not
        if self._should_run():  # after stop began, nothing more is committed
            self._commit(consumer)

    def _drain_backlog(self, consumer: Consumer) -> None:
        backlog = self._backlog
        while backlog:
            item, record = backlog[0]
            try:
                verdict = self._deliver(item)
            except Exception as exc:
                self._give_up(record, item.feedback.portfolio_id, self.poisoned(_where(record), exc))
                verdict = "done"
                if item.ticket is not None:
                    item.ticket.done = True
            if verdict == "again":
                continue  # closed meanwhile: ignored on the next turn
            if verdict != "done":
                self._wait(consumer, verdict)
                return
            backlog.popleft()
            self.settled += 1
        if self._paused:
            consumer.resume()
            self._paused = False

    def _give_up(self, record: Record, portfolio_id: str | None, reason: str) -> None:
        """Stop its portfolio trading on books that miss it, then dead-letter the record."""
        if portfolio_id:
            try:
                self._on_given_up(portfolio_id, reason)
            except Exception:
                log.exception("%s: cannot isolate portfolio %s", self.label, portfolio_id)
        self._dead_letters.send(record, reason)

    def _deliver(self, item: FeedbackItem) -> str:
        """``done``, ``again`` (look at the same item again) or why it must wait."""
        pid = item.feedback.portfolio_id
        processor = self._portfolios.get(pid)
        if processor is None or processor.closed:
            if self._is_loading(pid):  # hosted in a moment: wait, never ignore
                return f"portfolio {pid} is loading"
            self.ignored += 1
            if item.ticket is not None:
                item.ticket.done = True
        elif not processor.offer_feedback(item):
            if processor.closed:
                return "again"
            return f"portfolio {pid} feedback mailbox is full"
        return "done"

    def _wait(self, consumer: Consumer, why: str) -> None:
        """Pause fetching until the head of the backlog can be delivered."""
        if not self._paused:
            self.waits += len(self._backlog)
            log.info("%s: pausing order-feedback consumption", why)
            consumer.pause()
            self._paused = True

    def _commit(self, consumer: Consumer) -> None:
        markers = self.tracker.committable()
        if markers:
            consumer.commit(markers)
            self.commits += 1

    def finish(self, consumer: Consumer) -> None:
        self._backlog.clear()
        self.tracker.clear()


def _key(record: Record) -> str | None:
    """The portfolio id the gateway keys feedback by, if the key is readable."""
    try:
        return record.key.decode() if record.key else None
    except UnicodeDecodeError:
        return None


def _where(record: Record) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"
