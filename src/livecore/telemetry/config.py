"""Where a process serves its own ``/metrics``."""

from __future__ import annotations

from dataclasses import dataclass

from livecore.checks import non_empty, require

DEFAULT_METRICS_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    """- ``port``: 0 (the default) serves nothing; the CLI's ``--metrics-port``.
    - ``host``: loopback by default, like the API; ``0.0.0.0`` exposes it.
    """

    host: str = DEFAULT_METRICS_HOST
    port: int = 0

    def __post_init__(self) -> None:
        non_empty(self, "host")
        require(0 <= self.port < 65536, self, "port", "must be in 0..65535 (0: off)")

    @property
    def enabled(self) -> bool:
        return self.port != 0
