"""livecore's client order ids at a venue, and back.

livecore's ids are ``{portfolio_id}-{epoch}-{seq}``; a venue accepts a client
id only within its own alphabet and length:

- Binance ``newClientOrderId``: ``^[a-zA-Z0-9_-]{1,36}$`` (the pattern the
  venue's own ``-1100`` error states; later answers also allow ``.:/``, which
  livecore does not rely on);
- OKX ``clOrdId``: letters and digits, at most 32 (case-sensitive; ccxt's own
  notes say ``[a-z0-9]``, so lower case only is used).

The venue id is derived deterministically: livecore's id itself when the
venue accepts it (readable in the venue's own screens), else a fixed prefix
and the base-36 digest (SHA-256) of livecore's id, cut to the venue's length
(``lc`` + 30 characters: 155 bits, a collision is not expected in the life of
the universe). Being deterministic, the mapping is rebuilt from the journal's
orders after a restart: the journal is the stored mapping. ``VenueIds`` keeps
it in both directions and refuses an id that would map onto another order's
(the collision check).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

from livecore.errors import LivecoreError

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class ClientIdCollision(LivecoreError):
    """Two livecore ids map onto one venue id (never expected; refused if it happens)."""


@dataclass(frozen=True, slots=True)
class ClientIdScheme:
    """A venue's rule for client ids: its accepted pattern, its longest id, and the
    prefix of digested ids."""

    pattern: str
    max_length: int
    prefix: str = "lc"

    def accepts(self, text: str) -> bool:
        return len(text) <= self.max_length and re.fullmatch(self.pattern, text) is not None


BINANCE_IDS = ClientIdScheme(pattern=r"[a-zA-Z0-9_-]{1,36}", max_length=36)
OKX_IDS = ClientIdScheme(pattern=r"[a-z0-9]{1,32}", max_length=32)


def _base36(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out)) or "0"


def venue_client_id(client_order_id: str, scheme: ClientIdScheme) -> str:
    """The id ``client_order_id`` goes to the venue with (see the module doc)."""
    if scheme.accepts(client_order_id):
        return client_order_id
    digest = _base36(hashlib.sha256(client_order_id.encode()).digest())
    return (scheme.prefix + digest)[: scheme.max_length]


class VenueIds:
    """livecore id <-> venue id, both ways; thread-safe."""

    def __init__(self, scheme: ClientIdScheme) -> None:
        self.scheme = scheme
        self._to_venue: dict[str, str] = {}
        self._to_livecore: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, client_order_id: str) -> str:
        """The venue id of ``client_order_id``, remembered; ``ClientIdCollision`` if it
        is already another order's."""
        venue_id = venue_client_id(client_order_id, self.scheme)
        with self._lock:
            owner = self._to_livecore.get(venue_id)
            if owner is not None and owner != client_order_id:
                raise ClientIdCollision(f"venue client id {venue_id} of {client_order_id} already names {owner}")
            self._to_venue[client_order_id] = venue_id
            self._to_livecore[venue_id] = client_order_id
            return venue_id

    def livecore_id(self, venue_id: str) -> str | None:
        """livecore's id for a venue client id, None when no registered order has it."""
        with self._lock:
            return self._to_livecore.get(venue_id)

    def venue_id(self, client_order_id: str) -> str | None:
        with self._lock:
            return self._to_venue.get(client_order_id)

    def forget(self, client_order_id: str) -> None:
        with self._lock:
            venue_id = self._to_venue.pop(client_order_id, None)
            if venue_id is not None:
                self._to_livecore.pop(venue_id, None)
