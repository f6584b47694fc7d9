"""``RemoteVenue``: the ``/_sim`` control API of a simulator in another process.

The same operations as ``Venue``'s in-process methods, over HTTP with the
standard library only, for a ``livecore venue-sim`` started separately (an
end-to-end test, a rehearsal script).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from livecore.errors import LivecoreError

DEFAULT_TIMEOUT_S = 10.0


class ControlError(LivecoreError):
    """The simulator refused a control request, or could not be reached."""


class RemoteVenue:
    """Drives the simulator at ``url`` (``http://host:port``)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_sim/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise ControlError(f"venue simulator refused {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ControlError(f"venue simulator at {self.url} not reachable: {exc}") from None

    def state(self) -> dict[str, Any]:
        """The venue's own record: balances, orders, fills, last prices."""
        result: dict[str, Any] = self._call("GET", "state")
        return result

    def set_price(self, symbol: str, price: Decimal | str, *, qty: Decimal | str | None = None) -> None:
        body: dict[str, Any] = {"symbol": symbol, "price": str(price)}
        if qty is not None:
            body["qty"] = str(qty)
        self._call("POST", "price", body)

    def trade(self, symbol: str, price: Decimal | str, qty: Decimal | str) -> None:
        self.set_price(symbol, price, qty=qty)

    def set_depth(
        self,
        symbol: str,
        *,
        asks: Iterable[tuple[Decimal | str, Decimal | str]] = (),
        bids: Iterable[tuple[Decimal | str, Decimal | str]] = (),
    ) -> None:
        levels = {"asks": [[str(p), str(q)] for p, q in asks], "bids": [[str(p), str(q)] for p, q in bids]}
        self._call("POST", "depth", {"symbol": symbol, **levels})

    def clear_depth(self, symbol: str) -> None:
        self._call("POST", "depth/clear", {"symbol": symbol})

    def set_balance(self, asset: str, amount: Decimal | str) -> None:
        self._call("POST", "balance", {"asset": asset, "amount": str(amount)})

    def set_commission(
        self,
        *,
        taker: Decimal | str | None = None,
        maker: Decimal | str | None = None,
        asset: str | None = None,
        asset_price: Decimal | str | None = None,
    ) -> None:
        fields = {"taker": taker, "maker": maker, "asset": asset, "asset_price": asset_price}
        self._call("POST", "commission", {k: str(v) for k, v in fields.items() if v is not None})

    # ---- faults ----------------------------------------------------------------------

    def lose_responses(self, count: int = 1, *, match: str = "") -> None:
        self._call("POST", "faults/lose-responses", {"count": count, "match": match})

    def delay_responses(self, seconds: float, count: int = 1, *, match: str = "") -> None:
        self._call("POST", "faults/delay-responses", {"seconds": str(seconds), "count": count, "match": match})

    def rate_limit(self, count: int = 1, *, retry_after_s: int = 1, match: str = "", banned: bool = False) -> None:
        body = {"count": count, "retry_after": retry_after_s, "match": match, "banned": banned}
        self._call("POST", "faults/rate-limit", body)

    def drop_private_stream(self, after: int = 0) -> None:
        self._call("POST", "faults/drop-private-stream", {"after": after})

    def set_clock_skew(self, ms: int) -> None:
        self._call("POST", "faults/clock-skew", {"ms": ms})

    def clear_faults(self) -> None:
        self._call("POST", "faults/clear", {})
