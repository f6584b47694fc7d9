"""How many partitions each topic gets, in one place.

Topics are created explicitly (Tansu auto-creates with 4 partitions and loses
topics on restart); whichever process starts first creates them with this
layout, and the rest find them there. The gateway maps a portfolio to its
``orders`` partition with the same count, so it must not differ per process.

``ensure_topics`` also hands the layout to the bus: on Kafka its watchdog
re-creates a topic the broker lost with these counts and reports, loudly, a
topic whose count differs (see docs/BUS.md, "Broker outages").
"""

from __future__ import annotations

from dataclasses import dataclass

from livecore.checks import at_least
from livecore.ports.bus import Bus
from livecore.wire.names import Topics


@dataclass(frozen=True, slots=True)
class TopicLayout:
    market_data: int = 8
    orders: int = 4
    orders_feedback: int = 4
    schedule_updates: int = 4
    dead_letters: int = 1

    def __post_init__(self) -> None:
        at_least(self, 1, "market_data", "orders", "orders_feedback", "schedule_updates", "dead_letters")

    def partitions(self, topics: Topics) -> dict[str, int]:
        """Every topic of the system (main ones and their dead-letter topics) -> partitions."""
        main = {
            topics.market_data: self.market_data,
            topics.orders: self.orders,
            topics.orders_feedback: self.orders_feedback,
            topics.schedule_updates: self.schedule_updates,
        }
        return main | {topics.dlq(topic): self.dead_letters for topic in main}


DEFAULT_LAYOUT = TopicLayout()


def ensure_topics(bus: Bus, topics: Topics, layout: TopicLayout = DEFAULT_LAYOUT) -> None:
    """Create every missing topic with the layout's partition count."""
    bus.create_topics(layout.partitions(topics))
