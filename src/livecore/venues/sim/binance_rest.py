"""Binance spot's REST API (``/api/v3/...``) over a ``Venue``.

Paths, parameters, signing, the order of the checks and the answers follow the
real venue, so ccxt's ``binance`` signs and parses unmodified: a signed request
carries ``X-MBX-APIKEY``, ``timestamp``, ``recvWindow`` and a hex HMAC-SHA256
``signature`` of its query string and form body.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livecore.venues.sim import binance_events as events
from livecore.venues.sim import binance_wire as wire
from livecore.venues.sim.model import MarketSpec, OrderType, Side, TimeInForce
from livecore.venues.sim.rules import Rejected
from livecore.venues.sim.signing import binance_rest_signed
from livecore.venues.sim.venue import Venue

PREFIX = "/api/v3"
API_KEY_HEADER = "X-MBX-APIKEY"
MAX_DECIMALS = 8  # baseAssetPrecision / quotePrecision of every simulated market
DEFAULT_TRADES_LIMIT, MAX_TRADES_LIMIT = 500, 1000
_ID_ALPHABET = string.ascii_letters + string.digits

_E = TypeVar("_E", OrderType, Side, TimeInForce)
Handler = Callable[[Request], Awaitable[Any]]


def error_response(error: wire.BinanceError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def random_client_id() -> str:
    """An id like the ones the venue makes up (22 characters)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


class BinanceRest:
    """The REST routes of one simulated Binance."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._by_id = {wire.market_id(spec.symbol): spec for spec in venue.markets()}

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/ping", self._ping),
            ("GET", "/time", self._time),
            ("GET", "/exchangeInfo", self._exchange_info),
            ("GET", "/ticker/price", self._ticker_price),
            ("GET", "/ticker/24hr", self._ticker_24hr),
            ("GET", "/depth", self._depth),
            ("GET", "/account", self._account),
            ("POST", "/order", self._new_order),
            ("GET", "/order", self._query_order),
            ("DELETE", "/order", self._cancel_order),
            ("GET", "/openOrders", self._open_orders),
            ("DELETE", "/openOrders", self._cancel_all),
            ("GET", "/allOrders", self._all_orders),
            ("GET", "/myTrades", self._my_trades),
        ]
        return [Route(PREFIX + path, _answering(handler), methods=[method]) for method, path, handler in table]

    # ---- request helpers -------------------------------------------------------------

    async def _signed(self, request: Request) -> dict[str, str]:
        """The request's parameters, once its key, signature and timestamp pass."""
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            raise wire.BAD_API_KEY_FORMAT
        if key != self._venue.credentials.api_key:
            raise wire.BAD_API_KEY
        query, body = request.url.query, (await request.body()).decode()
        params = dict(parse_qsl(query, keep_blank_values=True)) | dict(parse_qsl(body, keep_blank_values=True))
        if not binance_rest_signed(self._venue.credentials.secret, query, body):
            raise wire.BAD_SIGNATURE
        check_timestamp(params, self._venue.now_ms())
        return params

    def _market(self, params: dict[str, str], *, required: bool = True) -> MarketSpec | None:
        market = params.get("symbol")
        if not market:
            if required:
                raise wire.mandatory("symbol")
            return None
        try:
            return self._by_id[market]
        except KeyError:
            raise wire.INVALID_SYMBOL from None

    def _spec(self, params: dict[str, str]) -> MarketSpec:
        spec = self._market(params)
        assert spec is not None
        return spec

    # ---- public ----------------------------------------------------------------------

    async def _ping(self, request: Request) -> Any:
        return {}

    async def _time(self, request: Request) -> Any:
        return {"serverTime": self._venue.now_ms()}

    async def _exchange_info(self, request: Request) -> Any:
        spec = self._market(dict(request.query_params), required=False)
        specs = [spec] if spec else self._venue.markets()
        return wire.exchange_info(specs, self._venue.now_ms())

    async def _ticker_price(self, request: Request) -> Any:
        specs = self._requested(request)
        answers = [
            {"symbol": wire.market_id(s.symbol), "price": wire.amount(self._venue.last_price(s.symbol))} for s in specs
        ]
        return answers[0] if "symbol" in request.query_params else answers

    async def _ticker_24hr(self, request: Request) -> Any:
        now, answers = self._venue.now_ms(), []
        for spec in self._requested(request):
            stats = self._venue.ticker(spec.symbol)
            if stats is not None:
                answers.append(events.ticker(spec.symbol, stats, now, event=False))
        return answers[0] if "symbol" in request.query_params and answers else answers

    def _requested(self, request: Request) -> list[MarketSpec]:
        spec = self._market(dict(request.query_params), required=False)
        return [spec] if spec else self._venue.markets()

    async def _depth(self, request: Request) -> Any:
        spec = self._spec(dict(request.query_params))
        asks, bids = self._venue.depth(spec.symbol)
        last = self._venue.last_price(spec.symbol)
        if not asks and not bids and last is not None:
            asks = bids = [[last, Decimal(1)]]
        return {
            "lastUpdateId": self._venue.now_ms(),
            "bids": [[wire.amount(p), wire.amount(q)] for p, q in bids],
            "asks": [[wire.amount(p), wire.amount(q)] for p, q in asks],
        }

    # ---- account and trading ---------------------------------------------------------

    async def _account(self, request: Request) -> Any:
        params = await self._signed(request)
        omit_zero = params.get("omitZeroBalances", "false").lower() == "true"
        commission = self._venue.commission
        rates = {"maker": wire.amount(commission.maker), "taker": wire.amount(commission.taker)}
        return {
            "makerCommission": int(commission.maker * 10_000),
            "takerCommission": int(commission.taker * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": rates | {"buyer": wire.amount(Decimal(0)), "seller": wire.amount(Decimal(0))},
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self._venue.now_ms(),
            "accountType": "SPOT",
            "balances": [
                {"asset": asset, "free": wire.amount(h.free), "locked": wire.amount(h.locked)}
                for asset, h in self._venue.balances().items()
                if not (omit_zero and h.free == 0 and h.locked == 0)
            ],
            "permissions": ["SPOT"],
            "uid": 1,
        }

    async def _new_order(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._spec(params)
        order_type = _choice(params, "type", OrderType, wire.INVALID_TYPE)
        side = _choice(params, "side", Side, wire.INVALID_SIDE)
        client_id = params.get("newClientOrderId") or random_client_id()
        if not wire.CLIENT_ID.match(client_id):
            raise wire.illegal("newClientOrderId", wire.CLIENT_ID_RANGE)
        resp_type = params.get("newOrderRespType", "FULL")
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise wire.BinanceError(400, -1136, "Invalid newOrderRespType.")
        if order_type is OrderType.LIMIT:
            tif = _choice(params, "timeInForce", TimeInForce, wire.INVALID_TIF)
            qty, price, quote_qty = _decimal(params, "quantity"), _decimal(params, "price"), None
        else:
            for name in ("price", "timeInForce"):
                if params.get(name):
                    raise wire.not_required(name)
            tif, price = TimeInForce.GTC, None
            if params.get("quoteOrderQty"):
                if params.get("quantity"):
                    raise wire.not_required("quoteOrderQty")
                qty, quote_qty = Decimal(0), _decimal(params, "quoteOrderQty")
            else:
                qty, quote_qty = _decimal(params, "quantity"), None
        order, fills = self._venue.place(
            symbol=spec.symbol,
            side=side,
            type=order_type,
            qty=qty,
            price=price,
            tif=tif,
            client_id=client_id,
            quote_qty=quote_qty,
        )
        return wire.order_ack(order, fills, resp_type, self._venue.now_ms())

    def _order_ref(self, params: dict[str, str]) -> tuple[int | None, str | None]:
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise wire.NEITHER_ORDER_ID
        if order_id:
            if not order_id.isdigit():
                raise wire.illegal("orderId", "^[0-9]{1,20}$")
            return int(order_id), None
        return None, client_id

    async def _query_order(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._spec(params)
        order_id, client_id = self._order_ref(params)
        try:
            return wire.order_query(self._venue.find(spec.symbol, order_id=order_id, client_id=client_id))
        except Rejected as exc:
            raise wire.rejection(exc.reason) from None

    async def _cancel_order(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._spec(params)
        order_id, client_id = self._order_ref(params)
        cancel_id = params.get("newClientOrderId") or random_client_id()
        try:
            order = self._venue.cancel(
                symbol=spec.symbol, order_id=order_id, client_id=client_id, cancel_client_id=cancel_id
            )
        except Rejected as exc:
            raise wire.rejection(exc.reason, cancel=True) from None
        return wire.cancel_answer(order, cancel_id, self._venue.now_ms())

    async def _cancel_all(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._spec(params)
        answers = []
        for order in self._venue.open_orders(spec.symbol):
            cancel_id = random_client_id()
            done = self._venue.cancel(symbol=spec.symbol, order_id=order.order_id, cancel_client_id=cancel_id)
            answers.append(wire.cancel_answer(done, cancel_id, self._venue.now_ms()))
        if not answers:
            raise wire.BinanceError(400, -2011, "Unknown order sent.")
        return answers

    async def _open_orders(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._market(params, required=False)
        return [wire.order_query(o) for o in self._venue.open_orders(spec.symbol if spec else None)]

    async def _all_orders(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._spec(params)
        start, end = _int(params, "startTime"), _int(params, "endTime")
        from_id = _int(params, "orderId")
        orders = [
            o
            for o in self._venue.orders(spec.symbol)
            if (from_id is None or o.order_id >= from_id)
            and (start is None or o.created_ms >= start)
            and (end is None or o.created_ms <= end)
        ]
        return [wire.order_query(o) for o in orders[: _limit(params)]]

    async def _my_trades(self, request: Request) -> Any:
        params = await self._signed(request)
        spec = self._spec(params)
        fills = self._venue.fills(
            spec.symbol,
            order_id=_int(params, "orderId"),
            start_ms=_int(params, "startTime"),
            end_ms=_int(params, "endTime"),
            from_id=_int(params, "fromId"),
        )
        return [wire.my_trade(f) for f in fills[: _limit(params)]]


def check_timestamp(params: dict[str, str], now_ms: int) -> None:
    """Binance's rule: no more than 1 s ahead of the server, no older than ``recvWindow``."""
    raw = params.get("timestamp", "")
    if not raw.isdigit():
        raise wire.mandatory("timestamp")
    window = params.get("recvWindow", "5000")
    if not window.isdigit():
        raise wire.illegal("recvWindow", "^[0-9]{1,20}$")
    if int(window) > wire.MAX_RECV_WINDOW_MS:
        raise wire.RECV_WINDOW_TOO_LARGE
    timestamp = int(raw)
    if timestamp > now_ms + wire.AHEAD_TOLERANCE_MS:
        raise wire.TIMESTAMP_AHEAD
    if now_ms - timestamp > int(window):
        raise wire.TIMESTAMP_OUTSIDE


def _answering(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run a handler; its result as JSON, a venue error as the venue's error answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except wire.BinanceError as exc:
            return error_response(exc)
        except Rejected as exc:
            return error_response(wire.rejection(exc.reason))

    return endpoint


def _choice(params: dict[str, str], name: str, kind: type[_E], invalid: wire.BinanceError) -> _E:
    value = params.get(name)
    if not value:
        raise wire.mandatory(name)
    try:
        return kind(value.upper())
    except ValueError:
        raise invalid from None


def _decimal(params: dict[str, str], name: str) -> Decimal:
    value = params.get(name)
    if not value:
        raise wire.mandatory(name)
    if not wire.DECIMAL.match(value):
        raise wire.illegal(name)
    number = Decimal(value)
    if -number.normalize().as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        raise wire.BinanceError(400, -1111, f"Parameter '{name}' has too much precision.")
    if number <= 0:
        raise wire.illegal(name)
    return number


def _int(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if not value:
        return None
    if not value.isdigit():
        raise wire.illegal(name, "^[0-9]{1,20}$")
    return int(value)


def _limit(params: dict[str, str]) -> int:
    return min(_int(params, "limit") or DEFAULT_TRADES_LIMIT, MAX_TRADES_LIMIT)
