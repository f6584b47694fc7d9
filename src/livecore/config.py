"""Deployment settings: which backends to use, chosen by URL; and the defaults
that several services share.

``memory://`` for bus and coordination plus a SQLite file is the embedded
default (``livecore run``: no servers). ``kafka://``, ``redis://`` and
``postgresql://`` point the same code at real infrastructure.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from livecore.errors import ConfigError

DEFAULT_BUS_URL = "memory://"
DEFAULT_COORD_URL = "memory://"
DEFAULT_DB_PATH = Path(".livecore") / "livecore.db"
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_DB_PATH.as_posix()}"
DEFAULT_NOTIFY_FILLS = False

# how long a command waits for its node's ack: operator commands (``OpsConfig``)
# and each side of a migration (``SchedulerConfig``)
ACK_TIMEOUT_S = 10.0

BUS_SCHEMES = ("memory", "kafka")
COORD_SCHEMES = ("memory", "redis")
DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg2")


def _scheme(url: str, what: str, allowed: tuple[str, ...]) -> str:
    if "://" not in url:
        raise ConfigError(f"bad {what} URL {url!r}: expected one of {', '.join(s + '://' for s in allowed)}")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in allowed:
        raise ConfigError(f"bad {what} URL {url!r}: scheme {scheme!r} is not one of {', '.join(allowed)}")
    return scheme


def _require_host_port(url: str, what: str) -> None:
    netloc = urlsplit(url).netloc
    hosts = [h for h in netloc.split(",") if h]
    if not hosts:
        raise ConfigError(f"bad {what} URL {url!r}: no host:port given")
    for host in hosts:
        name, sep, port = host.rpartition(":")
        if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"bad {what} URL {url!r}: {host!r} is not host:port")


def validate_bus_url(url: str) -> str:
    if _scheme(url, "bus", BUS_SCHEMES) == "kafka":
        _require_host_port(url, "bus")
    return url


def validate_coord_url(url: str) -> str:
    if _scheme(url, "coordination", COORD_SCHEMES) == "redis":
        _require_host_port(url, "coordination")
        path = urlsplit(url).path.strip("/")
        if path and not path.isdigit():
            raise ConfigError(f"bad coordination URL {url!r}: database {path!r} is not a number")
    return url


def validate_db_url(url: str) -> str:
    scheme = _scheme(url, "database", DB_SCHEMES)
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise ConfigError(f"bad database URL {url!r}: use sqlite:///relative/path or sqlite:////absolute/path")
    if scheme.startswith("postgresql") and not urlsplit(url).netloc:
        raise ConfigError(f"bad database URL {url!r}: no host given")
    return url


# between two notification URLs: whitespace, or a comma before the next ``scheme://``
# (a comma inside a URL, as in ``mailto://...?to=a@x,b@y``, stays in it)
_URL_GAP = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def split_urls(values: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Notification URLs from ``--notify`` values or ``LIVECORE_NOTIFY``, each of
    which may hold several, separated by commas or whitespace."""
    texts = [values] if isinstance(values, str) else list(values)
    return tuple(url.strip(",") for text in texts for url in _URL_GAP.split(text) if url.strip(","))


def validate_notify_url(url: str) -> str:
    """Only the shape here; apprise itself vets each URL when a notifier starts."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or not rest:
        raise ConfigError(f"bad notification URL {redact(url)!r}: expected an apprise URL such as json://host:port/")
    return url


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def is_embedded(url: str) -> bool:
    """True for in-process backends, which only this process can see."""
    return url.startswith("memory://")


@dataclass(frozen=True, slots=True)
class DeploymentSettings:
    """Where the backends of one deployment are, the command-signing secret, the
    topic prefix and where operator notifications go (``notify_urls``, apprise
    URLs; ``notify_fills`` adds every fill): what every process of the
    deployment shares.

    With an in-process bus no other process can send commands, so a random
    secret is safe; with a network bus the secret must be given explicitly.
    """

    bus_url: str = DEFAULT_BUS_URL
    coord_url: str = DEFAULT_COORD_URL
    db_url: str = DEFAULT_DB_URL
    secret: str = field(default="", repr=False)
    topic_prefix: str = ""
    notify_urls: tuple[str, ...] = field(default=(), repr=False)  # they carry tokens
    notify_fills: bool = DEFAULT_NOTIFY_FILLS

    def __post_init__(self) -> None:
        validate_bus_url(self.bus_url)
        validate_coord_url(self.coord_url)
        validate_db_url(self.db_url)
        for url in self.notify_urls:
            validate_notify_url(url)
        if not self.secret:
            if not is_embedded(self.bus_url):
                raise ConfigError(
                    "a command-signing secret is required with a network bus: pass --secret or set LIVECORE_SECRET"
                )
            object.__setattr__(self, "secret", secrets.token_hex(16))
