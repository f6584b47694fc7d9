"""The hosted-portfolio table: lookups, walks, changes and the in-flight query."""

from __future__ import annotations

import threading
from typing import Any

from livecore.node.processor import PortfolioProcessor
from livecore.node.table import HostedPortfolios
from tests.unit.node.fakes import FakeHost, FakePortfolio


class OpenOrdersPortfolio(FakePortfolio):
    """A view that lists open orders, as the domain portfolio's does."""

    def __init__(self, pid: str, order_types: list[str]) -> None:
        super().__init__(pid, {"AAA"})
        self.order_types = order_types

    def view(self) -> dict[str, Any]:
        return {"portfolio_id": self.portfolio_id, "open_orders": [{"order_type": t} for t in self.order_types]}


def processor(portfolio: FakePortfolio) -> PortfolioProcessor:
    return PortfolioProcessor(portfolio=portfolio, host=FakeHost(), mailbox_size=10, feedback_mailbox_size=10)


def test_lookups_and_walks_see_what_was_added() -> None:
    table = HostedPortfolios(node_id="n1")
    a, b = processor(FakePortfolio("a", {"AAA"}, epoch=3)), processor(FakePortfolio("b", {"BBB"}, epoch=5))
    assert len(table) == 0 and table.get("a") is None and "a" not in table
    table.add(a)
    table.add(b)
    assert table.get("a") is a and table["b"] is b and "b" in table and len(table) == 2
    assert sorted(table.ids()) == ["a", "b"]
    assert table.epochs() == {"a": 3, "b": 5}
    assert {p.portfolio_id for p in table.processors()} == {"a", "b"}


def test_discard_removes_only_the_processor_still_hosted() -> None:
    table = HostedPortfolios(node_id="n1")
    old, new = processor(FakePortfolio("a", {"AAA"}, epoch=1)), processor(FakePortfolio("a", {"AAA"}, epoch=2))
    table.add(old)
    table.add(new)  # re-fenced: the new processor replaces the old one
    assert table.discard(old) is False and table["a"] is new
    assert table.discard(new) is True and "a" not in table
    table.add(old)
    table.clear()
    assert table.ids() == []


def test_a_walk_is_a_copy_that_later_changes_do_not_touch() -> None:
    table = HostedPortfolios(node_id="n1")
    table.add(processor(FakePortfolio("a", {"AAA"})))
    walked = table.processors()
    table.add(processor(FakePortfolio("b", {"BBB"})))
    assert [p.portfolio_id for p in walked] == ["a"]


def test_in_flight_market_orders_counts_open_market_orders_only() -> None:
    table = HostedPortfolios(node_id="n1")
    table.add(processor(OpenOrdersPortfolio("a", ["market", "limit", "market"])))
    table.add(processor(OpenOrdersPortfolio("b", ["limit"])))
    table.add(processor(OpenOrdersPortfolio("c", [])))
    assert table.in_flight_market_orders() == 2


def test_in_flight_skips_a_closed_processor() -> None:
    table = HostedPortfolios(node_id="n1")
    closing = processor(OpenOrdersPortfolio("a", ["market"]))
    table.add(closing)
    closing.close(persist=False)
    assert table.in_flight_market_orders() == 0


def test_concurrent_adds_and_walks_never_see_a_changing_dict() -> None:
    table = HostedPortfolios(node_id="n1")
    done = threading.Event()
    errors: list[BaseException] = []

    def walk() -> None:
        while not done.is_set():
            try:
                table.epochs()
            except BaseException as exc:  # a dict changed during iteration
                errors.append(exc)
                return

    walker = threading.Thread(target=walk)
    walker.start()
    try:
        for i in range(2000):
            p = processor(FakePortfolio(f"p{i}", {"AAA"}))
            table.add(p)
            table.discard(p)
    finally:
        done.set()
        walker.join()
    assert errors == [] and len(table) == 0
