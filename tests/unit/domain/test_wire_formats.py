"""Snapshot and view bytes stay what they were: a node restores snapshots written by
older builds, and operators' tools read the view. Golden files hold the bytes of a
portfolio that went through orders, a partial fill, a risk shrink, a reload and a
restore at a new epoch (to refresh them after a deliberate format change:
``LIVECORE_WRITE_GOLDEN=1``)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import msgspec

from livecore.domain import Portfolio, Signal
from livecore.domain.snapshot import state_json
from tests.unit.domain.helpers import Scripted, fill, new_orders, scripted, scripted_spec, tick

D = Decimal
GOLDEN = Path(__file__).parent / "golden"
RISK = '\n[[risk]]\nclass = "max_order_value"\nparams = { max_value = 5050 }\n'


def _signal(p: Portfolio, sig: Signal, price: int, i: int) -> None:
    strategy = p.strategy
    assert isinstance(strategy, Scripted)
    strategy.queue.append(sig)
    p.on_market(tick(price, i, sig.symbol))


def _worked_portfolio() -> Portfolio:
    p, _ = scripted(scripted_spec(risk=RISK), epoch=3)
    _signal(p, Signal.target("AAPL", D(100)), 100, 1)  # shrunk to 50 by the rule
    [buy] = new_orders(p)
    p.on_feedback(fill(buy, qty=20, price=100, fill_id="f1", commission="1.25", ts_ns=2))
    p.reload(scripted_spec(risk=RISK))
    q = Portfolio.restore(p.snapshot(), p.spec, 4, "n2")
    _signal(q, Signal.target("MSFT", D(5)), 10, 3)  # left in the outbox
    return q


def _check(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("LIVECORE_WRITE_GOLDEN"):
        path.write_bytes(data)
    assert data == path.read_bytes()


def test_snapshot_bytes_are_unchanged() -> None:
    """The JSON inside the deflated bytes (zlib's output may differ between zlib
    builds; the JSON may not)."""
    _check("portfolio_snapshot.json", state_json(_worked_portfolio().snapshot()))


def test_a_schema_1_snapshot_restores_the_same_portfolio() -> None:
    """Schema 1 was plain JSON with a window of fill ids: restored, it behaves as the
    portfolio that wrote it (the fill ids are not needed) and writes schema 2."""
    old = (GOLDEN / "portfolio_snapshot_schema1.json").read_bytes()
    worked = _worked_portfolio()
    restored = Portfolio.restore(old, worked.spec, 4, "n2")
    assert restored.snapshot() == worked.snapshot()


def test_view_bytes_are_unchanged() -> None:
    _check("portfolio_view.json", msgspec.json.encode(_worked_portfolio().view()))


def test_a_snapshot_from_before_asset_fees_restores_the_same_portfolio() -> None:
    """``Books.asset_fees`` was added later: a snapshot without it restores with none,
    and writes back the same bytes plus the empty field."""
    old = (GOLDEN / "portfolio_snapshot_before_asset_fees.json").read_bytes()
    worked = _worked_portfolio()
    restored = Portfolio.restore(old, worked.spec, 4, "n2")
    assert restored.snapshot() == worked.snapshot()
    assert restored.books.asset_fees == {}
