import threading

from livecore.node.mailbox import MarketSlot
from livecore.node.processor import PortfolioProcessor
from livecore.node.workers import WorkerPool
from tests.servers import wait_until
from tests.unit.node.fakes import FakeHost, FakePortfolio, tick


class PoolHost(FakeHost):
    def __init__(self, pool: WorkerPool) -> None:
        super().__init__()
        self.pool = pool

    def schedule(self, processor: PortfolioProcessor) -> None:
        self.pool.submit(processor)


def test_thousand_portfolios_on_four_workers_keep_per_portfolio_order() -> None:
    pool = WorkerPool(name="w", workers=4, batch=7)
    host = PoolHost(pool)
    portfolios = [FakePortfolio(f"p{i}", {"AAA"}) for i in range(1000)]
    processors = [
        PortfolioProcessor(portfolio=p, host=host, mailbox_size=10_000, feedback_mailbox_size=10) for p in portfolios
    ]
    pool.start()
    try:
        for round_ in range(20):
            for processor in processors:
                processor.offer_market([MarketSlot("AAA", tick("AAA", str(round_ + 1)), 0)])
        wait_until(lambda: all(len(p.market) == 20 for p in portfolios), 30, "all events applied")
    finally:
        pool.stop(5)
    assert threading.active_count() < 20  # a pool, not a thread per portfolio
    for portfolio in portfolios:
        assert [int(e.price) for e in portfolio.market] == list(range(1, 21))
        assert portfolio.overlaps == 0


def test_a_slow_portfolio_does_not_stall_the_others() -> None:
    pool = WorkerPool(name="w", workers=2, batch=10)
    host = PoolHost(pool)
    slow = FakePortfolio("slow", {"AAA"})
    slow.gate = threading.Event()
    fast = [FakePortfolio(f"f{i}", {"AAA"}) for i in range(50)]
    pool.start()
    try:
        PortfolioProcessor(portfolio=slow, host=host, mailbox_size=100, feedback_mailbox_size=10).offer_market(
            [MarketSlot("AAA", tick("AAA"), 0)]
        )
        for portfolio in fast:
            PortfolioProcessor(portfolio=portfolio, host=host, mailbox_size=100, feedback_mailbox_size=10).offer_market(
                [MarketSlot("AAA", tick("AAA"), 0)]
            )
        wait_until(lambda: all(len(p.market) == 1 for p in fast), 10, "fast portfolios served")
        assert slow.market == []
    finally:
        slow.gate.set()
        pool.stop(5)
