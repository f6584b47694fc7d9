import pytest

from livecore.node.config import NodeConfig


def test_seed_defaults() -> None:
    config = NodeConfig()
    assert (config.heartbeat_interval, config.heartbeat_ttl) == (10.0, 30.0)


def test_fast_test_intervals_are_allowed() -> None:
    config = NodeConfig(heartbeat_interval=0.5, heartbeat_ttl=1.5)
    assert config.heartbeat_ttl == 1.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"heartbeat_interval": 0.1},
        {"heartbeat_interval": 5, "heartbeat_ttl": 5},
        {"workers": 0},
        {"capacity": 0},
        {"mailbox_size": 0},
        {"max_tick_age_s": 0},
        {"poll_timeout_s": 0},
        {"producer_linger_ms": -1},
        {"market_fetch_wait_ms": -1},
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        NodeConfig(**kwargs)  # type: ignore[arg-type]


def test_orders_leave_at_once_and_the_market_consumer_waits_briefly() -> None:
    config = NodeConfig()
    assert config.producer_linger_ms == 0 and config.market_fetch_wait_ms == 5
    assert NodeConfig(producer_linger_ms=None, market_fetch_wait_ms=None).producer_linger_ms is None


def test_frozen() -> None:
    with pytest.raises(AttributeError):
        NodeConfig().workers = 3  # type: ignore[misc]
