"""The simulator's control API over HTTP, under ``/_sim`` (no venue path starts so).

The same operations as ``Venue``'s Python methods, for a simulator in another
process (``livecore venue-sim``): JSON bodies, amounts as strings, an error as
``400 {"error": ...}``. ``GET /_sim/state`` is the venue's own record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livecore.venues.sim.middleware import CONTROL_PREFIX
from livecore.venues.sim.model import CommissionSettings
from livecore.venues.sim.rules import Rejected
from livecore.venues.sim.venue import Venue

Body = dict[str, Any]


class BadControl(Exception):
    """A control request the simulator cannot carry out."""


def control_routes(venue: Venue) -> list[Route]:
    """Every ``/_sim`` route of ``venue``."""

    def state(body: Body) -> Any:
        record = venue.record()
        record["prices"] = {spec.symbol: _str_or_none(venue.last_price(spec.symbol)) for spec in venue.markets()}
        record["venue"] = venue.settings.venue
        return record

    def price(body: Body) -> Any:
        qty = body.get("qty")
        size = None if qty is None else _amount(body, "qty")
        venue.set_price(_text(body, "symbol"), _amount(body, "price"), qty=size)
        return {}

    def depth(body: Body) -> Any:
        venue.set_depth(_text(body, "symbol"), asks=_levels(body, "asks"), bids=_levels(body, "bids"))
        return {}

    def clear_depth(body: Body) -> Any:
        venue.clear_depth(_text(body, "symbol"))
        return {}

    def balance(body: Body) -> Any:
        venue.set_balance(_text(body, "asset"), _amount(body, "amount"))
        return {}

    def commission(body: Body) -> Any:
        current = venue.commission
        try:
            venue.set_commission(
                CommissionSettings(
                    taker=_amount(body, "taker") if "taker" in body else current.taker,
                    maker=_amount(body, "maker") if "maker" in body else current.maker,
                    asset=str(body.get("asset", current.asset)),
                    asset_price=_amount(body, "asset_price") if "asset_price" in body else current.asset_price,
                )
            )
        except ValueError as exc:
            raise BadControl(str(exc)) from None
        return {}

    faults = venue.faults
    table: dict[str, Callable[[Body], Any]] = {
        "price": price,
        "depth": depth,
        "depth/clear": clear_depth,
        "balance": balance,
        "commission": commission,
        "faults/lose-responses": lambda b: faults.lose_responses(_int(b, "count", 1), match=_match(b)),
        "faults/delay-responses": lambda b: faults.delay_responses(
            float(_amount(b, "seconds")), _int(b, "count", 1), match=_match(b)
        ),
        "faults/rate-limit": lambda b: faults.rate_limit(
            _int(b, "count", 1),
            retry_after_s=_int(b, "retry_after", 1),
            match=_match(b),
            banned=b.get("banned") is True,
        ),
        "faults/drop-private-stream": lambda b: faults.drop_private_stream(_int(b, "after", 0)),
        "faults/clock-skew": lambda b: faults.set_clock_skew(_int(b, "ms", 0)),
        "faults/clear": lambda b: faults.clear(),
    }
    routes = [Route(f"{CONTROL_PREFIX}/state", _endpoint(state), methods=["GET"])]
    routes += [Route(f"{CONTROL_PREFIX}/{name}", _endpoint(op), methods=["POST"]) for name, op in table.items()]
    return routes


def _endpoint(op: Callable[[Body], Any]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await request.json() if request.method == "POST" and await request.body() else {}
            if not isinstance(body, dict):
                raise BadControl("the body must be a JSON object")
            result = op(body)
        except (BadControl, Rejected, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({} if result is None else result)

    return endpoint


def _text(body: Body, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadControl(f"{name!r} must be a non-empty string")
    return value


def _amount(body: Body, name: str) -> Decimal:
    value = body.get(name)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BadControl(f"{name!r} must be a decimal number, got {value!r}") from None


def _int(body: Body, name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadControl(f"{name!r} must be an integer, got {value!r}")
    return value


def _match(body: Body) -> str:
    return str(body.get("match", ""))


def _levels(body: Body, name: str) -> list[tuple[Decimal, Decimal]]:
    raw = body.get(name, [])
    try:
        return [(Decimal(str(p)), Decimal(str(q))) for p, q in raw]
    except (TypeError, ValueError, InvalidOperation):
        raise BadControl(f"{name!r} must be a list of [price, quantity]") from None


def _str_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
