from livecore.node.latency import LatencyRecorder
from livecore.node.orders import OrderSender
from livecore.node.processor import PortfolioProcessor
from tests.unit.node.fakes import FakeHost, FakePortfolio, FlakyProducer, order


def setup(producer: FlakyProducer) -> tuple[OrderSender, PortfolioProcessor, FakePortfolio]:
    latency = LatencyRecorder()
    sender = OrderSender(topic="orders", retry_interval_s=0.0, latency=latency)
    sender.attach(producer)
    portfolio = FakePortfolio("p1", {"AAA"})
    processor = PortfolioProcessor(portfolio=portfolio, host=FakeHost(), mailbox_size=10, feedback_mailbox_size=10)
    return sender, processor, portfolio


def test_submitted_only_after_delivery_and_retried_with_the_same_bytes() -> None:
    producer = FlakyProducer(failures=1, refuse=1)
    sender, processor, portfolio = setup(producer)
    sender.send(processor, [order("p1", 1, 1, "AAA")], received_ns=None)
    assert producer.published == []  # refused by the producer: queued for retry
    assert sender.inflight("p1") == 1
    sender.service()  # resent -> published; its delivery will fail
    assert len(producer.published) == 1
    processor.run_batch(10)
    assert portfolio.submitted == []
    assert sender.wait_delivered("p1", timeout=5)
    assert len(producer.published) == 2
    assert producer.published[0] == producer.published[1]
    assert producer.published[0][1] == "p1"
    processor.run_batch(10)
    assert portfolio.submitted == ["p1-1-1"]
    assert sender.inflight() == 0


def test_no_resend_once_the_portfolio_is_gone() -> None:
    producer = FlakyProducer(failures=1)
    sender, processor, _portfolio = setup(producer)
    sender.send(processor, [order("p1", 1, 1, "AAA")], received_ns=None)
    processor.close(persist=False)
    sender.service()  # the delivery failure is served: no resend for a closed portfolio
    assert len(producer.published) == 1
    assert sender.inflight() == 0


def test_latency_is_recorded_for_market_triggered_orders() -> None:
    latency = LatencyRecorder()
    sender = OrderSender(topic="orders", retry_interval_s=0.0, latency=latency)
    sender.attach(FlakyProducer())
    processor = PortfolioProcessor(
        portfolio=FakePortfolio("p1", {"AAA"}), host=FakeHost(), mailbox_size=10, feedback_mailbox_size=10
    )
    import time

    sender.send(processor, [order("p1", 1, 1, "AAA")], received_ns=time.perf_counter_ns())
    assert latency.count == 1
    assert (latency.quantile(0.99) or -1) >= 0
