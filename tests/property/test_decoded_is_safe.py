"""Any message that decodes can be journaled, priced, filled and booked without
an exception.

Raw JSON payloads of every message type, mixing valid values with boundary and
out-of-range ones, are decoded; a payload that fails must fail with
``MalformedMessage``, and one that decodes goes through the journal of a real
SqlStore (SQLite; a smaller sample on PostgreSQL), the paper broker and its
costs, and the books of a Portfolio (see ``harness.Exerciser``). Each test also
checks that enough payloads decoded for the property to mean something.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecore.adapters.sql_store import SqlStore
from livecore.wire import codec
from livecore.wire import messages as m
from tests.property import payloads
from tests.property.harness import Exerciser


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'journal.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def postgres_store(postgres_url: str) -> Iterator[SqlStore]:
    store = SqlStore(postgres_url)
    try:
        yield store
    finally:
        store.close()


def _dispatch(exerciser: Exerciser, message: Any) -> None:
    if isinstance(message, m.Tick | m.Bar):
        exerciser.market_event(message)
    elif isinstance(message, m.NewOrder):
        exerciser.new_order(message)
    elif isinstance(message, m.CancelOrder):
        exerciser.cancel_order(message)
    elif isinstance(message, m.OrderFeedback):
        exerciser.feedback(message)
    else:
        assert isinstance(message, m.ScheduleCommand)
        exerciser.command(message)


CASES: dict[str, tuple[Callable[[], st.SearchStrategy[bytes]], codec.Decoder[Any]]] = {
    "tick": (payloads.tick_payloads, codec.market_events),
    "bar": (payloads.bar_payloads, codec.market_events),
    "new_order": (payloads.new_order_payloads, codec.order_requests),
    "cancel": (payloads.cancel_payloads, codec.order_requests),
    "feedback": (payloads.feedback_payloads, codec.order_feedback),
    "command": (payloads.command_payloads, codec.schedule_commands),
}


def _run(store: SqlStore, case: str, examples: int) -> Counter[str]:
    strategy, decoder = CASES[case]
    exerciser = Exerciser(store)
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # a fixed sequence: the decoded/refused split cannot fall short by chance
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(payload=strategy())
    def check(payload: bytes) -> None:
        try:
            message = decoder.decode(payload)
        except codec.MalformedMessage as exc:
            assert exc.reason
            outcomes["refused"] += 1
            return
        outcomes["decoded"] += 1
        _dispatch(exerciser, message)

    check()
    outcomes.update(exerciser.seen)
    return outcomes


@pytest.mark.parametrize("case", list(CASES))
def test_decoded_messages_are_safe_on_sqlite(sqlite_store: SqlStore, case: str) -> None:
    outcomes = _run(sqlite_store, case, examples=200)
    assert outcomes["decoded"] >= 20, outcomes
    assert outcomes["refused"] >= 20, outcomes


@pytest.mark.parametrize("case", list(CASES))
def test_decoded_messages_are_safe_on_postgres(postgres_store: SqlStore, case: str) -> None:
    outcomes = _run(postgres_store, case, examples=40)
    assert outcomes["decoded"] >= 2, outcomes
