"""The notifier's settings: where notices go, which kinds, and the policy's limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecore.checks import at_least, positive
from livecore.config import DeploymentSettings
from livecore.notify.notice import DEFAULT_KINDS, NoticeKind
from livecore.notify.policy import BatchSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifySettings:
    """``urls``: apprise URLs (``json://``, ``slack://``, ``mailto://`` ...), empty
    = notifications off; they hold tokens, so they are kept out of ``repr``.
    ``fills``: also notify every fill (off: rejections, halts, faults, failovers,
    lost nodes and cluster halts only). ``queue_size``: notices a process may hold
    before new ones are dropped (counted, logged, and reported in a later
    message). ``close_timeout_s``: how long shutdown waits for the last messages."""

    urls: tuple[str, ...] = field(default=(), repr=False)
    fills: bool = False
    limits: BatchSettings = field(default_factory=BatchSettings)
    queue_size: int = 1000
    close_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        at_least(self, 1, "queue_size")
        positive(self, "close_timeout_s")

    @property
    def kinds(self) -> frozenset[NoticeKind]:
        """The kinds this deployment is told about."""
        return DEFAULT_KINDS | {NoticeKind.FILL} if self.fills else DEFAULT_KINDS


def notify_settings(deployment: DeploymentSettings) -> NotifySettings:
    """The notifier of every process of ``deployment`` (``--notify``, ``--notify-fills``)."""
    return NotifySettings(urls=deployment.notify_urls, fills=deployment.notify_fills)
