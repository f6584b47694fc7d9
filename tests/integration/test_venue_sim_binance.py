"""The Binance simulator driven by real, unmodified ccxt: its signing, its
parsing and its error mapping run end to end against 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import httpx
import pytest
from tests.integration.venue_watch import Collector, eventually, probe_private
from websockets.sync.client import connect

from livecore.venues.sim.ccxt_config import binance_client
from livecore.venues.sim.model import CommissionSettings, OrderType, Side
from livecore.venues.sim.server import VenueSimServer
from livecore.venues.sim.signing import binance_ws_payload, hmac_hex
from livecore.venues.sim.venue import Credentials, VenueSettings

KEY, SECRET = "test-key", "test-secret"
BTC = "BTC/USDT"


def settings(**overrides: Any) -> VenueSettings:
    base: dict[str, Any] = {
        "venue": "binance",
        "balances": {"BTC": Decimal("1"), "USDT": Decimal("100000")},
        "prices": {BTC: Decimal("50000"), "ETH/USDT": Decimal("3000")},
        "credentials": Credentials(api_key=KEY, secret=SECRET),
    }
    return VenueSettings(**(base | overrides))


@pytest.fixture
def sim() -> Iterator[VenueSimServer]:
    with VenueSimServer(settings()) as server:
        yield server


@pytest.fixture
def client(sim: VenueSimServer) -> Any:
    exchange = binance_client(sim.port, KEY, SECRET)
    exchange.load_markets()
    return exchange


def free(sim: VenueSimServer, asset: str) -> Decimal:
    return sim.venue.balances()[asset].free


# ---- REST -------------------------------------------------------------------------


def test_markets_carry_the_filters(client: Any) -> None:
    market = client.market(BTC)
    assert market["id"] == "BTCUSDT" and market["spot"]
    assert market["precision"]["amount"] == 0.00001 and market["precision"]["price"] == 0.01
    assert market["limits"]["amount"]["min"] == 0.00001
    assert market["limits"]["cost"]["min"] == 5


def test_spot_error_table_applies_off_the_real_host(client: Any) -> None:
    """ccxt picks its spot-only table by the real host; the client merged it in."""
    assert client.exceptions["exact"]["-1004"] is ccxt.OperationFailed  # a spot-only code
    assert client.exceptions["exact"]["-2010"] is ccxt.InvalidOrder  # a common one, unchanged


def test_balance(client: Any) -> None:
    balance = client.fetch_balance()
    assert balance["BTC"]["free"] == 1 and balance["USDT"]["total"] == 100000


def test_market_buy_fills_at_once_with_its_commission(sim: VenueSimServer, client: Any) -> None:
    order = client.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "pf-1-1"})
    assert order["status"] == "closed" and order["filled"] == 0.01 and order["clientOrderId"] == "pf-1-1"
    assert order["trades"][0]["fee"] == {"currency": "BTC", "cost": 0.00001}
    assert free(sim, "USDT") == Decimal("99500")
    assert free(sim, "BTC") == Decimal("1.00999")  # 0.01 bought, 0.1% of it paid as commission


def test_limit_rests_then_fills_when_the_price_crosses(sim: VenueSimServer, client: Any) -> None:
    order = client.create_order(BTC, "limit", "buy", 0.02, 49000, params={"clientOrderId": "pf-1-2"})
    assert order["status"] == "open"
    assert sim.venue.balances()["USDT"].locked == Decimal("980") + Decimal("0")
    assert [o["id"] for o in client.fetch_open_orders()] == [order["id"]]
    sim.venue.set_price(BTC, "48900")
    found = client.fetch_order(None, BTC, params={"clientOrderId": "pf-1-2"})
    assert found["id"] == order["id"] and found["status"] == "closed" and found["average"] == 49000
    (trade,) = client.fetch_my_trades(BTC)
    assert trade["order"] == order["id"] and trade["takerOrMaker"] == "maker" and trade["price"] == 49000
    assert sim.venue.balances()["USDT"].locked == 0 and free(sim, "USDT") == Decimal("99020")


def test_partial_fills_from_a_sized_print_and_from_depth(sim: VenueSimServer, client: Any) -> None:
    resting = client.create_order(BTC, "limit", "sell", 0.05, 51000)
    sim.venue.trade(BTC, "51000", "0.02")
    partial = client.fetch_order(resting["id"], BTC)
    assert partial["status"] == "open" and partial["filled"] == 0.02 and partial["remaining"] == 0.03
    sim.venue.set_depth(BTC, asks=[("50010", "0.01"), ("50020", "0.02")])
    walked = client.create_order(BTC, "market", "buy", 0.03)
    assert [(t["price"], t["amount"]) for t in walked["trades"]] == [(50010, 0.01), (50020, 0.02)]
    assert walked["status"] == "closed" and walked["average"] == pytest.approx(50016.6666667)
    short = client.create_order(BTC, "market", "buy", 0.01)  # the depth is used up: nothing left
    assert short["status"] == "expired" and short["filled"] == 0


def test_cancel_and_unknown_orders(sim: VenueSimServer, client: Any) -> None:
    order = client.create_order(BTC, "limit", "buy", 0.01, 40000, params={"clientOrderId": "pf-1-3"})
    canceled = client.cancel_order(order["id"], BTC)
    assert canceled["status"] == "canceled" and canceled["info"]["origClientOrderId"] == "pf-1-3"
    assert sim.venue.balances()["USDT"].locked == 0 and free(sim, "USDT") == Decimal("100000")
    assert client.fetch_open_orders(BTC) == []
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(order["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(None, BTC, params={"clientOrderId": "never-sent"})


def test_my_trades_since_and_from_id(client: Any) -> None:
    first = client.create_order(BTC, "market", "buy", 0.01)
    second = client.create_order(BTC, "market", "sell", 0.01)
    trades = client.fetch_my_trades(BTC)
    assert [t["order"] for t in trades] == [first["id"], second["id"]]
    assert [t["id"] for t in client.fetch_my_trades(BTC, params={"fromId": trades[1]["id"]})] == [trades[1]["id"]]
    assert len(client.fetch_my_trades(BTC, since=trades[0]["timestamp"])) == 2
    assert client.fetch_my_trades(BTC, since=trades[1]["timestamp"] + 1) == []


def test_duplicate_client_id_of_an_open_order_is_refused(client: Any) -> None:
    client.create_order(BTC, "limit", "buy", 0.01, 40000, params={"clientOrderId": "pf-1-4"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        client.create_order(BTC, "limit", "buy", 0.01, 40000, params={"clientOrderId": "pf-1-4"})


# ---- errors as ccxt maps them -------------------------------------------------------


def test_insufficient_balance(sim: VenueSimServer, client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        client.create_order(BTC, "market", "buy", 3)
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order(BTC, "limit", "sell", 2, 50000)
    assert free(sim, "USDT") == Decimal("100000") and sim.venue.orders() == []


def raw_limit_buy(*, quantity: str, price: str) -> dict[str, str]:
    """``POST /api/v3/order`` parameters as given (ccxt still signs them)."""
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    return order | {"quantity": quantity, "price": price}


def test_filter_failures(client: Any) -> None:
    # ccxt's own rounding happens first; the raw endpoint shows the venue's filters
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
        client.create_order(BTC, "limit", "buy", 0.00001, 40000)  # 0.4 USDT < 5
    with pytest.raises(ccxt.InvalidOrder, match="Filter failure: LOT_SIZE"):
        client.private_post_order(raw_limit_buy(quantity="0.000015", price="40000"))
    with pytest.raises(ccxt.InvalidOrder, match="Filter failure: PRICE_FILTER"):
        client.private_post_order(raw_limit_buy(quantity="0.001", price="40000.005"))


def test_bad_signature_and_key(sim: VenueSimServer) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        binance_client(sim.port, KEY, "wrong-secret").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        binance_client(sim.port, "wrong-key", SECRET).fetch_balance()


def test_clock_skew_is_refused_then_recovered(sim: VenueSimServer, client: Any) -> None:
    sim.venue.faults.set_clock_skew(30_000)  # the client's clock is 30 s behind the venue's
    with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
        client.fetch_balance()
    sim.venue.faults.set_clock_skew(-30_000)
    with pytest.raises(ccxt.InvalidNonce, match="ahead of the server"):
        client.fetch_balance()
    client.load_time_difference()  # GET /api/v3/time: ccxt signs with the venue's clock from now on
    assert client.fetch_balance()["BTC"]["free"] == 1


def test_rate_limit_answer(sim: VenueSimServer, client: Any) -> None:
    sim.venue.faults.rate_limit(1, retry_after_s=2)
    with pytest.raises(ccxt.DDoSProtection, match="-1003"):
        client.fetch_balance()
    assert client.fetch_balance()["BTC"]["free"] == 1
    sim.venue.faults.rate_limit(1, retry_after_s=3)
    answer = httpx.get(f"{sim.url}/api/v3/time")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert answer.json()["code"] == -1003


def test_lost_response_the_order_exists_and_is_found_by_client_id(sim: VenueSimServer, client: Any) -> None:
    sim.venue.faults.lose_responses(1, match="POST /api/v3/order")
    with pytest.raises(ccxt.NetworkError):
        client.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "pf-1-5"})
    found = client.fetch_order(None, BTC, params={"clientOrderId": "pf-1-5"})
    assert found["status"] == "closed" and found["filled"] == 0.01
    assert len(sim.venue.orders()) == 1 and free(sim, "USDT") == Decimal("99500")


def test_late_response_times_out_but_the_order_was_placed(sim: VenueSimServer) -> None:
    client = binance_client(sim.port, KEY, SECRET, timeout_ms=300)
    client.load_markets()
    sim.venue.faults.delay_responses(1.0, match="POST /api/v3/order")
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(BTC, "limit", "buy", 0.01, 45000, params={"clientOrderId": "pf-1-6"})
    assert client.fetch_order(None, BTC, params={"clientOrderId": "pf-1-6"})["status"] == "open"


# ---- commission in the quote or in a third asset ----------------------------------------


def test_commission_in_the_quote() -> None:
    commission = CommissionSettings(taker=Decimal("0.001"), maker=Decimal("0.0005"), asset="quote")
    with VenueSimServer(settings(commission=commission)) as sim:
        client = binance_client(sim.port, KEY, SECRET)
        order = client.create_order(BTC, "market", "buy", 0.01)
        assert order["trades"][0]["fee"] == {"currency": "USDT", "cost": 0.5}
        assert free(sim, "BTC") == Decimal("1.01") and free(sim, "USDT") == Decimal("99499.5")


def test_commission_in_a_third_asset_and_its_fallback() -> None:
    commission = CommissionSettings(asset="BNB", asset_price=Decimal("500"))
    balances = {"BTC": Decimal("1"), "USDT": Decimal("100000"), "BNB": Decimal("0.0015")}
    with VenueSimServer(settings(commission=commission, balances=balances)) as sim:
        client = binance_client(sim.port, KEY, SECRET)
        first = client.create_order(BTC, "market", "buy", 0.01)  # 500 USDT * 0.1% = 0.5 USDT = 0.001 BNB
        assert first["trades"][0]["fee"] == {"currency": "BNB", "cost": 0.001}
        assert free(sim, "BNB") == Decimal("0.0005") and free(sim, "BTC") == Decimal("1.01")
        second = client.create_order(BTC, "market", "buy", 0.01)  # 0.0005 BNB left: the bought BTC pays
        assert second["trades"][0]["fee"] == {"currency": "BTC", "cost": 0.00001}
        assert free(sim, "BTC") == Decimal("1.01999")


# ---- control API over HTTP ----------------------------------------------------------


def test_control_api_over_http(sim: VenueSimServer, client: Any) -> None:
    order = client.create_order(BTC, "limit", "buy", 0.01, 49000)
    assert httpx.post(f"{sim.url}/_sim/price", json={"symbol": BTC, "price": "48000"}).status_code == 200
    assert client.fetch_order(order["id"], BTC)["status"] == "closed"
    httpx.post(f"{sim.url}/_sim/balance", json={"asset": "ETH", "amount": "2.5"}).raise_for_status()
    httpx.post(f"{sim.url}/_sim/faults/rate-limit", json={"count": 1}).raise_for_status()
    with pytest.raises(ccxt.DDoSProtection):
        client.fetch_balance()
    state = httpx.get(f"{sim.url}/_sim/state").json()  # the control API is never rate-limited
    assert state["balances"]["ETH"] == {"free": "2.5", "locked": "0"}
    assert state["prices"][BTC] == "48000"
    assert [f["order_id"] for f in state["fills"]] == [int(order["id"])]
    bad = httpx.post(f"{sim.url}/_sim/price", json={"symbol": "NOPE/USDT", "price": "1"})
    assert bad.status_code == 400 and "unknown symbol" in bad.json()["error"]


# ---- websockets (ccxt.pro) ------------------------------------------------------------


def test_watch_orders_and_my_trades(sim: VenueSimServer) -> None:
    async def scenario() -> None:
        exchange = binance_client(sim.port, KEY, SECRET, pro=True)
        try:
            orders = Collector(lambda: exchange.watch_orders(BTC))
            trades = Collector(lambda: exchange.watch_my_trades(BTC))
            await probe_private(sim.venue, orders, trades)
            resting = await exchange.create_order(BTC, "limit", "buy", 0.02, 49000, params={"clientOrderId": "w-1"})
            sim.venue.trade(BTC, "49000", "0.005")
            sim.venue.set_price(BTC, "48000")
            await eventually(lambda: len(trades.by_order(resting["id"])) == 2)
            fills = trades.by_order(resting["id"])
            assert [(t["amount"], t["price"]) for t in fills] == [(0.005, 49000), (0.015, 49000)]
            assert all(t["fee"]["currency"] == "BTC" for t in fills)
            await eventually(lambda: orders.last(resting["id"]).get("status") == "closed")
            assert orders.last(resting["id"])["clientOrderId"] == "w-1"
            other = await exchange.create_order(BTC, "limit", "sell", 0.01, 52000, params={"clientOrderId": "w-2"})
            await exchange.cancel_order(other["id"], BTC)
            await eventually(lambda: orders.last(other["id"]).get("status") == "canceled")
            assert orders.last(other["id"])["clientOrderId"] == "w-2"  # the original id, not the cancel's
        finally:
            await Collector.stop_all()
            await exchange.close()

    asyncio.run(scenario())


def test_private_stream_drop_in_the_middle_of_fills(sim: VenueSimServer) -> None:
    async def scenario() -> None:
        exchange = binance_client(sim.port, KEY, SECRET, pro=True)
        try:
            trades = Collector(lambda: exchange.watch_my_trades(BTC))
            await probe_private(sim.venue, trades)
            ids = [(await exchange.create_order(BTC, "limit", "buy", 0.01, p))["id"] for p in (49000, 48500, 48000)]
            sim.venue.faults.drop_private_stream(after=1)
            sim.venue.set_price(BTC, "47000")  # three fills: the stream closes after the first
            await eventually(lambda: trades.errors)
            assert isinstance(trades.errors[0], ccxt.NetworkError)
            streamed = {t["order"] for t in trades.items}
            assert streamed & set(ids) == {ids[0]}
            recovered = await exchange.fetch_my_trades(BTC)  # the gap is filled over REST
            assert set(ids) <= {t["order"] for t in recovered}
            await eventually(lambda: sim.venue.private.count() == 1)  # the collector resubscribed
            after = await exchange.create_order(BTC, "market", "sell", 0.01)
            await eventually(lambda: bool(trades.by_order(after["id"])))
        finally:
            await Collector.stop_all()
            await exchange.close()

    asyncio.run(scenario())


def test_watch_public_trades_ticker_and_klines(sim: VenueSimServer) -> None:
    async def scenario() -> None:
        exchange = binance_client(sim.port, KEY, SECRET, pro=True)
        try:
            prints = Collector(lambda: exchange.watch_trades(BTC))
            tickers = Collector(lambda: exchange.watch_ticker(BTC, params={"name": "ticker"}), many=False)
            bars = Collector(lambda: exchange.watch_ohlcv(BTC, "1m"))
            minis = Collector(lambda: exchange.watch_ticker("ETH/USDT"), many=False)  # @miniTicker
            price = Decimal(50000)
            while not (prints.items and tickers.items and bars.items and minis.items):  # every stream subscribed
                price += 1
                sim.venue.set_price(BTC, price)
                sim.venue.set_price("ETH/USDT", price / 10)
                await asyncio.sleep(0.02)
            assert minis.items[-1]["symbol"] == "ETH/USDT" and minis.items[-1]["last"] == float(price / 10)
            sim.venue.trade(BTC, "50500", "0.25")
            await eventually(lambda: any(t["price"] == 50500 and t["amount"] == 0.25 for t in prints.items))
            await eventually(lambda: tickers.items[-1]["last"] == 50500)
            assert tickers.items[-1]["high"] >= 50500
            await eventually(lambda: bars.items[-1][4] == 50500)
        finally:
            await Collector.stop_all()
            await exchange.close()

    asyncio.run(scenario())


def test_venue_refuses_a_bad_websocket_signature(sim: VenueSimServer) -> None:
    """On the wire, as Binance answers. (ccxt 4.5.90 maps it to AuthenticationError, then
    its own clean-up raises a KeyError: ``watch_orders`` surfaces that instead.)"""
    params: dict[str, Any] = {"apiKey": KEY, "timestamp": sim.venue.now_ms(), "recvWindow": 10000}
    good = params | {"signature": hmac_hex(SECRET, binance_ws_payload(params))}
    with connect(f"{sim.ws_url}/ws-api/v3") as ws:
        for request_id, signed in (("1", good | {"signature": "00" * 32}), ("2", good)):
            ws.send(json.dumps({"id": request_id, "method": "userDataStream.subscribe.signature", "params": signed}))
        refused, accepted = json.loads(ws.recv(timeout=5)), json.loads(ws.recv(timeout=5))
    error = {"code": -1022, "msg": "Signature for this request is not valid."}
    assert refused == {"id": "1", "status": 400, "error": error}
    assert accepted["status"] == 200 and accepted["result"] == {"subscriptionId": 0}


def test_python_api_places_like_the_wire(sim: VenueSimServer, client: Any) -> None:
    order, fills = sim.venue.place(symbol=BTC, side=Side.SELL, type=OrderType.MARKET, qty=Decimal("0.1"))
    assert order.status.value == "FILLED" and fills[0].commission_asset == "USDT"
    (trade,) = client.fetch_my_trades(BTC)
    assert trade["id"] == str(fills[0].trade_id) and trade["fee"]["cost"] == 5
