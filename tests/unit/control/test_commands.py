"""``CommandChannel.send_many``: every command signed and published, one wait for
the broker, order kept per node, and a delivery that fails is an error."""

from __future__ import annotations

import uuid

import pytest

from livecore.adapters.memory_bus import MemoryBus
from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.control.commands import CommandChannel, Outgoing
from livecore.ports.bus import BusError, Delivery, DeliveryCallback, Producer
from livecore.wire import codec, names
from livecore.wire.signing import CommandSigner, CommandVerifier

SECRET = "test-secret"


def channel(producer: Producer) -> CommandChannel:
    coord = MemoryCoordination(f"memory://{uuid.uuid4().hex}")
    return CommandChannel(producer, coord, CommandSigner(SECRET), names.Topics("t."))


def test_send_many_publishes_every_command_signed_and_in_order() -> None:
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    topic = names.Topics("t.").schedule_updates
    bus.create_topics({topic: 1})
    consumer = bus.consumer("reader", [topic], "earliest")
    sent = channel(bus.producer()).send_many(
        [Outgoing("portfolio.load", "n1", f"p{i}", {"epoch": i}) for i in range(1, 4)] + [Outgoing("node.pause", "n2")]
    )
    assert [c.portfolio_id for c in sent] == ["p1", "p2", "p3", None]
    assert len({c.nonce for c in sent}) == 4
    received = [codec.schedule_commands.decode(r.value) for r in consumer.poll(max_records=10, timeout=1.0)]
    assert received == sent
    verifier = CommandVerifier(SECRET)
    for command in received:
        verifier.verify(command)
    assert channel(bus.producer()).send_many([]) == []
    consumer.close()
    bus.close()


class Failing(Producer):
    """Delivers every other message, fails the rest."""

    def __init__(self) -> None:
        self.queued: list[tuple[DeliveryCallback | None, Delivery]] = []

    def publish(
        self, topic: str, key: bytes | str | None, value: bytes, on_delivery: DeliveryCallback | None = None
    ) -> None:
        error = None if len(self.queued) % 2 == 0 else "broker said no"
        self.queued.append((on_delivery, Delivery(topic, None, 0, len(self.queued), error)))

    def poll(self, timeout: float = 0.0) -> None:
        self.flush()

    def flush(self, timeout: float = 10.0) -> None:
        for callback, delivery in self.queued:
            if callback is not None:
                callback(delivery)
        self.queued.clear()

    def close(self, timeout: float = 10.0) -> None:
        """Nothing held."""


def test_send_many_raises_when_a_delivery_fails() -> None:
    with pytest.raises(BusError, match="1 of 2 commands not delivered"):
        channel(Failing()).send_many([Outgoing("portfolio.load", "n1", "p1"), Outgoing("portfolio.load", "n1", "p2")])


def test_send_runs_meanwhile_after_publishing_and_waits_for_the_delivery() -> None:
    """The command is on the bus before ``meanwhile`` runs (work overlapping the
    broker's), and ``send`` returns only once it is delivered."""
    bus = MemoryBus(f"memory://{uuid.uuid4().hex}")
    coord = MemoryCoordination(f"memory://{uuid.uuid4().hex}")
    topics = names.Topics(f"t{uuid.uuid4().hex[:6]}.")
    consumer = bus.consumer("g", [topics.schedule_updates], "earliest")
    channel = CommandChannel(bus.producer(), coord, CommandSigner("s"), topics)
    seen: list[int] = []
    signed = channel.send(
        "portfolio.load",
        "n1",
        "p1",
        {"epoch": 2},
        meanwhile=lambda: seen.append(len(consumer.poll(max_records=10, timeout=1.0))),
    )
    assert seen == [1]
    assert signed.params == {"epoch": 2}
    bus.close()
