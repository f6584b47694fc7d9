"""What the node needs from a hosted portfolio: the domain ``Portfolio`` facade.

Typed as a Protocol so the node's plumbing depends on the facade only (and
unit tests can host a stub); production hosts ``livecore.domain.Portfolio``.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from livecore.domain.view import EquitySample
from livecore.wire.messages import Bar, CancelOrder, NewOrder, OrderFeedback, Tick


class HostedPortfolio(Protocol):
    @property
    def portfolio_id(self) -> str: ...
    @property
    def epoch(self) -> int: ...
    @property
    def symbols(self) -> frozenset[str]: ...
    @property
    def universe_version(self) -> int: ...
    @property
    def faulted(self) -> bool: ...
    @property
    def fault(self) -> str | None: ...
    @property
    def halt_reason(self) -> str | None: ...
    @property
    def trading_enabled(self) -> bool: ...

    def set_trading_enabled(self, enabled: bool) -> None: ...
    def set_cluster_halt(self, reason: str | None, flatten: bool, ts_ns: int) -> None: ...
    # exactly False: nothing was requested (the outbox is not asked); any other answer: ask
    def on_market(self, event: Tick | Bar) -> object: ...
    def on_feedback(self, fb: OrderFeedback) -> Any: ...
    @property
    def has_requests(self) -> bool: ...
    def drain_outbox(self) -> list[NewOrder | CancelOrder]: ...
    def mark_submitted(self, client_order_id: str) -> None: ...
    def snapshot(self) -> bytes: ...
    def view(self) -> Any: ...
    def equity_sample(self) -> EquitySample: ...


def feedback_applied(result: Any) -> bool:
    """True when ``on_feedback`` changed the books (``FeedbackResult.APPLIED``)."""
    return getattr(result, "name", None) == "APPLIED"


def with_fault(view: Any, reason: str) -> Any:
    """``view`` showing the portfolio faulted for ``reason`` (a node-side fault the
    domain does not know of, e.g. feedback given up), so status and the API show it."""
    if isinstance(view, dict):
        return {**view, "faulted": True, "fault": reason}
    if isinstance(view, msgspec.Struct) and {"faulted", "fault"} <= set(view.__struct_fields__):
        return msgspec.structs.replace(view, faulted=True, fault=reason)
    return view


def encode_view(view: Any, node_id: str) -> str:
    """``Portfolio.view()`` as a JSON object with the hosting node's id added
    (spliced into the encoded object: no intermediate dict)."""
    body = msgspec.json.encode(view)
    if not (body.startswith(b"{") and body.endswith(b"}")):
        raise TypeError(f"a portfolio view must encode to a JSON object, got {body[:40]!r}")
    extra = b'"node_id":' + msgspec.json.encode(node_id)
    return (body[:-1] + (b"," if len(body) > 2 else b"") + extra + b"}").decode()
