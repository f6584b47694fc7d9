"""The OKX simulator driven by real, unmodified ccxt: its signing, its parsing
and its error mapping run end to end against 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import httpx
import pytest
from tests.integration.venue_watch import Collector, eventually, probe_private

from livecore.venues.sim.ccxt_config import okx_client
from livecore.venues.sim.model import CommissionSettings
from livecore.venues.sim.server import VenueSimServer
from livecore.venues.sim.venue import Credentials, VenueSettings

KEY, SECRET, PASSPHRASE = "okx-key", "okx-secret", "okx-pass"
BTC = "BTC/USDT"


def settings(**overrides: Any) -> VenueSettings:
    base: dict[str, Any] = {
        "venue": "okx",
        "balances": {"BTC": Decimal("1"), "USDT": Decimal("100000")},
        "prices": {BTC: Decimal("50000"), "ETH/USDT": Decimal("3000")},
        "credentials": Credentials(api_key=KEY, secret=SECRET, passphrase=PASSPHRASE),
    }
    return VenueSettings(**(base | overrides))


@pytest.fixture
def sim() -> Iterator[VenueSimServer]:
    with VenueSimServer(settings()) as server:
        yield server


@pytest.fixture
def client(sim: VenueSimServer) -> Any:
    exchange = okx_client(sim.port, KEY, SECRET, PASSPHRASE)
    exchange.load_markets()
    return exchange


def free(sim: VenueSimServer, asset: str) -> Decimal:
    return sim.venue.balances()[asset].free


def raw_order(**fields: str) -> dict[str, str]:
    """``POST /api/v5/trade/order`` fields as given (ccxt still signs them)."""
    return {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "40000"} | fields


def test_markets_and_balance(client: Any) -> None:
    market = client.market(BTC)
    assert market["id"] == "BTC-USDT" and market["spot"]
    assert market["precision"] == {"amount": 0.00001, "price": 0.01}
    assert market["limits"]["amount"]["min"] == 0.00001
    balance = client.fetch_balance()
    assert balance["BTC"]["free"] == 1 and balance["USDT"]["total"] == 100000


def test_market_order_then_lookup_by_client_id(sim: VenueSimServer, client: Any) -> None:
    placed = client.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "pf1e1s1"})
    assert placed["clientOrderId"] == "pf1e1s1"
    found = client.fetch_order(None, BTC, params={"clientOrderId": "pf1e1s1"})
    assert found["id"] == placed["id"] and found["status"] == "closed" and found["filled"] == 0.01
    assert found["fee"] == {"cost": 0.00001, "currency": "BTC"}
    assert free(sim, "BTC") == Decimal("1.00999") and free(sim, "USDT") == Decimal("99500")
    (trade,) = client.fetch_my_trades(BTC)
    assert trade["order"] == placed["id"] and trade["fee"] == {"currency": "BTC", "cost": 0.00001}
    assert trade["takerOrMaker"] == "taker"


def test_market_buy_by_quote_amount(sim: VenueSimServer, client: Any) -> None:
    placed = client.private_post_trade_order(raw_order(ordType="market", sz="1000", tgtCcy="quote_ccy", px=""))
    order = client.fetch_order(placed["data"][0]["ordId"], BTC)
    assert order["filled"] == 0.02 and order["cost"] == 1000


def test_limit_partial_fills_and_cancel(sim: VenueSimServer, client: Any) -> None:
    order = client.create_order(BTC, "limit", "sell", 0.05, 51000, params={"clientOrderId": "pf1e1s2"})
    assert [o["id"] for o in client.fetch_open_orders()] == [order["id"]]
    sim.venue.trade(BTC, "51000", "0.02")
    partial = client.fetch_order(order["id"], BTC)
    assert partial["status"] == "open" and partial["filled"] == 0.02 and partial["average"] == 51000
    canceled = client.cancel_order(order["id"], BTC)
    assert canceled["id"] == order["id"]
    assert client.fetch_order(order["id"], BTC)["status"] == "canceled"
    assert sim.venue.balances()["BTC"].locked == 0 and free(sim, "BTC") == Decimal("0.98")
    assert free(sim, "USDT") == Decimal("100000") + Decimal("1020") - Decimal("1.02")
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(order["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order("999999", BTC)


def test_order_errors(sim: VenueSimServer, client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds, match="51008"):
        client.create_order(BTC, "limit", "buy", 3, 50000)
    with pytest.raises(ccxt.InvalidOrder, match="51020"):
        client.create_order(BTC, "limit", "buy", 0.00001, 40000)  # 0.4 USDT: below the minimum amount
    with pytest.raises(ccxt.InvalidOrder, match="51121"):
        client.private_post_trade_order(raw_order(sz="0.000015"))
    with pytest.raises(ccxt.InvalidOrder, match="51020"):
        client.private_post_trade_order(raw_order(sz="0.000001"))
    client.create_order(BTC, "limit", "buy", 0.01, 40000, params={"clientOrderId": "dup1"})
    with pytest.raises(ccxt.InvalidOrder, match="51016"):
        client.create_order(BTC, "limit", "buy", 0.01, 40000, params={"clientOrderId": "dup1"})
    assert len(sim.venue.orders()) == 1


def test_authentication_errors(sim: VenueSimServer) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="50113"):
        okx_client(sim.port, KEY, "wrong", PASSPHRASE).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="50105"):
        okx_client(sim.port, KEY, SECRET, "wrong").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="50111"):
        okx_client(sim.port, "wrong", SECRET, PASSPHRASE).fetch_balance()


def test_clock_skew_is_refused_then_recovered(sim: VenueSimServer, client: Any) -> None:
    sim.venue.faults.set_clock_skew(60_000)
    with pytest.raises(ccxt.InvalidNonce, match="50102"):
        client.fetch_balance()
    client.load_time_difference()  # GET /api/v5/public/time
    assert client.fetch_balance()["BTC"]["free"] == 1


def test_rate_limit_answer(sim: VenueSimServer, client: Any) -> None:
    sim.venue.faults.rate_limit(1)
    with pytest.raises(ccxt.RateLimitExceeded, match="50011"):
        client.fetch_balance()
    assert client.fetch_balance()["BTC"]["free"] == 1
    sim.venue.faults.rate_limit(1)
    answer = httpx.get(f"{sim.url}/api/v5/public/time")
    assert answer.status_code == 429 and answer.json()["code"] == "50011"


def test_lost_response_the_order_exists(sim: VenueSimServer, client: Any) -> None:
    sim.venue.faults.lose_responses(1, match="POST /api/v5/trade/")
    with pytest.raises(ccxt.NetworkError):
        client.create_order(BTC, "limit", "buy", 0.01, 45000, params={"clientOrderId": "lost1"})
    assert client.fetch_order(None, BTC, params={"clientOrderId": "lost1"})["status"] == "open"
    assert len(sim.venue.orders()) == 1


def test_commission_in_a_third_asset() -> None:
    commission = CommissionSettings(asset="OKB", asset_price=Decimal("50"))
    balances = {"BTC": Decimal("1"), "USDT": Decimal("100000"), "OKB": Decimal("1")}
    with VenueSimServer(settings(commission=commission, balances=balances)) as sim:
        client = okx_client(sim.port, KEY, SECRET, PASSPHRASE)
        placed = client.create_order(BTC, "market", "sell", 0.1)  # 5000 USDT * 0.1% = 5 USDT = 0.1 OKB
        (trade,) = client.fetch_my_trades(BTC)
        assert trade["order"] == placed["id"] and trade["fee"] == {"currency": "OKB", "cost": 0.1}
        assert free(sim, "OKB") == Decimal("0.9") and free(sim, "USDT") == Decimal("105000")


def test_watch_orders_my_trades_and_a_drop(sim: VenueSimServer) -> None:
    async def scenario() -> None:
        exchange = okx_client(sim.port, KEY, SECRET, PASSPHRASE, pro=True)
        try:
            orders = Collector(lambda: exchange.watch_orders(BTC))
            trades = Collector(lambda: exchange.watch_my_trades(BTC))
            await probe_private(sim.venue, orders, trades)
            ids = []
            for n, price in enumerate((49000, 48500, 48000)):
                client_id = {"clientOrderId": f"w{n}"}
                placed = await exchange.create_order(BTC, "limit", "buy", 0.01, price, params=client_id)
                ids.append(placed["id"])
            await eventually(lambda: all(orders.last(i).get("status") == "open" for i in ids))
            sim.venue.trade(BTC, "49000", "0.004")  # a partial fill, streamed
            await eventually(lambda: len(trades.by_order(ids[0])) == 1)
            assert trades.by_order(ids[0])[0]["amount"] == 0.004
            sim.venue.faults.drop_private_stream(after=1)
            sim.venue.set_price(BTC, "47000")  # three more fills: the stream closes after the first
            await eventually(lambda: orders.errors or trades.errors)
            recovered = await exchange.fetch_my_trades(BTC)  # every fill is there over REST
            assert {t["order"] for t in recovered} >= set(ids)
            assert sum(t["amount"] for t in recovered if t["order"] in ids) == pytest.approx(0.03)
            after = await exchange.create_order(BTC, "market", "sell", 0.01)
            await eventually(lambda: bool(trades.by_order(after["id"])))  # resubscribed after the drop
        finally:
            await Collector.stop_all()
            await exchange.close()

    asyncio.run(scenario())


def test_watch_public_trades_ticker_and_candles(sim: VenueSimServer) -> None:
    async def scenario() -> None:
        exchange = okx_client(sim.port, KEY, SECRET, PASSPHRASE, pro=True)
        try:
            prints = Collector(lambda: exchange.watch_trades(BTC))
            tickers = Collector(lambda: exchange.watch_ticker(BTC), many=False)
            bars = Collector(lambda: exchange.watch_ohlcv(BTC, "1m"))
            price = Decimal(50000)
            while not (prints.items and tickers.items and bars.items):  # until every stream is subscribed
                price += 1
                sim.venue.set_price(BTC, price)
                await asyncio.sleep(0.02)
            sim.venue.trade(BTC, "50500", "0.25")
            await eventually(lambda: any(t["price"] == 50500 and t["amount"] == 0.25 for t in prints.items))
            await eventually(lambda: tickers.items[-1]["last"] == 50500)
            await eventually(lambda: bars.items[-1][4] == 50500)
        finally:
            await Collector.stop_all()
            await exchange.close()

    asyncio.run(scenario())
