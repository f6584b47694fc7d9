"""What the notification hooks cost the caller (the trading path), in ns per call.

- the node's per-batch fault/halt check (``PortfolioProcessor._check_alarms``)
  on a real domain portfolio, when nothing changed (the common case);
- ``Notifier.notify`` of a notice (the put on the bounded queue), with the
  notifier's thread parked in a sender that hangs, as with a stuck receiver;
- the same on a full queue (the notice is dropped and counted);
- ``NO_NOTICES.notify`` (a deployment without notification URLs).

Best of ``--repeat`` runs. Asserts nothing.

    .venv/bin/python bench/bench_notify.py [--calls 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

from livecore.node.factory import DomainPortfolios
from livecore.node.processor import Order, PortfolioProcessor
from livecore.notify import NO_NOTICES, BatchSettings, Notice, NoticeKind, Notifier, NotifySettings
from livecore.testing.strategies import spec_toml


class _Host:
    """Enough of a ``ProcessorHost`` for a processor that is never scheduled."""

    def schedule(self, processor: PortfolioProcessor) -> None: ...

    def send_orders(self, processor: PortfolioProcessor, orders: list[Order], received_ns: int | None) -> None: ...

    def save_snapshot(self, processor: PortfolioProcessor, data: bytes) -> bool:
        return True

    def tickets_done(self, tickets: list[object]) -> None: ...

    def defer_snapshot(self, processor: PortfolioProcessor) -> None: ...

    def universe_changed(self, processor: PortfolioProcessor, symbols: frozenset[str]) -> None: ...


def best_ns(call: Callable[[], object], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter_ns() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    calls, repeat = args.calls, args.repeat

    factory = DomainPortfolios()
    portfolio = factory.create(factory.parse(spec_toml("p1", ["AAA"]), "bench"), 1, "n1")
    processor = PortfolioProcessor(
        portfolio=portfolio,
        host=_Host(),  # type: ignore[arg-type]
        mailbox_size=10,
        feedback_mailbox_size=10,
    )

    release, entered = threading.Event(), threading.Event()

    def hung(title: str, body: str, kind: NoticeKind) -> bool:
        entered.set()
        release.wait()
        return True

    notice = Notice(NoticeKind.REJECTION, "p1: order p1-1-1 buy AAA rejected: stale_epoch")
    limits = BatchSettings(batch_s=0)
    room = Notifier(
        NotifySettings(urls=("json://bench/",), limits=limits, queue_size=calls * repeat + 1), origin="b", send=hung
    )
    room.start()
    room.notify(notice)
    entered.wait(10)
    full = Notifier(NotifySettings(urls=("json://bench/",), queue_size=1), origin="b", send=hung)
    full.notify(notice)

    rows = [
        ("processor fault/halt check per batch", best_ns(processor._check_alarms, calls, repeat)),
        ("Notifier.notify (receiver hung)", best_ns(lambda: room.notify(notice), calls, repeat)),
        ("Notifier.notify on a full queue (dropped)", best_ns(lambda: full.notify(notice), calls, repeat)),
        ("NO_NOTICES.notify", best_ns(lambda: NO_NOTICES.notify(notice), calls, repeat)),
    ]
    for label, ns in rows:
        print(f"{label:45s} {ns:8.0f} ns")
    release.set()  # the notifiers' threads are daemons: they end with the process


if __name__ == "__main__":
    main()
