"""Operator notifications through apprise (docs/OPERATIONS.md "Notifications").

``notice.py`` and ``policy.py`` are pure (kinds, notices, batching and rate
limit, time as an argument); ``notifier.py`` is the I/O: a bounded queue and a
daemon thread per process, so a hook never waits on a receiver.
"""

from livecore.notify.config import NotifySettings, notify_settings
from livecore.notify.notice import (
    DEFAULT_KINDS,
    Notice,
    NoticeKind,
    cluster_halt_notice,
    failover_notice,
    fault_notice,
    fill_notice,
    node_lost_notice,
    rejection_notice,
    risk_halt_notice,
)
from livecore.notify.notifier import NO_NOTICES, AppriseSender, NoticeSink, Notifier, Silent, announce_cluster_halt
from livecore.notify.policy import Batcher, BatchSettings, Message

__all__ = [
    "DEFAULT_KINDS",
    "NO_NOTICES",
    "AppriseSender",
    "BatchSettings",
    "Batcher",
    "Message",
    "Notice",
    "NoticeKind",
    "NoticeSink",
    "Notifier",
    "NotifySettings",
    "Silent",
    "announce_cluster_halt",
    "cluster_halt_notice",
    "failover_notice",
    "fault_notice",
    "fill_notice",
    "node_lost_notice",
    "notify_settings",
    "rejection_notice",
    "risk_halt_notice",
]
