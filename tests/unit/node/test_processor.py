from livecore.node.mailbox import FeedbackItem, FeedbackTicket, MarketSlot
from livecore.node.processor import PortfolioProcessor
from livecore.notify import NoticeKind
from livecore.testing.receiver import RecordingSink
from tests.unit.node.fakes import FakeHost, FakePortfolio, fill, tick


def make(buy: bool = False, size: int = 100) -> tuple[PortfolioProcessor, FakePortfolio, FakeHost]:
    portfolio = FakePortfolio("p1", {"AAA", "BBB"}, buy=buy)
    host = FakeHost()
    return (
        PortfolioProcessor(portfolio=portfolio, host=host, mailbox_size=size, feedback_mailbox_size=size),
        portfolio,
        host,
    )


def market(*prices: str) -> list[MarketSlot]:
    return [MarketSlot("AAA", tick("AAA", p), 1000 + i) for i, p in enumerate(prices)]


def test_applies_in_order_and_sends_orders_with_the_triggering_receive_time() -> None:
    processor, portfolio, host = make(buy=True)
    processor.offer_market(market("1", "2", "3"))
    assert host.scheduled == [processor]
    assert processor.run_batch(100) is False
    assert [str(e.price) for e in portfolio.market] == ["1", "2", "3"]
    assert [(pid, [o.client_order_id for o in orders], t) for pid, orders, t in host.sent] == [
        ("p1", ["p1-1-1"], 1000),
        ("p1", ["p1-1-2"], 1001),
        ("p1", ["p1-1-3"], 1002),
    ]


def test_a_raising_portfolio_is_isolated_but_fills_still_apply() -> None:
    processor, portfolio, _host = make()
    portfolio.raise_on_market = True
    processor.offer_market(market("1"))
    processor.run_batch(100)  # does not raise
    assert processor.faulted and processor.error is not None
    portfolio.raise_on_market = False
    processor.offer_market(market("2"))
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), FeedbackTicket(0, 7)))
    processor.run_batch(100)
    assert portfolio.market == []  # no more market events for an isolated portfolio
    assert portfolio.fills == ["f1"]


def test_feedback_ticket_released_only_after_the_snapshot_is_saved() -> None:
    processor, portfolio, host = make()
    host.save_ok = False
    ticket = FeedbackTicket(0, 5)
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), ticket))
    processor.run_batch(100)
    assert portfolio.fills == ["f1"] and not ticket.done
    assert processor.dirty
    host.save_ok = True
    processor.request_snapshot()
    processor.run_batch(100)
    assert ticket.done
    assert b"f1" in host.snapshots[-1]


def test_duplicate_feedback_is_released_too() -> None:
    processor, portfolio, _host = make()
    first, again = FeedbackTicket(0, 1), FeedbackTicket(0, 2)
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), first))
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), again))
    processor.run_batch(100)
    assert portfolio.fills == ["f1"]
    assert first.done and again.done


def test_universe_change_is_reported() -> None:
    processor, portfolio, host = make()
    with processor.exclusive() as hosted:
        assert hosted is portfolio
        portfolio.change_universe({"CCC"})
    assert host.universe == [frozenset({"CCC"})]


def test_quiesce_stops_trading_and_sends_the_outbox() -> None:
    processor, portfolio, host = make()
    portfolio.outbox.append(__import__("tests.unit.node.fakes", fromlist=["order"]).order("p1", 1, 9, "AAA"))
    processor.quiesce()
    assert portfolio.trading_enabled is False
    assert host.sent[-1][2] is None
    assert host.sent[-1][1][0].client_order_id == "p1-1-9"


def test_close_without_persist_sends_nothing_and_releases_tickets() -> None:
    processor, _portfolio, host = make(buy=True)
    ticket = FeedbackTicket(0, 3)
    processor.offer_feedback(FeedbackItem(fill("p1", "f9"), ticket))
    processor.offer_market(market("1"))
    saved = processor.close(persist=False)
    assert saved is False
    assert host.sent == [] and host.snapshots == []
    assert ticket.done
    assert processor.closed
    assert processor.offer_feedback(FeedbackItem(fill("p1", "f10"), None)) is False
    assert processor.run_batch(10) is False


def test_close_with_persist_saves_the_applied_fills() -> None:
    processor, _portfolio, host = make()
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), FeedbackTicket(0, 1)))
    assert processor.close(persist=True) is True
    assert b"f1" in host.snapshots[-1]


def test_view_is_cached_until_something_changes() -> None:
    processor, _portfolio, _host = make()
    first = processor.view_json("n1")
    assert first is not None and '"node_id":"n1"' in first
    assert processor.view_json("n1") is first
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), None))
    processor.run_batch(10)
    assert '"fills":1' in (processor.view_json("n1") or "")


def watched(portfolio: FakePortfolio) -> tuple[PortfolioProcessor, RecordingSink]:
    sink = RecordingSink()
    processor = PortfolioProcessor(
        portfolio=portfolio, host=FakeHost(), mailbox_size=10, feedback_mailbox_size=10, notices=sink
    )
    return processor, sink


def test_a_risk_halt_and_a_fault_are_told_once_each() -> None:
    portfolio = FakePortfolio("p1", {"AAA"})
    processor, sink = watched(portfolio)
    processor.offer_market(market("1"))
    processor.run_batch(100)
    assert sink.notices == []
    portfolio.halt_reason = "daily_loss_limit: loss 5000 >= 2% of 100000"
    processor.offer_market(market("2"))
    processor.run_batch(100)
    processor.offer_market(market("3"))
    processor.run_batch(100)
    assert sink.of(NoticeKind.RISK_HALT) == ["p1 halted: daily_loss_limit: loss 5000 >= 2% of 100000"]
    portfolio.raise_on_market = True
    processor.offer_market(market("4"))
    processor.run_batch(100)
    (fault,) = sink.of(NoticeKind.FAULT)
    assert fault.startswith("p1: faulted, no more orders: on_market: RuntimeError: strategy bug")
    assert len(sink.notices) == 2


def test_a_portfolio_loaded_already_halted_is_not_told_again_but_a_new_halt_is() -> None:
    portfolio = FakePortfolio("p1", {"AAA"})
    portfolio.halt_reason = "halted yesterday"
    processor, sink = watched(portfolio)
    processor.offer_market(market("1"))
    processor.run_batch(100)
    assert sink.notices == []
    with processor.exclusive() as hosted:  # an operator reload clears the halt
        hosted.halt_reason = None  # type: ignore[misc]
    portfolio.halt_reason = "halted today"
    processor.offer_market(market("2"))
    processor.run_batch(100)
    assert sink.of(NoticeKind.RISK_HALT) == ["p1 halted: halted today"]


def test_an_isolated_portfolio_is_a_fault() -> None:
    processor, sink = watched(FakePortfolio("p1", {"AAA"}))
    processor.isolate("needs reconcile: feedback given up: gone")
    assert sink.of(NoticeKind.FAULT) == ["p1: faulted, no more orders: needs reconcile: feedback given up: gone"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_saved_snapshot_records_an_equity_point_at_most_once_per_interval() -> None:
    portfolio, host, clock = FakePortfolio("p1", {"AAA"}), FakeHost(), Clock()
    processor = PortfolioProcessor(
        portfolio=portfolio, host=host, mailbox_size=10, feedback_mailbox_size=10, equity_interval_s=30.0, clock=clock
    )
    assert processor.persist()
    assert [s.equity for s in host.equity] == [1000]  # the first snapshot (a load's) records one
    for fill_id in ("f1", "f2"):  # each applied fill saves a snapshot: too soon for another point
        processor.offer_feedback(FeedbackItem(fill("p1", fill_id), FeedbackTicket(0, 1)))
        processor.run_batch(10)
    assert len(host.snapshots) == 3 and len(host.equity) == 1
    clock.now += 30.0
    processor.offer_feedback(FeedbackItem(fill("p1", "f3"), FeedbackTicket(0, 2)))
    processor.run_batch(10)
    assert [s.equity for s in host.equity] == [1000, 1003]


def test_no_equity_point_without_an_interval_or_when_the_snapshot_fails() -> None:
    processor, _portfolio, host = make()  # no equity_interval_s
    assert processor.persist()
    assert host.equity == []
    portfolio, host = FakePortfolio("p2", {"AAA"}), FakeHost()
    host.save_ok = False
    processor = PortfolioProcessor(
        portfolio=portfolio, host=host, mailbox_size=10, feedback_mailbox_size=10, equity_interval_s=1.0
    )
    assert not processor.persist()
    assert host.equity == []


def test_feedback_snapshots_are_at_most_one_per_interval_and_put_off_ones_follow() -> None:
    """An order's reports milliseconds apart cost one snapshot; the ones that came too
    soon keep their tickets until the deferred snapshot is saved."""
    portfolio, host, clock = FakePortfolio("p1", {"AAA"}), FakeHost(), Clock()
    processor = PortfolioProcessor(
        portfolio=portfolio, host=host, mailbox_size=10, feedback_mailbox_size=10,
        feedback_snapshot_interval_s=1.0, clock=clock,
    )  # fmt: skip
    assert processor.persist()  # the load's
    first, second = FeedbackTicket(0, 1), FeedbackTicket(0, 2)
    clock.now += 1.0
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), first))
    processor.run_batch(10)
    assert first.done and len(host.snapshots) == 2 and host.deferred == []
    clock.now += 0.005
    processor.offer_feedback(FeedbackItem(fill("p1", "f2"), second))
    processor.run_batch(10)
    assert portfolio.fills == ["f1", "f2"] and not second.done and len(host.snapshots) == 2
    assert host.deferred == [processor] and not processor.feedback_snapshot_due
    clock.now += 0.995
    assert processor.feedback_snapshot_due
    processor.request_snapshot()
    processor.run_batch(10)
    assert second.done and len(host.snapshots) == 3 and b"f2" in host.snapshots[-1]


def test_a_failed_feedback_snapshot_is_put_off_and_tried_again() -> None:
    processor, _portfolio, host = make()  # interval 0: a snapshot after every batch
    host.save_ok = False
    ticket = FeedbackTicket(0, 1)
    processor.offer_feedback(FeedbackItem(fill("p1", "f1"), ticket))
    processor.run_batch(10)
    assert host.deferred == [processor] and not ticket.done
    host.save_ok = True
    processor.request_snapshot()
    processor.run_batch(10)
    assert ticket.done
