"""The durable-state port: portfolio snapshots, the gateway journal, the
portfolio registry, the audit log and the portfolios' equity history.

One SQL implementation (SQLAlchemy 2 Core) serves both deployments: a SQLite
file for ``livecore run`` and PostgreSQL for production; the contract suite
runs against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from livecore.wire.messages import NewOrder, OrderFeedback

DesiredState = Literal["running", "stopped"]
T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a newest-first listing. ``before``: pass it back to get the
    next (older) page; None when there is nothing older."""

    items: list[T]
    before: int | None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A journaled order with what its outcomes say so far."""

    order: NewOrder
    received_ns: int
    status: str | None  # the latest outcome's status; None: no outcome journaled yet
    filled_qty: Decimal  # the sum of its journaled fills


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

    @abstractmethod
    def orders_page(self, portfolio_id: str, limit: int, before: int | None = None) -> Page[OrderRecord]:
        """One portfolio's orders, newest first, at most ``limit`` (for an operator's screen)."""

    @abstractmethod
    def feedback_page(
        self, portfolio_id: str, limit: int, before: int | None = None, fills_only: bool = False
    ) -> Page[JournalFeedback]:
        """One portfolio's outcomes (or only its fills), newest first, at most ``limit``;
        ``before`` is a seq."""


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
    def recent(
        self,
        limit: int = 100,
        event: str | Collection[str] | None = None,
        before: int | None = None,
        portfolio_id: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first: entries of ``event`` (one name or several), with an id below
        ``before`` (paging), whose detail names ``portfolio_id``."""


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One point of a portfolio's equity curve: what its node held when it saved
    a snapshot (money exact, in the portfolio's currency)."""

    portfolio_id: str
    ts_ns: int
    epoch: int
    node_id: str
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class EpochSpan:
    """Where a portfolio ran at one epoch, as far as its equity history reaches."""

    epoch: int
    node_id: str
    first_ns: int
    last_ns: int
    points: int


class EquityHistory(ABC):
    """Each portfolio's equity curve, bounded: older points are thinned so that a
    portfolio never holds more than a configured number."""

    @abstractmethod
    def record(self, point: EquityPoint) -> None:
        """Append ``point`` (durable when this returns)."""

    @abstractmethod
    def points(
        self, portfolio_id: str, limit: int, before_ns: int | None = None, after_ns: int | None = None
    ) -> list[EquityPoint]:
        """The newest ``limit`` points with ``after_ns < ts_ns < before_ns``, oldest first."""

    @abstractmethod
    def epochs(self, portfolio_id: str) -> list[EpochSpan]:
        """Each (epoch, node) the portfolio's points were recorded at, oldest first."""


class Store(ABC):
    """All durable state of one database."""

    url: str
    snapshots: SnapshotStore
    journal: Journal
    registry: Registry
    audit: AuditLog
    equity: EquityHistory

    @abstractmethod
    def ping(self) -> None:
        """Raise ``StoreError`` if the database cannot be reached."""

    @abstractmethod
    def close(self) -> None: ...
