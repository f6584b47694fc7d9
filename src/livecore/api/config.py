"""Every setting of the HTTP surfaces in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecore.checks import at_least, non_empty, positive, require

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
    - ``history_interval_s``/``history_samples``: the nodes' health history this
      process keeps (one sample per node per interval, a ring of that many: 30 min).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str = field(default="", repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    history_interval_s: float = 5.0
    history_samples: int = 360

    def __post_init__(self) -> None:
        non_empty(self, "host")
        require(0 <= self.port < 65536, self, "port", "must be in 0..65535")  # 0 = any free port (tests, embedded use)
        at_least(self, 1, "max_body_bytes", "history_samples")
        positive(self, "history_interval_s")
        require(self.token == self.token.strip(), self, "token", "must not start or end with whitespace")
