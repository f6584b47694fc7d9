"""OKX v5 spot's REST API (``/api/v5/...``) over a ``Venue``.

A private request carries ``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``,
``OK-ACCESS-TIMESTAMP`` (ISO 8601, within 30 s of the venue's clock) and
``OK-ACCESS-SIGN``: base64 HMAC-SHA256 of timestamp + method + path with query
+ body. Orders go in as JSON (one object, or an array for the batch
endpoints ccxt uses by default); a refused order is reported inside ``data``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livecore.venues.sim import okx_wire as wire
from livecore.venues.sim.model import MarketSpec, OrderType, Side, TimeInForce
from livecore.venues.sim.rules import Reason, Rejected
from livecore.venues.sim.signing import okx_signed
from livecore.venues.sim.venue import Venue

PREFIX = "/api/v5"
KEY, SIGN, TIMESTAMP, PASSPHRASE = "OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE"
_KINDS = {"limit": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}

Handler = Callable[[Request], Awaitable[Any]]


def rate_limited_response(retry_after_s: int, banned: bool = False) -> Response:
    """OKX's 429 with its code 50011 (it sends no ``Retry-After`` and bans no IP with a 418)."""
    return JSONResponse(wire.RATE_LIMITED.body(0), status_code=wire.RATE_LIMITED.status)


def parse_timestamp(text: str) -> int:
    """``2020-12-08T09:08:57.715Z`` -> milliseconds; ``ValueError`` if malformed."""
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class OkxRest:
    """The REST routes of one simulated OKX."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._by_id = {wire.inst_id(spec.symbol): spec for spec in venue.markets()}

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/public/time", self._time),
            ("GET", "/public/instruments", self._instruments),
            ("GET", "/market/ticker", self._ticker),
            ("GET", "/market/tickers", self._tickers),
            ("GET", "/account/balance", self._balance),
            ("POST", "/trade/order", self._order),
            ("POST", "/trade/batch-orders", self._batch_orders),
            ("GET", "/trade/order", self._get_order),
            ("POST", "/trade/cancel-order", self._cancel),
            ("POST", "/trade/cancel-batch-orders", self._cancel_batch),
            ("GET", "/trade/orders-pending", self._pending),
            ("GET", "/trade/orders-history", self._history),
            ("GET", "/trade/fills", self._fills),
            ("GET", "/trade/fills-history", self._fills),
        ]
        return [Route(PREFIX + path, self._answering(handler), methods=[method]) for method, path, handler in table]

    def _answering(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(await handler(request))
            except wire.OkxError as exc:
                return JSONResponse(exc.body(self._venue.now_ms()), status_code=exc.status)

        return endpoint

    # ---- request helpers -------------------------------------------------------------

    async def _signed(self, request: Request) -> str:
        """The request's body, once its key, passphrase, timestamp and signature pass."""
        headers, creds = request.headers, self._venue.credentials
        if not headers.get(KEY):
            raise wire.MISSING_KEY
        if headers[KEY] != creds.api_key:
            raise wire.BAD_KEY
        if headers.get(PASSPHRASE) != creds.passphrase:
            raise wire.BAD_PASSPHRASE
        stamp = headers.get(TIMESTAMP, "")
        try:
            sent_ms = parse_timestamp(stamp)
        except ValueError:
            raise wire.BAD_TIMESTAMP from None
        if abs(self._venue.now_ms() - sent_ms) > wire.TIMESTAMP_WINDOW_MS:
            raise wire.EXPIRED
        body = (await request.body()).decode()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not okx_signed(
            creds.secret, headers.get(SIGN, ""), timestamp=stamp, method=request.method, request_path=path, body=body
        ):
            raise wire.BAD_SIGN
        return body

    def _spec(self, inst: object, *, per_order: bool = False) -> MarketSpec:
        if not isinstance(inst, str) or not inst:
            raise wire.parameter("instId")
        try:
            return self._by_id[inst]
        except KeyError:
            raise (wire.rejection(Reason.UNKNOWN_SYMBOL) if per_order else wire.NO_INSTRUMENT) from None

    def _optional_spec(self, request: Request) -> MarketSpec | None:
        inst = request.query_params.get("instId")
        return self._spec(inst) if inst else None

    def _client_ids(self) -> dict[int, str]:
        return {o.order_id: o.client_id for o in self._venue.orders()}

    # ---- public ----------------------------------------------------------------------

    async def _time(self, request: Request) -> Any:
        return wire.ok([{"ts": str(self._venue.now_ms())}])

    async def _instruments(self, request: Request) -> Any:
        if request.query_params.get("instType", "").upper() != "SPOT":
            return wire.ok([])
        spec = self._optional_spec(request)
        return wire.ok([wire.instrument(s) for s in ([spec] if spec else self._venue.markets())])

    async def _ticker(self, request: Request) -> Any:
        spec = self._spec(request.query_params.get("instId"))
        stats = self._venue.ticker(spec.symbol)
        return wire.ok([] if stats is None else [wire.ticker(spec.symbol, stats)])

    async def _tickers(self, request: Request) -> Any:
        found = [(s.symbol, self._venue.ticker(s.symbol)) for s in self._venue.markets()]
        return wire.ok([wire.ticker(symbol, stats) for symbol, stats in found if stats is not None])

    # ---- account and trading ---------------------------------------------------------

    async def _balance(self, request: Request) -> Any:
        await self._signed(request)
        wanted = {c for c in request.query_params.get("ccy", "").split(",") if c}
        now = self._venue.now_ms()
        details = [
            wire.balance_detail(asset, h.free, h.locked, now)
            for asset, h in self._venue.balances().items()
            if not wanted or asset in wanted
        ]
        return wire.ok([{"adjEq": "", "details": details, "imr": "", "mmr": "", "totalEq": "", "uTime": str(now)}])

    async def _order(self, request: Request) -> Any:
        item = _json(await self._signed(request))
        if not isinstance(item, dict):
            raise wire.parameter("body")
        try:
            return wire.ok([self._place(item)])
        except wire.OkxError as exc:
            answer = exc.body(self._venue.now_ms(), str(item.get("clOrdId", "")))
            return answer | {"msg": "Operation failed."} if exc.per_order else answer

    async def _batch_orders(self, request: Request) -> Any:
        items = _json(await self._signed(request))
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise wire.parameter("body")
        return self._batch([functools.partial(self._place, item) for item in items], items)

    def _batch(self, operations: list[Callable[[], dict[str, Any]]], items: list[dict[str, Any]]) -> Any:
        now, data, failed = self._venue.now_ms(), [], 0
        for operation, item in zip(operations, items, strict=True):
            try:
                data.append(operation())
            except wire.OkxError as exc:
                failed += 1
                data.extend(exc.body(now, str(item.get("clOrdId", "")))["data"] or [{"sCode": exc.code}])
        code = "0" if not failed else ("1" if failed == len(items) else "2")
        msg = {"0": "", "1": "All operations failed", "2": "Bulk operation partially succeeded"}[code]
        return {"code": code, "msg": msg, "data": data, "inTime": str(now), "outTime": str(now)}

    def _place(self, item: dict[str, Any]) -> dict[str, Any]:
        spec = self._spec(item.get("instId"), per_order=True)
        if item.get("tdMode") != "cash":
            raise wire.order_error("51000", "Parameter tdMode error")
        side = {"buy": Side.BUY, "sell": Side.SELL}.get(str(item.get("side")))
        if side is None:
            raise wire.order_error("51000", "Parameter side error")
        kind = str(item.get("ordType"))
        client_id = str(item.get("clOrdId") or "")
        if client_id and not wire.CLIENT_ID.match(client_id):
            raise wire.order_error("51000", "Parameter clOrdId error")
        size = _positive(item.get("sz"), "sz")
        price: Decimal | None = None
        quote_qty: Decimal | None = None
        if kind == "market":
            order_type, tif = OrderType.MARKET, TimeInForce.GTC
            target = item.get("tgtCcy") or ("quote_ccy" if side is Side.BUY else "base_ccy")
            if target == "quote_ccy":
                size, quote_qty = Decimal(0), size
        elif kind in _KINDS:
            order_type, tif = OrderType.LIMIT, _KINDS[kind]
            price = _positive(item.get("px"), "px")
        else:
            raise wire.order_error("51000", "Parameter ordType error")
        try:
            order, _ = self._venue.place(
                symbol=spec.symbol,
                side=side,
                type=order_type,
                qty=size,
                price=price,
                tif=tif,
                client_id=client_id,
                quote_qty=quote_qty,
            )
        except Rejected as exc:
            raise wire.rejection(exc.reason, spec.quote if side is Side.BUY else spec.base) from None
        return wire.placed(order, self._venue.now_ms())

    def _ref(self, source: Any) -> tuple[MarketSpec, int | None, str | None]:
        spec = self._spec(source.get("instId"))
        order_id, client_id = source.get("ordId"), source.get("clOrdId")
        if order_id:
            if not str(order_id).isdigit():
                raise wire.parameter("ordId")
            return spec, int(order_id), None
        if not client_id:
            raise wire.OkxError(200, "51000", "Parameter ordId or clOrdId error")
        return spec, None, str(client_id)

    async def _get_order(self, request: Request) -> Any:
        await self._signed(request)
        spec, order_id, client_id = self._ref(request.query_params)
        try:
            order = self._venue.find(spec.symbol, order_id=order_id, client_id=client_id)
        except Rejected:
            raise wire.ORDER_NOT_FOUND from None
        return wire.ok([wire.order_record(order, self._venue.fills(spec.symbol, order_id=order.order_id))])

    def _cancel_one(self, item: dict[str, Any]) -> dict[str, Any]:
        spec, order_id, client_id = self._ref(item)
        try:
            order = self._venue.cancel(symbol=spec.symbol, order_id=order_id, client_id=client_id)
        except Rejected:
            raise wire.CANCEL_FAILED from None
        return wire.canceled(order, self._venue.now_ms())

    async def _cancel(self, request: Request) -> Any:
        item = _json(await self._signed(request))
        if not isinstance(item, dict):
            raise wire.parameter("body")
        answer = self._batch([functools.partial(self._cancel_one, item)], [item])
        return answer | {"msg": "Operation failed."} if answer["code"] != "0" else answer

    async def _cancel_batch(self, request: Request) -> Any:
        items = _json(await self._signed(request))
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise wire.parameter("body")
        return self._batch([functools.partial(self._cancel_one, item) for item in items], items)

    def _orders(self, request: Request, *, open_only: bool) -> list[dict[str, Any]]:
        spec = self._optional_spec(request)
        symbol = spec.symbol if spec else None
        orders = self._venue.open_orders(symbol) if open_only else self._venue.orders(symbol)
        if not open_only:
            orders = [o for o in orders if not o.is_open]
        return [
            wire.order_record(o, self._venue.fills(o.symbol, order_id=o.order_id))
            for o in reversed(orders)  # newest first
        ][: _limit(request)]

    async def _pending(self, request: Request) -> Any:
        await self._signed(request)
        return wire.ok(self._orders(request, open_only=True))

    async def _history(self, request: Request) -> Any:
        await self._signed(request)
        return wire.ok(self._orders(request, open_only=False))

    async def _fills(self, request: Request) -> Any:
        await self._signed(request)
        spec, query = self._optional_spec(request), request.query_params
        order_id, after, before = _int(query.get("ordId")), _int(query.get("after")), _int(query.get("before"))
        fills = self._venue.fills(
            spec.symbol if spec else None,
            order_id=order_id,
            start_ms=_int(query.get("begin")),
            end_ms=_int(query.get("end")),
        )
        fills = [f for f in fills if (after is None or f.trade_id < after) and (before is None or f.trade_id > before)]
        clients = self._client_ids()
        newest_first = [wire.fill_record(f, clients.get(f.order_id, "")) for f in reversed(fills)]
        return wire.ok(newest_first[: _limit(request)])


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise wire.parameter("body") from None


def _positive(value: object, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise wire.order_error("51000", f"Parameter {name} error") from None
    if not number.is_finite() or number <= 0:
        raise wire.order_error("51000", f"Parameter {name} error")
    return number


def _int(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise wire.parameter("query")
    return int(value)


def _limit(request: Request) -> int:
    return min(_int(request.query_params.get("limit")) or wire.MAX_LIMIT, wire.MAX_LIMIT)
