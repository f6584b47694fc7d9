"""The batching and rate-limit policy, driven with explicit times."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from livecore.notify import Batcher, BatchSettings, Message, Notice, NoticeKind
from livecore.notify.policy import MAX_LINE_CHARS

HALT, FAULT, FILL = NoticeKind.RISK_HALT, NoticeKind.FAULT, NoticeKind.FILL


def batcher(batch_s: float = 5, window_s: float = 60, max_messages: int = 3, max_lines: int = 2) -> Batcher:
    return Batcher(BatchSettings(batch_s=batch_s, window_s=window_s, max_messages=max_messages, max_lines=max_lines))


def test_a_burst_of_one_kind_is_one_message_with_a_count_and_the_first_lines() -> None:
    b = batcher()
    for i in range(7):
        b.add(Notice(HALT, f"p{i} halted"), now=i * 0.5)
    assert b.take(4.9) == []  # the batch opened at 0 gathers until 5
    assert b.take(5.0) == [Message(HALT, 7, ("p0 halted", "p1 halted"))]
    assert b.held == 0 and b.next_due(5.0) is None


def test_each_kind_is_its_own_batch_and_the_more_serious_goes_first_when_opened_together() -> None:
    b = batcher()
    b.add(Notice(FILL, "f"), now=0)
    b.add(Notice(HALT, "h"), now=0)
    b.add(Notice(FAULT, "x"), now=1)
    assert [m.kind for m in b.take(10)] == [HALT, FILL, FAULT]


def test_over_the_limit_a_ready_batch_waits_and_keeps_gathering() -> None:
    b = batcher(batch_s=0, window_s=60, max_messages=1)
    b.add(Notice(HALT, "a"), now=0)
    assert [m.count for m in b.take(0)] == [1]
    b.add(Notice(HALT, "b"), now=1)
    assert b.take(1) == []  # one message per 60 s, and one already left at 0
    assert b.next_due(1) == 60
    b.add(Notice(HALT, "c"), now=30)
    assert b.take(59.9) == []
    assert b.take(60) == [Message(HALT, 2, ("b", "c"))]


def test_shutdown_takes_everything_at_once_limits_aside() -> None:
    b = batcher(batch_s=5, max_messages=1)
    b.add(Notice(HALT, "a"), now=0)
    b.add(Notice(FAULT, "b"), now=0)
    b.add(Notice(FILL, "c"), now=0)
    assert [(m.kind, m.count) for m in b.take_all(0)] == [(HALT, 1), (FAULT, 1), (FILL, 1)]
    assert b.held == 0


def test_a_line_is_one_line_and_bounded() -> None:
    b = batcher(batch_s=0)
    b.add(Notice(FAULT, "first\n  second\tthird"), now=0)
    b.add(Notice(FAULT, "x" * 1000), now=0)
    (message,) = b.take(0)
    assert message.lines[0] == "first second third"
    assert len(message.lines[1]) == MAX_LINE_CHARS and message.lines[1].endswith("...")


def test_render_names_the_origin_the_count_and_what_was_left_out() -> None:
    assert Message(HALT, 1, ("p1 halted: loss",)).render("node n1") == (
        "livecore node n1: risk halt",
        "p1 halted: loss",
    )
    title, body = Message(FAULT, 5, ("a", "b")).render("gateway gw-1")
    assert title == "livecore gateway gw-1: 5 x fault"
    assert body == "a\nb\n... and 3 more"


# --- properties ------------------------------------------------------------------------

KINDS = st.sampled_from(list(NoticeKind))
# a step: wait ``dt`` tenths of a second, then add a notice of a kind (or only look)
STEPS = st.lists(st.tuples(st.integers(0, 200), st.one_of(st.none(), KINDS)), max_size=80)
LIMITS = st.builds(
    BatchSettings,
    batch_s=st.integers(0, 10).map(float),
    window_s=st.integers(1, 100).map(float),
    max_messages=st.integers(1, 5),
    max_lines=st.integers(1, 4),
)


def _run(limits: BatchSettings, steps: list[tuple[int, NoticeKind | None]]) -> tuple[list, list, Counter, float]:
    """Play the steps; return (timed messages, final messages, notices added per kind, end time)."""
    b = Batcher(limits)
    now, added, out = 0.0, Counter[NoticeKind](), []
    opened: dict[NoticeKind, float] = {}
    for dt, kind in steps:
        now += dt / 10
        if kind is not None:
            b.add(Notice(kind, f"{kind}-{added[kind]}"), now)
            opened.setdefault(kind, now)
            added[kind] += 1
        for message in b.take(now):
            out.append((now, opened.pop(message.kind), message))
    return out, b.take_all(now), added, now


@settings(max_examples=300, deadline=None)
@given(LIMITS, STEPS)
def test_every_notice_counts_in_exactly_one_message(limits: BatchSettings, steps: list) -> None:
    timed, final, added, _ = _run(limits, steps)
    told = Counter[NoticeKind]()
    for message in [m for _, _, m in timed] + final:
        told[message.kind] += message.count
    assert told == added


@settings(max_examples=300, deadline=None)
@given(LIMITS, STEPS)
def test_never_more_than_the_limit_in_any_window(limits: BatchSettings, steps: list) -> None:
    timed, _, _, _ = _run(limits, steps)
    sent = [at for at, _, _ in timed]
    for i, start in enumerate(sent):
        assert sum(1 for at in sent[i:] if at < start + limits.window_s) <= limits.max_messages


@settings(max_examples=300, deadline=None)
@given(LIMITS, STEPS)
def test_a_message_waits_its_gathering_delay_and_keeps_its_first_lines_in_order(
    limits: BatchSettings, steps: list
) -> None:
    timed, final, _, _ = _run(limits, steps)
    for at, opened, _ in timed:
        assert at >= opened + limits.batch_s
    seen = Counter[NoticeKind]()
    for message in [m for _, _, m in timed] + final:
        assert 1 <= len(message.lines) <= min(message.count, limits.max_lines)
        expected = [f"{message.kind}-{seen[message.kind] + i}" for i in range(len(message.lines))]
        assert list(message.lines) == expected
        seen[message.kind] += message.count


@settings(max_examples=300, deadline=None)
@given(LIMITS, STEPS)
def test_next_due_is_exactly_when_take_releases_something(limits: BatchSettings, steps: list) -> None:
    b = Batcher(limits)
    now = 0.0
    for dt, kind in steps:
        now += dt / 10
        if kind is not None:
            b.add(Notice(kind, "x"), now)
        b.take(now)
    due = b.next_due(now)
    if due is None:
        assert b.held == 0
        return
    probe = max(now, due) - 0.05
    if probe >= now:
        assert b.take(probe) == []
    assert b.take(max(now, due)) != []
