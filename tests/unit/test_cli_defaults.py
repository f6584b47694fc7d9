"""The CLI shows and uses the config objects' defaults: none is typed twice."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
import typer
import typer.main

from livecore.api.config import ApiConfig
from livecore.cli.app import app
from livecore.config import DeploymentSettings
from livecore.feed.synthetic import SyntheticSettings
from livecore.gateway.config import GatewayConfig
from livecore.livecore import LiveCoreConfig, ReplayPlan, SyntheticPlan
from livecore.node.config import NodeConfig
from livecore.ops.context import OpsConfig
from livecore.scheduler.config import SchedulerConfig
from livecore.telemetry import MetricsConfig
from livecore.venues.sim.model import CommissionSettings
from livecore.venues.sim.venue import Credentials

ROOT: Any = typer.main.get_command(app)  # typer's own click: typed loosely here
NODE, SCHEDULER, OPS = NodeConfig(), SchedulerConfig(), OpsConfig()
COSTS = GatewayConfig().paper.costs
METRICS = MetricsConfig()
LONG_RUNNING = [("node",), ("scheduler",), ("gateway",), ("feed", "replay"), ("feed", "synthetic"), ("api",), ("run",)]


def _command(*path: str) -> Any:
    command = ROOT
    for name in path:
        command = command.commands[name]
    return command


def _param(path: tuple[str, ...], name: str) -> Any:
    return next(p for p in _command(*path).params if p.name == name)


EXPECTED: list[tuple[tuple[str, ...], str, object]] = [
    ((), "bus", dataclasses.fields(DeploymentSettings)[0].default),
    ((), "coord", dataclasses.fields(DeploymentSettings)[1].default),
    ((), "db", dataclasses.fields(DeploymentSettings)[2].default),
    ((), "notify_fills", DeploymentSettings().notify_fills),
    (("scheduler",), "tick", SCHEDULER.tick_interval),
    (("scheduler",), "lease_ttl", SCHEDULER.lease_ttl),
    (("scheduler",), "load_timeout", SCHEDULER.load_timeout),
    (("scheduler",), "ack_timeout", SCHEDULER.ack_timeout),
    (("scheduler",), "dead_after", SCHEDULER.dead_after or 0.0),
    (("scheduler",), "session_poll", SCHEDULER.session_poll or 0.0),
    (("scheduler",), "default_capacity", SCHEDULER.default_capacity),
    (("scheduler",), "affinity_slack", SCHEDULER.affinity_slack),
    (("scheduler",), "rebalance_moves", SCHEDULER.rebalance_moves),
    (("node",), "heartbeat_interval", NODE.heartbeat_interval),
    (("node",), "heartbeat_ttl", NODE.heartbeat_ttl),
    (("node",), "capacity", NODE.capacity),
    (("node",), "workers", NODE.workers),
    (("node",), "max_tick_age", NODE.max_tick_age_s),
    (("node",), "switch_interval_ms", (NODE.gil_switch_interval_s or 0.0) * 1000),
    (("node",), "all_partitions", NODE.all_market_partitions),
    *[(("node", c), "timeout", OPS.ack_timeout) for c in ("shutdown", "pause", "resume")],
    *[(("portfolio", c), "timeout", OPS.ack_timeout) for c in ("deploy", "stop", "remove", "reload")],
    (("portfolio", "migrate"), "timeout", OPS.migrate_timeout),
    (("gateway",), "group", GatewayConfig().group_id),
    (("gateway",), "require_fence", GatewayConfig().require_fence),
    (("feed", "synthetic"), "symbols", SyntheticSettings().symbols),
    (("feed", "synthetic"), "rate", SyntheticSettings().rate),
    (("feed", "synthetic"), "seed", SyntheticSettings().seed),
    (("run",), "nodes", LiveCoreConfig().nodes),
    (("run",), "speed", ReplayPlan().speed),
    (("run",), "loop", ReplayPlan().loop),
    (("run",), "rate", SyntheticPlan().rate),
    (("run",), "api_port", ApiConfig().port),
    (("api",), "host", ApiConfig().host),
    (("api",), "port", ApiConfig().port),
    (("venue-sim",), "api_key", Credentials().api_key),
    (("venue-sim",), "secret", Credentials().secret),
    (("venue-sim",), "passphrase", Credentials().passphrase),
    (("venue-sim",), "taker", str(CommissionSettings().taker)),
    (("venue-sim",), "maker", str(CommissionSettings().maker)),
    (("venue-sim",), "fee_asset", CommissionSettings().asset),
    (("venue-sim",), "fee_asset_price", str(CommissionSettings().asset_price)),
    *[(path, "metrics_port", METRICS.port) for path in LONG_RUNNING],
    *[(path, "metrics_host", METRICS.host) for path in LONG_RUNNING],
]


@pytest.mark.parametrize(
    ("path", "name", "default"), EXPECTED, ids=[" ".join((*path, name)) for path, name, _ in EXPECTED]
)
def test_option_default_is_the_config_default(path: tuple[str, ...], name: str, default: object) -> None:
    assert _param(path, name).default == default


@pytest.mark.parametrize("name", ["slippage_bps", "commission_per_share", "commission_bps", "commission_min"])
def test_gateway_cost_defaults_are_the_cost_model_defaults(name: str) -> None:
    default = _param(("gateway",), name).default
    assert isinstance(default, str) and Decimal(default) == getattr(COSTS, name)


def test_help_shows_the_defaults() -> None:
    command = _command("scheduler")
    ctx = typer.Context(command, info_name="scheduler")
    for param in command.params:
        if param.name in {"tick", "lease_ttl", "ack_timeout", "default_capacity"}:
            record = param.get_help_record(ctx)
            assert record is not None and f"[default: {param.default}]" in record[1]
