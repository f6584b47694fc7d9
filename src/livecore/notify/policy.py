"""When notices become messages: batching per kind and a rate limit. Pure.

Time is an argument (seconds on any monotonic scale), so every rule is tested
without a clock:

- the first notice of a kind opens a *batch*; every later notice of that kind
  joins it until it is sent, so a burst becomes one message with a count and
  the first ``max_lines`` lines;
- a batch is *ready* ``batch_s`` after it opened (the gathering delay);
- at most ``max_messages`` messages leave in any ``window_s`` (sliding): a
  ready batch over the limit waits, still gathering, until a send falls out of
  the window; the oldest ready batch goes first, and among batches opened at
  once the more serious kind (``NoticeKind`` order);
- nothing is lost: every notice counts in exactly one message, and
  ``take_all`` (shutdown) releases what is held, limits aside.

What a batch holds is bounded by construction: a count and at most
``max_lines`` lines of at most ``MAX_LINE_CHARS`` characters, per kind.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from livecore.checks import at_least, non_negative, positive
from livecore.notify.notice import Notice, NoticeKind

MAX_LINE_CHARS = 300

_RANK = {kind: rank for rank, kind in enumerate(NoticeKind)}


@dataclass(frozen=True, slots=True)
class Message:
    """Notices of one kind merged: how many, and the first few lines in order."""

    kind: NoticeKind
    count: int
    lines: tuple[str, ...]

    def render(self, origin: str) -> tuple[str, str]:
        """Title and body as sent; the title names the process that saw the events."""
        label = self.kind.label if self.count == 1 else f"{self.count} x {self.kind.label}"
        body = "\n".join(self.lines)
        if self.count > len(self.lines):
            body += f"\n... and {self.count - len(self.lines)} more"
        return f"livecore {origin}: {label}", body


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchSettings:
    """``batch_s``: gathering delay of a batch; at most ``max_messages`` per
    ``window_s``; ``max_lines`` lines kept per message."""

    batch_s: float = 5.0
    window_s: float = 60.0
    max_messages: int = 10
    max_lines: int = 5

    def __post_init__(self) -> None:
        non_negative(self, "batch_s")
        positive(self, "window_s")
        at_least(self, 1, "max_messages", "max_lines")


@dataclass(slots=True)
class _Batch:
    opened: float
    count: int = 0
    lines: list[str] = field(default_factory=list)


class Batcher:
    """Holds notices until the policy lets them out as messages. Not thread-safe:
    one thread (the notifier's) owns it."""

    def __init__(self, limits: BatchSettings) -> None:
        self._limits = limits
        self._batches: dict[NoticeKind, _Batch] = {}
        self._sent: deque[float] = deque()  # send times still inside the window

    @property
    def held(self) -> int:
        """Notices waiting in a batch."""
        return sum(batch.count for batch in self._batches.values())

    def add(self, notice: Notice, now: float) -> None:
        batch = self._batches.get(notice.kind)
        if batch is None:
            batch = self._batches[notice.kind] = _Batch(now)
        batch.count += 1
        if len(batch.lines) < self._limits.max_lines:
            batch.lines.append(_clip(notice.text))

    def take(self, now: float) -> list[Message]:
        """The messages the policy lets out at ``now`` (each counted as sent)."""
        room = self._limits.max_messages - self._in_window(now)
        ready = [kind for kind in self._order() if self._batches[kind].opened + self._limits.batch_s <= now]
        return [self._send(kind, now) for kind in ready[: max(room, 0)]]

    def take_all(self, now: float) -> list[Message]:
        """Every held notice as messages, at once: for shutdown, limits aside."""
        return [self._send(kind, now) for kind in self._order()]

    def next_due(self, now: float) -> float | None:
        """The earliest time ``take`` may return a message; None while nothing is held."""
        if not self._batches:
            return None
        ready_at = min(batch.opened for batch in self._batches.values()) + self._limits.batch_s
        if self._in_window(now) < self._limits.max_messages:
            return ready_at
        return max(ready_at, self._sent[0] + self._limits.window_s)

    def _order(self) -> list[NoticeKind]:
        return sorted(self._batches, key=lambda kind: (self._batches[kind].opened, _RANK[kind]))

    def _send(self, kind: NoticeKind, now: float) -> Message:
        batch = self._batches.pop(kind)
        self._sent.append(now)
        return Message(kind, batch.count, tuple(batch.lines))

    def _in_window(self, now: float) -> int:
        """Sends that still count at ``now`` (each for ``window_s``); older ones are
        forgotten. Spelled as ``next_due`` spells it, so the two agree to the bit."""
        while self._sent and self._sent[0] + self._limits.window_s <= now:
            self._sent.popleft()
        return len(self._sent)


def _clip(text: str) -> str:
    line = " ".join(text.split())  # one line, whatever the text held
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."
