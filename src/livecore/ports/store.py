"""The durable-state port: portfolio snapshots, the gateway journal, the
portfolio registry and the audit log.

One SQL implementation (SQLAlchemy 2 Core) serves both deployments: a SQLite
file for ``livecore run`` and PostgreSQL for production; the contract suite
runs against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from livecore.wire.messages import NewOrder, OrderFeedback

DesiredState = Literal["running", "stopped"]


class StoreError(Exception):
    """The durable store failed or could not be reached."""


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    portfolio_id: str
    epoch: int
    version: int  # grows with each save of this portfolio
    data: bytes
    taken_ns: int


class SnapshotStore(ABC):
    @abstractmethod
    def save(self, portfolio_id: str, epoch: int, data: bytes, taken_ns: int) -> int:
        """Store a snapshot durably (committed when this returns); return its version.
        Only a bounded number of old versions per portfolio is kept."""

    @abstractmethod
    def latest(self, portfolio_id: str) -> StoredSnapshot | None:
        """The most recent snapshot of ``portfolio_id``."""


@dataclass(frozen=True, slots=True)
class JournalOrder:
    order: NewOrder
    received_ns: int


@dataclass(frozen=True, slots=True)
class JournalFeedback:
    seq: int  # global, strictly increasing in write order
    feedback: OrderFeedback


class Journal(ABC):
    """The gateway's durable record of every order and every outcome. The source
    of truth for reconciliation."""

    @abstractmethod
    def record_order(self, order: NewOrder, received_ns: int) -> bool:
        """Insert ``order``; False (and nothing written) if its client order id exists."""

    @abstractmethod
    def get_order(self, client_order_id: str) -> JournalOrder | None: ...

    @abstractmethod
    def record_feedback(self, feedback: OrderFeedback) -> JournalFeedback:
        """Append an outcome (durable when this returns). A fill whose fill id is
        already journaled is not written again: the existing entry is returned."""

    @abstractmethod
    def feedback_for_order(self, client_order_id: str) -> list[JournalFeedback]:
        """Every outcome of one order, in write order (to answer a resend)."""

    @abstractmethod
    def orders(self, portfolio_id: str | None = None) -> list[JournalOrder]:
        """Orders, in receive order, optionally for one portfolio."""

    @abstractmethod
    def feedback(self, portfolio_id: str | None = None, after_seq: int = 0) -> list[JournalFeedback]:
        """Outcomes with ``seq > after_seq``, in order, optionally for one portfolio."""

    @abstractmethod
    def open_orders(self) -> list[JournalOrder]:
        """Orders accepted but not yet final (to restore a gateway's book)."""


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    portfolio_id: str
    spec_toml: str
    desired: DesiredState
    node_id: str | None  # where the scheduler last placed it
    epoch: int  # the epoch of that placement (0 = never placed)
    updated_ns: int
    # the code every node must run it with ({module: sha256} as JSON, see
    # ``livecore.codeversion``); None = not recorded yet (set at the next deploy/reload)
    code_version: str | None = None


class Registry(ABC):
    """Desired set of portfolios and where the scheduler placed them."""

    @abstractmethod
    def upsert(
        self, portfolio_id: str, spec_toml: str, desired: DesiredState, now_ns: int, code_version: str | None = None
    ) -> None:
        """Insert, or replace spec, desired state and (if given) code version, keeping the placement."""

    @abstractmethod
    def set_code_version(self, portfolio_id: str, code_version: str, now_ns: int) -> bool:
        """Record the code the portfolio runs with; False if it is not registered."""

    @abstractmethod
    def get(self, portfolio_id: str) -> RegistryEntry | None: ...

    @abstractmethod
    def list(self) -> list[RegistryEntry]:
        """Every entry, sorted by portfolio id."""

    @abstractmethod
    def set_desired(self, portfolio_id: str, desired: DesiredState, now_ns: int) -> bool: ...

    @abstractmethod
    def set_placement(self, portfolio_id: str, node_id: str | None, epoch: int, now_ns: int) -> bool:
        """Record a placement; refused (False) if ``epoch`` is lower than the stored one."""

    def set_placements(self, placements: Sequence[tuple[str, str | None, int]], now_ns: int) -> tuple[bool, ...]:
        """``set_placement`` for each (portfolio, node, epoch), in order: one write
        where the backend can (a failover places a node's portfolios at once)."""
        return tuple(self.set_placement(pid, node_id, epoch, now_ns) for pid, node_id, epoch in placements)

    @abstractmethod
    def remove(self, portfolio_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts_ns: int
    component: str
    event: str
    detail: dict[str, Any]


class AuditLog(ABC):
    """Append-only log of security- and operations-relevant events (refused
    commands, migrations, failovers)."""

    @abstractmethod
    def record(self, component: str, event: str, detail: dict[str, Any], ts_ns: int) -> None: ...

    @abstractmethod
    def recent(self, limit: int = 100, event: str | None = None) -> list[AuditEntry]:
        """Newest first."""


class Store(ABC):
    """All durable state of one database."""

    url: str
    snapshots: SnapshotStore
    journal: Journal
    registry: Registry
    audit: AuditLog

    @abstractmethod
    def ping(self) -> None:
        """Raise ``StoreError`` if the database cannot be reached."""

    @abstractmethod
    def close(self) -> None: ...
