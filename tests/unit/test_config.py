"""Backend URLs are validated up front with a message that names the problem."""

from __future__ import annotations

import pytest

from livecore.config import DeploymentSettings, redact, split_urls
from livecore.errors import ConfigError


def test_embedded_defaults_get_a_random_secret() -> None:
    one, two = DeploymentSettings(), DeploymentSettings()
    assert one.bus_url == "memory://" and one.coord_url == "memory://"
    assert one.db_url.startswith("sqlite:///")
    assert one.secret and one.secret != two.secret


def test_network_bus_requires_a_secret() -> None:
    with pytest.raises(ConfigError, match="LIVECORE_SECRET"):
        DeploymentSettings(bus_url="kafka://127.0.0.1:9092")
    assert DeploymentSettings(bus_url="kafka://127.0.0.1:9092", secret="k").secret == "k"


@pytest.mark.parametrize(
    ("field", "url", "fragment"),
    [
        ("bus_url", "rabbit://x:1", "scheme 'rabbit'"),
        ("bus_url", "kafka://", "no host:port"),
        ("bus_url", "kafka://host", "not host:port"),
        ("bus_url", "kafka://h:1,h:99999", "'h:99999' is not host:port"),
        ("bus_url", "localhost:9092", "expected one of"),
        ("coord_url", "redis://h:1/x", "database 'x'"),
        ("coord_url", "mongo://h:1", "scheme 'mongo'"),
        ("db_url", "sqlite://relative.db", "sqlite:///"),
        ("db_url", "postgresql:///x", "no host"),
        ("db_url", "mysql://h/x", "scheme 'mysql'"),
    ],
)
def test_bad_urls_name_the_problem(field: str, url: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        DeploymentSettings(**{field: url, "secret": "k"})  # type: ignore[arg-type]


def test_good_urls() -> None:
    s = DeploymentSettings(
        bus_url="kafka://a:9092,b:9093",
        coord_url="redis://127.0.0.1:6379/2",
        db_url="postgresql://u@127.0.0.1:5432/x",
        secret="k",
    )
    assert s.bus_url.startswith("kafka://")


def test_redact_hides_passwords_only() -> None:
    assert redact("postgresql://u:hunter2@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact("kafka://a:9092,b:9093") == "kafka://a:9092,b:9093"


def test_notification_urls_split_on_commas_and_spaces_but_not_inside_a_url() -> None:
    assert split_urls("json://a,json://b  slack://t/c") == ("json://a", "json://b", "slack://t/c")
    assert split_urls(["json://a", "mailto://u:p@h?to=x@h,y@h, json://b"]) == (
        "json://a",
        "mailto://u:p@h?to=x@h,y@h",
        "json://b",
    )
    assert split_urls("") == () and split_urls([" , "]) == ()


def test_notification_urls_are_checked_and_kept_out_of_repr() -> None:
    s = DeploymentSettings(notify_urls=("json://127.0.0.1:9/", "tgram://bottoken/chat"))
    assert "bottoken" not in repr(s)
    with pytest.raises(ConfigError, match="bad notification URL"):
        DeploymentSettings(notify_urls=("not-a-url",))
