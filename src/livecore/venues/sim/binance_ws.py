"""Binance spot's websockets: the public streams and the websocket API's user data.

Public (``/ws``, ``/ws/<streams>``, ``/stream?streams=``): ``SUBSCRIBE`` /
``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` for ``<symbol>@trade``,
``@miniTicker``, ``@ticker`` and ``@kline_<interval>``. Private
(``/ws-api/v3``): ``userDataStream.subscribe.signature`` (signed like a REST
request, parameters sorted), then ``executionReport`` and
``outboundAccountPosition`` events wrapped in ``{"subscriptionId", "event"}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from livecore.venues.sim import binance_events as events
from livecore.venues.sim import binance_wire as wire
from livecore.venues.sim.binance_rest import check_timestamp
from livecore.venues.sim.hub import Subscriber
from livecore.venues.sim.model import OrderEvent
from livecore.venues.sim.signing import binance_ws_signed
from livecore.venues.sim.tape import INTERVALS_MS, TapeUpdate
from livecore.venues.sim.venue import BalanceUpdate, Venue
from livecore.venues.sim.wsloop import reply, send, serve

WS_API_PATH = "/ws-api/v3"
SUBSCRIBE_SIGNATURE = "userDataStream.subscribe.signature"
KINDS = ("trade", "miniTicker", "ticker", *(f"kline_{i}" for i in INTERVALS_MS))


class BinanceStreams:
    """The websocket routes of one simulated Binance."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._symbols = {wire.market_id(s.symbol).lower(): s.symbol for s in venue.markets()}
        self._next_subscription = 0

    def routes(self) -> list[WebSocketRoute]:
        return [
            WebSocketRoute("/ws", self._public),
            WebSocketRoute("/ws/{streams:path}", self._public),
            WebSocketRoute("/stream", self._public),
            WebSocketRoute(WS_API_PATH, self._ws_api),
        ]

    # ---- public streams ------------------------------------------------------------

    def _valid(self, stream: str) -> bool:
        market, _, kind = stream.partition("@")
        return market in self._symbols and kind in KINDS

    async def _public(self, ws: WebSocket) -> None:
        await ws.accept()
        combined = ws.url.path.startswith("/stream")
        named = ws.query_params.get("streams", "") if combined else ws.path_params.get("streams", "")
        streams = {s for s in named.split("/") if self._valid(s)}
        subscriber = self._venue.public.subscribe()

        async def on_text(text: str) -> None:
            request = _json(text)
            method, request_id = request.get("method"), request.get("id")
            params = [p for p in request.get("params") or [] if isinstance(p, str)]
            if method == "SUBSCRIBE":
                if not all(self._valid(p) for p in params):
                    error = {"code": 2, "msg": "Invalid request: invalid stream"}
                    reply(subscriber, {"error": error, "id": request_id})
                    return
                streams.update(params)
                reply(subscriber, {"result": None, "id": request_id})
            elif method == "UNSUBSCRIBE":
                streams.difference_update(params)
                reply(subscriber, {"result": None, "id": request_id})
            elif method == "LIST_SUBSCRIPTIONS":
                reply(subscriber, {"result": sorted(streams), "id": request_id})
            else:
                reply(subscriber, {"error": {"code": 1, "msg": "Invalid request"}, "id": request_id})

        async def on_item(item: object) -> None:
            if isinstance(item, TapeUpdate):
                for stream, event in self._events(item):
                    if stream in streams:
                        await send(ws, {"stream": stream, "data": event} if combined else event)

        await serve(ws, subscriber, hubs=(self._venue.public,), on_text=on_text, on_item=on_item)

    def _events(self, update: TapeUpdate) -> list[tuple[str, dict[str, Any]]]:
        symbol, now = update.trade.symbol, self._venue.now_ms()
        market = wire.market_id(symbol).lower()
        pushes = [
            (f"{market}@trade", events.trade_event(update, now)),
            (f"{market}@miniTicker", events.mini_ticker(symbol, update.ticker, now)),
            (f"{market}@ticker", events.ticker(symbol, update.ticker, now)),
        ]
        pushes += [(f"{market}@kline_{i}", events.kline(symbol, i, k, now)) for i, k in update.klines.items()]
        return pushes

    # ---- websocket API: the user data stream ------------------------------------------

    async def _ws_api(self, ws: WebSocket) -> None:
        await ws.accept()
        subscriber = Subscriber(asyncio.get_running_loop())
        subscription: list[int] = []

        async def on_text(text: str) -> None:
            request = _json(text)
            request_id, method = request.get("id"), request.get("method")
            params = request.get("params") or {}
            if method == SUBSCRIBE_SIGNATURE:
                error = self._check_signed(params if isinstance(params, dict) else {})
                if error is not None:
                    reply(subscriber, {"id": request_id, "status": error.status, "error": error.body()})
                    return
                if not subscription:
                    subscription.append(self._next_subscription)
                    self._next_subscription += 1
                    self._venue.private.subscribe(subscriber)
                reply(subscriber, _ok(request_id, {"subscriptionId": subscription[0]}))
            elif method == "userDataStream.unsubscribe":
                self._venue.private.unsubscribe(subscriber)
                subscription.clear()
                reply(subscriber, _ok(request_id, {}))
            elif method == "ping":
                reply(subscriber, _ok(request_id, {}))
            elif method == "time":
                reply(subscriber, _ok(request_id, {"serverTime": self._venue.now_ms()}))
            else:
                error_body = {"code": -1020, "msg": "Unsupported operation."}
                reply(subscriber, {"id": request_id, "status": 400, "error": error_body})

        async def on_item(item: object) -> None:
            if not subscription:
                return
            now = self._venue.now_ms()
            if isinstance(item, OrderEvent):
                await send(ws, {"subscriptionId": subscription[0], "event": events.execution_report(item, now)})
            elif isinstance(item, BalanceUpdate):
                event = events.account_position(item.holdings, now)
                await send(ws, {"subscriptionId": subscription[0], "event": event})

        await serve(ws, subscriber, hubs=(self._venue.private,), on_text=on_text, on_item=on_item)

    def _check_signed(self, params: dict[str, Any]) -> wire.BinanceError | None:
        key = params.get("apiKey")
        if not isinstance(key, str) or not key:
            return wire.BAD_API_KEY_FORMAT
        if key != self._venue.credentials.api_key:
            return wire.BAD_API_KEY
        if not binance_ws_signed(self._venue.credentials.secret, params):
            return wire.BAD_SIGNATURE
        try:
            check_timestamp({k: str(v) for k, v in params.items()}, self._venue.now_ms())
        except wire.BinanceError as exc:
            return exc
        return None


def _ok(request_id: object, result: dict[str, Any]) -> dict[str, Any]:
    return {"id": request_id, "status": 200, "result": result, "rateLimits": []}


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
