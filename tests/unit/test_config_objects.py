"""Every configuration object refuses a bad value the same way: a ``ConfigError``
(also a ``ValueError``) whose message names the class and the field."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from livecore.adapters.memory_log import MemoryBusSettings
from livecore.api.config import ApiConfig
from livecore.errors import ConfigError
from livecore.faults import RetryPolicy
from livecore.feed.config import FeedConfig
from livecore.feed.synthetic import SyntheticSettings
from livecore.gateway.config import GatewayConfig
from livecore.gateway.costs import CostModel
from livecore.gateway.paper import PaperSettings
from livecore.livecore import LiveCoreConfig, ReplayPlan, SyntheticPlan
from livecore.node.config import NodeConfig
from livecore.notify import BatchSettings, NotifySettings
from livecore.ops.context import OpsConfig
from livecore.scheduler.config import SchedulerConfig, lease_margin_for
from livecore.topology import TopicLayout

BAD: list[tuple[str, Callable[[], object]]] = [
    ("NodeConfig.workers", lambda: NodeConfig(workers=0)),
    ("NodeConfig.heartbeat_interval", lambda: NodeConfig(heartbeat_interval=0.1)),
    ("NodeConfig.heartbeat_ttl", lambda: NodeConfig(heartbeat_interval=5, heartbeat_ttl=5)),
    ("NodeConfig.max_tick_age_s", lambda: NodeConfig(max_tick_age_s=0)),
    ("NodeConfig.loop_stall_s", lambda: NodeConfig(loop_stall_s=0.05)),
    ("NodeConfig.gil_switch_interval_s", lambda: NodeConfig(gil_switch_interval_s=1.0)),
    ("SchedulerConfig.tick_interval", lambda: SchedulerConfig(tick_interval=0)),
    ("SchedulerConfig.tick_interval", lambda: SchedulerConfig(tick_interval=5.0)),
    ("SchedulerConfig.lease_margin", lambda: SchedulerConfig(lease_margin=5.0)),
    ("SchedulerConfig.dead_after", lambda: SchedulerConfig(dead_after=0)),
    ("SchedulerConfig.max_migrations", lambda: SchedulerConfig(max_migrations=0)),
    ("SchedulerConfig.scheduler_id", lambda: SchedulerConfig(scheduler_id="")),
    ("GatewayConfig.group_id", lambda: GatewayConfig(group_id="")),
    ("GatewayConfig.max_batch", lambda: GatewayConfig(max_batch=0)),
    ("GatewayConfig.poll_timeout_s", lambda: GatewayConfig(poll_timeout_s=0)),
    ("FeedConfig.poll_every", lambda: FeedConfig(poll_every=0)),
    ("ApiConfig.port", lambda: ApiConfig(port=70000)),
    ("ApiConfig.token", lambda: ApiConfig(token=" t ")),
    ("LiveCoreConfig.nodes", lambda: LiveCoreConfig(nodes=-1)),
    ("LiveCoreConfig.drain_timeout_s", lambda: LiveCoreConfig(drain_timeout_s=-1)),
    ("ReplayPlan.speed", lambda: ReplayPlan(speed=-1)),
    ("SyntheticPlan.symbols", lambda: SyntheticPlan(symbols=0)),
    ("OpsConfig.ack_timeout", lambda: OpsConfig(ack_timeout=0)),
    ("OpsConfig.migrate_timeout", lambda: OpsConfig(migrate_timeout=-1)),
    ("PaperSettings.participation", lambda: PaperSettings(participation=Decimal(2))),
    ("PaperSettings.quantity_step", lambda: PaperSettings(quantity_step=Decimal("1e-13"))),
    ("CostModel.slippage_bps", lambda: CostModel(slippage_bps=Decimal(-1))),
    ("CostModel.price_quantum", lambda: CostModel(price_quantum=Decimal(0))),
    ("SyntheticSettings.rate", lambda: SyntheticSettings(rate=0)),
    ("SyntheticSettings.start_max", lambda: SyntheticSettings(start_min=10, start_max=5)),
    ("RetryPolicy.max_attempts", lambda: RetryPolicy(max_attempts=0)),
    ("RetryPolicy.max_backoff_s", lambda: RetryPolicy(backoff_s=2, max_backoff_s=1)),
    ("TopicLayout.orders", lambda: TopicLayout(orders=0)),
    ("MemoryBusSettings.retention_ms", lambda: MemoryBusSettings(retention_ms=0)),
    ("NotifySettings.queue_size", lambda: NotifySettings(queue_size=0)),
    ("NotifySettings.close_timeout_s", lambda: NotifySettings(close_timeout_s=0)),
    ("BatchSettings.window_s", lambda: BatchSettings(window_s=0)),
    ("BatchSettings.batch_s", lambda: BatchSettings(batch_s=-1)),
    ("BatchSettings.max_messages", lambda: BatchSettings(max_messages=0)),
    ("BatchSettings.max_lines", lambda: BatchSettings(max_lines=0)),
]


@pytest.mark.parametrize(("field", "build"), BAD, ids=[field for field, _ in BAD])
def test_a_bad_value_is_a_config_error_naming_the_field(field: str, build: Callable[[], object]) -> None:
    with pytest.raises(ConfigError) as raised:
        build()
    assert str(raised.value).startswith(f"{field} must"), str(raised.value)
    assert ", got " in str(raised.value)  # the refused value is shown


def test_a_config_error_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"NodeConfig\.capacity"):
        NodeConfig(capacity=0)


def test_defaults_are_valid() -> None:
    for build in (
        NodeConfig,
        SchedulerConfig,
        GatewayConfig,
        FeedConfig,
        ApiConfig,
        LiveCoreConfig,
        OpsConfig,
        ReplayPlan,
        SyntheticPlan,
        NotifySettings,
        BatchSettings,
    ):
        build()


def test_lease_margin_shrinks_for_a_short_lease_only() -> None:
    assert lease_margin_for(SchedulerConfig().lease_ttl) == SchedulerConfig().lease_margin
    assert lease_margin_for(1.0) == 0.25
