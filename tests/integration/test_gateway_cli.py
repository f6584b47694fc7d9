"""`livecore gateway` as a real process: trades on Tansu, stops on SIGTERM, and
`livecore gateway journal --json` prints what it journaled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal as D
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from tests.servers import wait_until

from livecore.adapters.factory import open_bus
from livecore.ports.bus import ConsumerSettings
from livecore.wire.codec import encode, order_feedback
from livecore.wire.messages import FeedbackStatus, NewOrder, OrderFeedback, Side, Tick
from livecore.wire.names import Topics

CONSUMER = ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=750)


def livecore(*args: str) -> list[str]:
    return [sys.executable, "-c", "from livecore.cli.app import main; main()", *args]


@pytest.mark.kafka
def test_gateway_process_trades_stops_on_sigterm_and_prints_its_journal(kafka_url: str, tmp_path: Path) -> None:
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    common = ["--bus", kafka_url, "--db", db, "--secret", "s3cret", "--topic-prefix", prefix]
    log = (tmp_path / "gateway.log").open("wb")
    process = subprocess.Popen(
        livecore(*common, "gateway", "--no-require-fence", "--slippage-bps", "5", "--commission-min", "1"),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    topics = Topics(prefix)
    admin = AdminClient({"bootstrap.servers": kafka_url.removeprefix("kafka://"), "log_level": 0})

    def gateway_created_its_topics() -> bool:  # clients never auto-create: the system's processes do
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited: {(tmp_path / 'gateway.log').read_text()}")
        present = admin.list_topics(timeout=1).topics
        return topics.orders in present and topics.market_data in present

    wait_until(gateway_created_its_topics, 60, "the gateway's topics")
    bus = open_bus(kafka_url)
    producer = bus.producer()
    reader = bus.consumer(f"r-{uuid.uuid4().hex}", [topics.orders_feedback], "earliest", CONSUMER)
    seen: list[OrderFeedback] = []
    try:
        order = NewOrder(
            client_order_id="demo-0-1",
            portfolio_id="demo",
            epoch=0,
            node_id="hand",
            symbol="AAPL",
            side=Side.BUY,
            quantity=D(5),
            created_ns=1,
        )
        producer.publish_sync(topics.orders, "demo", encode(order))

        def answered(count: int) -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"gateway exited: {(tmp_path / 'gateway.log').read_text()}")
            seen.extend(order_feedback.decode(r.value) for r in reader.poll(100, 0.1))
            return len(seen) >= count

        wait_until(lambda: answered(1), 60, "accepted")
        assert seen[0].status is FeedbackStatus.ACCEPTED

        def filled() -> bool:  # the gateway reads market data from `latest`: tick until it fills
            tick = Tick(symbol="AAPL", ts_ns=1, price=D("100"))
            producer.publish_sync(topics.market_data, "AAPL", encode(tick))
            return answered(2)

        wait_until(filled, 60, "fill", interval=0.3)
        assert seen[1].status is FeedbackStatus.FILLED and seen[1].fill_price == D("100.0500")
    finally:
        reader.close()
        producer.close()
        bus.close()
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        log.close()
    assert code == 0, (tmp_path / "gateway.log").read_text()
    assert "stopped" in (tmp_path / "gateway.log").read_text()

    out = subprocess.run(
        livecore("--db", db, "gateway", "journal", "--portfolio", "demo", "--json"),
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert [o["client_order_id"] for o in report["orders"]] == ["demo-0-1"]
    assert report["orders"][0]["status"] == "filled" and report["orders"][0]["filled_qty"] == "5"
    assert [(f["fill_id"], f["price"], f["commission"]) for f in report["fills"]] == [
        ("demo-0-1-f1", "100.0500", "1.0000")
    ]
    wide = {**os.environ, "COLUMNS": "240"}
    table = subprocess.run(
        livecore("--db", db, "gateway", "journal"), capture_output=True, text=True, check=True, env=wide
    )
    assert "demo-0-1-f1" in table.stdout and "Fills (1)" in table.stdout


def test_bad_gateway_option_is_one_line_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run(
        livecore("--db", db, "gateway", "--participation", "2"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "participation must be in (0, 1]" in result.stderr
