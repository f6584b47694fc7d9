"""Every setting of a feed's publishing loop in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass

from livecore.checks import at_least
from livecore.topology import DEFAULT_LAYOUT, TopicLayout


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """``topics``: the partition layout used to create missing topics;
    ``max_sleep_s``: longest single wait (so a stop is seen promptly);
    ``track_deliveries``: count each delivery and failure (a per-message
    callback: about half the throughput on Kafka; off, ``delivered`` stays 0 and
    only a flush timeout reveals trouble); ``event_time``: publish each event
    with the data's own timestamp instead of the wall clock's."""

    topic_prefix: str = ""
    topics: TopicLayout = DEFAULT_LAYOUT
    poll_every: int = 1000
    flush_timeout_s: float = 30.0
    publish_retry_s: float = 10.0
    max_sleep_s: float = 0.25
    min_sleep_s: float = 0.0005
    track_deliveries: bool = True
    event_time: bool = False

    def __post_init__(self) -> None:
        at_least(self, 1, "poll_every")
