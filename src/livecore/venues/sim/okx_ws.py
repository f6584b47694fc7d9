"""OKX v5's websockets: ``/ws/v5/public`` (``trades``, ``tickers``),
``/ws/v5/business`` (``candle<interval>``) and ``/ws/v5/private`` (``login``,
then the ``orders`` channel of ``instType: SPOT``).

Text ``ping`` is answered ``pong``; ``subscribe`` is confirmed with
``{"event": "subscribe", "arg": ...}``; pushes are ``{"arg": ..., "data": [...]}``.
Login signs ``timestamp + "GET" + "/users/self/verify"`` (timestamp in seconds).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from livecore.venues.sim import okx_wire as wire
from livecore.venues.sim.hub import Hub, Subscriber
from livecore.venues.sim.model import Execution, Fill, OrderEvent
from livecore.venues.sim.signing import okx_signature
from livecore.venues.sim.tape import INTERVALS_MS, TapeUpdate
from livecore.venues.sim.venue import Venue
from livecore.venues.sim.wsloop import reply, send, serve

VERIFY_PATH = "/users/self/verify"
CANDLES = {f"candle{name.upper() if name.endswith('h') else name}": name for name in INTERVALS_MS}
PUBLIC_CHANNELS = frozenset({"trades", "tickers"})
PRIVATE_CHANNELS = frozenset({"orders"})


def _error(code: str, msg: str) -> dict[str, Any]:
    return {"event": "error", "code": code, "msg": msg, "connId": secrets.token_hex(4)}


class OkxStreams:
    """The websocket routes of one simulated OKX."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._symbols = {wire.inst_id(s.symbol): s.symbol for s in venue.markets()}

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws/v5/{access}", self._connection)]

    async def _connection(self, ws: WebSocket) -> None:
        access = ws.path_params["access"]
        if access not in ("public", "private", "business"):
            await ws.close(code=4004)
            return
        await ws.accept()
        subscriber = Subscriber(asyncio.get_running_loop())
        hub: Hub = self._venue.private if access == "private" else self._venue.public
        channels: set[tuple[str, str]] = set()  # (channel, instId or instType)
        logged_in: list[bool] = []

        async def on_text(text: str) -> None:
            if text == "ping":
                reply(subscriber, "pong")
                return
            request = _json(text)
            op, args = request.get("op"), [a for a in request.get("args") or [] if isinstance(a, dict)]
            if op == "login":
                error = self._login_error(args, access)
                if error:
                    reply(subscriber, error)
                    return
                logged_in.append(True)
                reply(subscriber, {"event": "login", "code": "0", "msg": "", "connId": secrets.token_hex(4)})
            elif op in ("subscribe", "unsubscribe"):
                for arg in args:
                    key, error = self._channel(arg, access, bool(logged_in))
                    if error:
                        reply(subscriber, error)
                        continue
                    if op == "subscribe":
                        if not channels:
                            hub.subscribe(subscriber)
                        channels.add(key)
                    else:
                        channels.discard(key)
                    reply(subscriber, {"event": op, "arg": arg, "connId": secrets.token_hex(4)})
            else:
                reply(subscriber, _error("60019", f"Invalid op: op: {op}"))

        async def on_item(item: object) -> None:
            if isinstance(item, TapeUpdate):
                for (channel, inst), data in self._public_pushes(item):
                    if (channel, inst) in channels:
                        await send(ws, {"arg": {"channel": channel, "instId": inst}, "data": [data]})
            elif isinstance(item, OrderEvent) and ("orders", "SPOT") in channels:
                fills = self._fills_so_far(item)
                arg = {"channel": "orders", "instType": "SPOT", "uid": "1"}
                await send(ws, {"arg": arg, "data": [wire.order_push(item, fills)]})

        await serve(ws, subscriber, hubs=(hub,), on_text=on_text, on_item=on_item)

    def _fills_so_far(self, event: OrderEvent) -> list[Fill]:
        """The order's fills up to this event (its own included)."""
        if event.execution is Execution.NEW:
            return []
        fills = self._venue.fills(event.order.symbol, order_id=event.order.order_id)
        return fills if event.fill is None else [f for f in fills if f.trade_id <= event.fill.trade_id]

    def _login_error(self, args: list[dict[str, Any]], access: str) -> dict[str, Any] | None:
        creds = self._venue.credentials
        if access == "public":
            return _error("60008", "Login is not supported for public channels")
        if len(args) != 1:
            return _error("60009", "Login failed.")
        arg = args[0]
        stamp = str(arg.get("timestamp", ""))
        if arg.get("apiKey") != creds.api_key:
            return _error("60005", "Invalid OK-ACCESS-KEY")
        if arg.get("passphrase") != creds.passphrase:
            return _error("60024", "Wrong passphrase")
        if not stamp.isdigit():
            return _error("60004", "Invalid timestamp")
        if abs(int(stamp) * 1000 - self._venue.now_ms()) > wire.TIMESTAMP_WINDOW_MS:
            return _error("60006", "Timestamp request expired")
        if arg.get("sign") != okx_signature(creds.secret, stamp, "GET", VERIFY_PATH, ""):
            return _error("60007", "Invalid sign")
        return None

    def _channel(
        self, arg: dict[str, Any], access: str, logged_in: bool
    ) -> tuple[tuple[str, str], dict[str, Any] | None]:
        channel = str(arg.get("channel", ""))
        if access == "private":
            if channel not in PRIVATE_CHANNELS or arg.get("instType") not in ("SPOT", "ANY"):
                return ("", ""), _error("60018", f"Wrong URL or channel:{channel} doesn't exist.")
            if not logged_in:
                return ("", ""), _error("60011", "Please log in")
            return (channel, "SPOT"), None
        allowed = CANDLES if access == "business" else PUBLIC_CHANNELS
        inst = str(arg.get("instId", ""))
        if channel not in allowed or inst not in self._symbols:
            return ("", ""), _error("60018", f"Wrong URL or channel:{channel},instId:{inst} doesn't exist.")
        return (channel, inst), None

    def _public_pushes(self, update: TapeUpdate) -> list[tuple[tuple[str, str], Any]]:
        symbol = update.trade.symbol
        inst = wire.inst_id(symbol)
        pushes: list[tuple[tuple[str, str], Any]] = [
            (("trades", inst), wire.public_trade(update)),
            (("tickers", inst), wire.ticker(symbol, update.ticker)),
        ]
        pushes += [((channel, inst), wire.candle(update.klines[name])) for channel, name in CANDLES.items()]
        return pushes


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
