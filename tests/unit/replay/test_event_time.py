"""Event time without servers: the clock that follows the data, the feed that
keeps (or shifts) the data's timestamps, the node's market gate, and the
predicates a lockstep replay waits on."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest

from livecore.adapters.factory import open_bus
from livecore.errors import ConfigError
from livecore.eventtime import EventClock
from livecore.feed.config import FeedConfig
from livecore.feed.readers import ReplayData
from livecore.feed.runner import FeedRunner, replay_schedule
from livecore.gateway.service import GatewayProgress
from livecore.lockstep import Quiet, Snapshot, gateway_caught_up, settled
from livecore.node.gate import MarketGate, NodeProgress
from livecore.wire.codec import market_events
from livecore.wire.messages import Tick
from livecore.wire.names import Topics

DAY = 86_400 * 10**9


def _ticks(*stamps: int) -> ReplayData:
    events = [Tick(symbol="AAA", ts_ns=ts, price=Decimal(10), size=Decimal(1)) for ts in stamps]
    return ReplayData(events=events, files=[], symbols=["AAA"], kinds={"tick"})


def test_event_clock_follows_the_latest_event_and_never_goes_back() -> None:
    clock = EventClock()
    assert clock() == 0
    clock.observe(5 * DAY)
    clock.observe(3 * DAY)
    assert clock() == 5 * DAY


def test_event_time_feed_keeps_the_data_timestamps_and_a_live_feed_restamps() -> None:
    data = _ticks(DAY, 2 * DAY)
    for event_time, expected in ((True, [DAY, 2 * DAY]), (False, [7, 7])):
        bus = open_bus(f"memory://{uuid.uuid4().hex}")
        try:
            topic = Topics("").market_data
            consumer = bus.consumer("reader", [topic], "earliest", None)
            consumer.poll(1, 0.01)  # joined before anything is published
            runner = FeedRunner(bus, replay_schedule(data, speed=0), FeedConfig(event_time=event_time), clock=lambda: 7)
            assert runner.run(threading.Event()) == 2
            got = [market_events.decode(r.value).ts_ns for r in consumer.poll(10, 0.5)]
            consumer.close()
        finally:
            bus.close()
        assert got == expected


def test_looping_in_event_time_shifts_each_pass_so_time_never_goes_back() -> None:
    data = _ticks(DAY, 2 * DAY)
    schedule = replay_schedule(data, speed=0, loop=True, shift_passes=True)
    stamps = [next(schedule)[1].ts_ns for _ in range(6)]
    assert stamps == [DAY, 2 * DAY, 3 * DAY, 4 * DAY, 5 * DAY, 6 * DAY]
    plain = replay_schedule(data, speed=0, loop=True)
    assert [next(plain)[1].ts_ns for _ in range(4)] == [DAY, 2 * DAY, DAY, 2 * DAY]


def test_a_barrier_needs_event_time() -> None:
    bus = open_bus(f"memory://{uuid.uuid4().hex}")
    try:
        with pytest.raises(ConfigError, match="event_time"):
            FeedRunner(bus, [], FeedConfig(), barrier=lambda _n: None)
    finally:
        bus.close()


def test_the_feed_calls_the_barrier_after_each_event_with_the_count_published() -> None:
    bus = open_bus(f"memory://{uuid.uuid4().hex}")
    seen: list[int] = []
    try:
        runner = FeedRunner(
            bus, replay_schedule(_ticks(DAY, DAY, 2 * DAY), 0), FeedConfig(event_time=True), barrier=seen.append
        )
        runner.run(threading.Event())
    finally:
        bus.close()
    assert seen == [1, 2, 3]


def test_the_gate_lets_through_exactly_what_it_was_opened_for() -> None:
    gate = MarketGate()
    assert gate.held and not gate.try_pass()
    gate.open_until(2)
    assert gate.try_pass() and gate.try_pass() and not gate.try_pass()
    passed = threading.Event()

    def loop() -> None:
        if gate.wait_pass(should_run=lambda: True, service=lambda: None):
            passed.set()

    thread = threading.Thread(target=loop)
    thread.start()
    assert not passed.wait(0.05)  # held: nothing opened it
    gate.open_until(3)
    thread.join(10)
    assert passed.is_set()


def test_a_held_loop_lets_go_when_its_node_stops_and_is_served_while_it_waits() -> None:
    gate = MarketGate()
    served = threading.Event()
    running = True

    def service() -> None:
        served.set()

    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(gate.wait_pass(should_run=lambda: running, service=service)))
    thread.start()
    assert served.wait(10)
    running = False
    thread.join(10)
    assert result == [False]


def _node(market: int = 3, feedback: int = 2, orders: int = 1, idle: bool = True) -> NodeProgress:
    return NodeProgress(market_settled=market, feedback_settled=feedback, orders_sent=orders, idle=idle)


def _snap(*nodes: NodeProgress, market: int = 3, records: int = 2, feedback: int = 2, published: int = 3) -> Snapshot:
    gateway = GatewayProgress(market_applied=market, order_records=records, feedback_published=feedback)
    return Snapshot(nodes=nodes, gateway=gateway, published=published)


def test_settled_needs_every_count_matched_and_every_mailbox_idle() -> None:
    two = (_node(), _node())
    assert settled(_snap(*two))
    assert not settled(_snap(*two, market=2))  # the gateway has not applied an event
    assert not settled(_snap(*two, records=1))  # an order is on its way to the gateway
    assert not settled(_snap(*two, feedback=3))  # a report is on its way to a node
    assert not settled(_snap(_node(), _node(idle=False)))  # a portfolio is still working
    assert not settled(_snap(_node(), _node(market=2)))  # a node has not taken the last event


def test_the_gateway_catches_up_while_the_nodes_are_held_at_the_gate() -> None:
    held = (_node(market=2), _node(market=2))
    assert gateway_caught_up(_snap(*held)) and not settled(_snap(*held))


def test_quiet_waits_for_two_equal_settled_snapshots_and_gives_up_on_stop() -> None:
    snaps = iter([_snap(_node(idle=False), records=1), _snap(_node(), records=1), _snap(_node(), records=1)])
    quiet = Quiet(probe=lambda: next(snaps), stop=threading.Event(), timeout_s=60)
    assert quiet.wait(settled, "test")
    stop = threading.Event()
    stop.set()
    assert not Quiet(probe=lambda: _snap(_node()), stop=stop, timeout_s=60).wait(settled, "test")


@pytest.mark.parametrize("command", [["run"], ["node"], ["gateway"], ["feed", "replay"]])
def test_every_process_of_an_event_time_replay_takes_event_time(command: list[str]) -> None:
    from typer.testing import CliRunner

    from livecore.cli.app import app

    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--event-time" in result.output


def test_node_and_gateway_configs_carry_event_time_from_the_cli() -> None:
    from livecore.cli.gateway import build_config as gateway_config
    from livecore.cli.node import build_config as node_config
    from livecore.gateway.paper import PaperSettings

    assert node_config(1.0, 3.0, 10, 1, 5.0, "", event_time=True).event_time
    assert gateway_config(
        paper=PaperSettings(), require_fence=True, group="g", topic_prefix="", event_time=True
    ).event_time


def test_the_replay_position_follows_the_data_time_and_counts_passes() -> None:
    from livecore.feed.runner import ReplayPosition

    position = ReplayPosition()
    schedule = replay_schedule(_ticks(DAY, 2 * DAY), speed=0, loop=True, position=position)
    seen = []
    for _ in range(3):
        next(schedule)
        seen.append((position.pass_number, position.data_ts_ns))
    assert seen == [(1, DAY), (1, 2 * DAY), (2, DAY)]
