"""The venue's own account, beside livecore's books.

The gateway writes a ``VenueSnapshot`` (balances per asset, venue orders
livecore did not send, working orders, streams down) every few seconds under
``names.venue_snapshot_key(venue)``; ``livecore status`` and the API read it
and set it beside what the books hold per asset (``book_assets``: every
portfolio's cash and reserved cash in its quote, positions in their base,
fees paid in a third asset taken off), flagging a mismatch.

The account may hold more than livecore manages (funds no portfolio was
given): the difference venue minus books is the *unmanaged* amount, fixed
while nobody deposits, withdraws or trades by hand. The first snapshot sets
the ``Baseline``: that difference, and the initial cash of each portfolio
registered then. A portfolio deployed later is funded from the unmanaged
amount (its initial cash is taken off it), so deploying does not look like a
mismatch; any other move of the difference is one. After a deposit, a
withdrawal or removing a portfolio the operator resets the baseline
(docs/VENUES.md).

Pure apart from the struct codec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from livecore.domain.fees import split_symbol

ZERO = Decimal(0)


class VenueSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    ts_ns: int
    balances: dict[str, Decimal]
    unknown_orders: dict[str, str] = {}
    working_orders: int = 0
    streams_down: list[str] = []


class AssetLine(msgspec.Struct, frozen=True, kw_only=True):
    """One asset: the venue's total, the books', the unmanaged baseline, and whether
    the difference moved off the baseline."""

    asset: str
    venue: Decimal
    books: Decimal
    unmanaged: Decimal
    mismatch: bool


class Baseline(msgspec.Struct, frozen=True, kw_only=True):
    """What the account held beyond the books, and which portfolios were funded then
    (portfolio id -> (currency, initial cash))."""

    unmanaged: dict[str, Decimal]
    funded: dict[str, tuple[str, Decimal]] = {}
    ts_ns: int = 0

    def expected(self, funded_now: Mapping[str, tuple[str, Decimal]]) -> dict[str, Decimal]:
        """The unmanaged amounts once the portfolios deployed since are funded from them."""
        out = dict(self.unmanaged)
        for pid, (currency, cash) in funded_now.items():
            if pid not in self.funded:
                out[currency] = out.get(currency, ZERO) - cash
        return out


_encoder = msgspec.json.Encoder(decimal_format="string")
_decoder = msgspec.json.Decoder(VenueSnapshot)
_baseline_decoder = msgspec.json.Decoder(Baseline)


def encode_snapshot(snapshot: VenueSnapshot) -> bytes:
    return _encoder.encode(snapshot)


def decode_snapshot(data: bytes) -> VenueSnapshot:
    return _decoder.decode(data)


def encode_baseline(baseline: Baseline) -> bytes:
    return _encoder.encode(baseline)


def decode_baseline(data: bytes) -> Baseline:
    return _baseline_decoder.decode(data)


def book_assets(
    books: Iterable[tuple[str, Decimal, Mapping[str, Decimal], Mapping[str, Decimal]]],
) -> dict[str, Decimal]:
    """Per asset, what the books hold: ``(currency, cash incl. reserved, positions,
    asset fees)`` of each portfolio summed into quote, base and fee assets."""
    total: dict[str, Decimal] = {}

    def add(asset: str, amount: Decimal) -> None:
        total[asset] = total.get(asset, ZERO) + amount

    for currency, cash, positions, fees in books:
        add(currency, cash)
        for symbol, quantity in positions.items():
            pair = split_symbol(symbol)
            add(pair[0] if pair is not None else symbol, quantity)
        for asset, amount in fees.items():
            add(asset, -amount)
    return total


def unmanaged(venue: Mapping[str, Decimal], books: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Venue minus books, per asset seen on either side."""
    return {a: venue.get(a, ZERO) - books.get(a, ZERO) for a in sorted(set(venue) | set(books))}


def compare(
    venue: Mapping[str, Decimal], books: Mapping[str, Decimal], baseline: Mapping[str, Decimal]
) -> list[AssetLine]:
    """One line per asset; ``mismatch`` when venue - books moved off the baseline."""
    lines = []
    for asset, difference in unmanaged(venue, books).items():
        base = baseline.get(asset, ZERO)
        lines.append(
            AssetLine(
                asset=asset,
                venue=venue.get(asset, ZERO),
                books=books.get(asset, ZERO),
                unmanaged=base,
                mismatch=difference != base,
            )
        )
    return lines
