"""`livecore venue-sim` as a real process: ccxt trades on it, the control API
drives it from outside (``RemoteVenue``), SIGTERM stops it with exit code 0."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from livecore.testing.processes import livecore_argv, spawn
from livecore.testing.servers import free_port, wait_until
from livecore.venues.sim.ccxt_config import binance_client
from livecore.venues.sim.remote import ControlError, RemoteVenue


def test_venue_sim_process(tmp_path: Path) -> None:
    port = free_port()
    argv = ["venue-sim", "binance", "--port", str(port), "--api-key", "k1", "--secret", "s1",
            "--balances", "BTC=0.5,USDT=2000", "--symbols", "BTC/USDT", "--prices", "BTC/USDT=40000",
            "--fee-asset", "quote"]  # fmt: skip
    proc = spawn("venue-sim", livecore_argv([], argv), tmp_path)
    remote = RemoteVenue(f"http://127.0.0.1:{port}")
    try:

        def answers() -> bool:
            assert proc.alive, proc.tail()
            try:
                return remote.state()["prices"] == {"BTC/USDT": "40000"}
            except ControlError:
                return False

        wait_until(answers, 30, "the simulator's control API")
        client = binance_client(port, "k1", "s1")
        assert client.fetch_balance()["USDT"]["free"] == 2000
        order = client.create_order("BTC/USDT", "limit", "buy", 0.01, 39000)
        remote.set_price("BTC/USDT", "38000")
        assert client.fetch_order(order["id"], "BTC/USDT")["status"] == "closed"
        state = remote.state()
        assert Decimal(state["balances"]["USDT"]["free"]) == Decimal("2000") - Decimal("390") - Decimal("0.39")
        remote.rate_limit(1)
        with pytest.raises(ccxt.DDoSProtection):
            client.fetch_balance()
        with pytest.raises(ControlError, match="unknown symbol"):
            remote.set_price("XRP/USDT", "1")
    finally:
        code = proc.stop(signal.SIGTERM)
    assert code == 0, proc.tail()


def test_venue_sim_refuses_bad_options(tmp_path: Path) -> None:
    proc = spawn("bad", livecore_argv([], ["venue-sim", "kraken", "--port", "0"]), tmp_path)
    assert proc.process.wait(60) == 2 and "venue must be one of binance, okx" in proc.text()
    proc = spawn("bad2", livecore_argv([], ["venue-sim", "binance", "--balances", "BTC"]), tmp_path)
    assert proc.process.wait(60) == 2 and "--balances wants NAME=AMOUNT" in proc.text()
