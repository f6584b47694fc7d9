"""Every setting of the HTTP surfaces in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecore.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
TOKEN_ENV = "LIVECORE_API_TOKEN"
DEFAULT_MAX_BODY_BYTES = 64 * 1024  # the largest body any endpoint takes is ~100 bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiConfig:
    """- ``host``/``port``: where the server listens (loopback by default: the API
      can stop and move portfolios, so exposing it is a deliberate choice).
    - ``token``: bearer token of the mutating endpoints; empty disables them (403).
    - ``max_body_bytes``: a larger request body is refused with 413 unread.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str = field(default="", repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("API host must not be empty")
        if not 0 <= self.port < 65536:  # 0 = any free port (tests, embedded use)
            raise ConfigError(f"API port must be in 0..65535, got {self.port}")
        if self.max_body_bytes < 1:
            raise ConfigError(f"API max_body_bytes must be >= 1, got {self.max_body_bytes}")
        if self.token != self.token.strip():
            raise ConfigError("API token must not start or end with whitespace")
