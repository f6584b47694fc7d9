"""How long a Kafka broker outage lasts for livecore, from the broker's side.

The harness of ``tests/e2e/test_broker_restart.py`` (``livecore.testing.broker_restart``:
a ``TradeGateway``, a synthetic feed at 50 ticks/s and an order client, each on its own
``KafkaBus``; memory coordination; SQLite journal) on a private Tansu with
memory storage (every restart loses the data). Per round: SIGKILL the broker,
send one order, then measure

* kill -> ``status`` says ``degraded`` for the gateway and the feed,
* restart (broker answers) -> ``status`` ``ok`` again,
* restart -> the order sent during the outage is journaled,
* restart -> a new order sent after the restart is journaled,
* restart -> 10 more of the feed's ticks consumed by the gateway.

    .venv/bin/python bench/bench_broker_restart.py [--rounds 3] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from livecore.testing.broker_restart import System
from livecore.testing.servers import ServerProcess, tansu_broker, wait_until

TIMEOUT = 120.0


def since(start: float, condition: Callable[[], bool], what: str) -> float:
    wait_until(condition, TIMEOUT, what, interval=0.05)
    return time.monotonic() - start


def one_round(system: System, broker: ServerProcess) -> dict[str, float]:
    first = system.order()
    wait_until(lambda: system.journaled(first), TIMEOUT, "order before the outage")
    killed = time.monotonic()
    broker.kill()
    during = system.order()
    degraded = since(killed, lambda: system.degraded() == {"gateway:gw1", "feed:feed"}, "degraded")
    time.sleep(2.0)  # an outage of a couple of seconds (the bench's condition, not a wait for a result)
    broker.start()
    up = time.monotonic()
    ticks = system.ticks_seen()
    figures = {"kill -> degraded": degraded}
    figures["restart -> status ok"] = since(up, lambda: system.health() == "ok", "ok")
    figures["restart -> outage order journaled"] = since(up, lambda: system.journaled(during), "outage order")
    after = system.order()
    figures["restart -> new order journaled"] = since(up, lambda: system.journaled(after), "new order")
    figures["restart -> ticks reach the gateway"] = since(up, lambda: system.ticks_seen() > ticks + 10, "ticks")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    with tansu_broker() as broker, tempfile.TemporaryDirectory() as tmp:
        system = System(broker, Path(tmp))
        try:
            system.start()
            for n in range(args.rounds):
                rounds.append(one_round(system, broker))
                print(f"round {n + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in rounds[-1].items()), flush=True)
        finally:
            system.close()
    print(f"\n| step | median s | max s | ({args.rounds} rounds) |\n|---|---|---|---|")
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        print(f"| {key} | {statistics.median(values):.2f} | {max(values):.2f} | |")


if __name__ == "__main__":
    main()
