"""Every setting of the HTTP surfaces in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecore.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
TOKEN_ENV = "LIVECORE_API_TOKEN"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiConfig:
    """- ``host``/``port``: where the server listens (loopback by default: the API
      can stop and move portfolios, so exposing it is a deliberate choice).
    - ``token``: bearer token of the mutating endpoints; empty disables them (403).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("API host must not be empty")
        if not 0 <= self.port < 65536:  # 0 = any free port (tests, embedded use)
            raise ConfigError(f"API port must be in 0..65535, got {self.port}")
        if self.token != self.token.strip():
            raise ConfigError("API token must not start or end with whitespace")
