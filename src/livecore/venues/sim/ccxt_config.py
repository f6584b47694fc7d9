"""ccxt clients pointed at a simulator, configured only through ccxt's public options.

``binance_client(port, key, secret)`` and ``okx_client(port, key, secret,
password)`` return a ccxt (or, with ``pro=True``, a ccxt.pro) instance whose
every API URL has the simulator's scheme, host and port and the real venue's
path, so a call the simulator does not serve fails on 127.0.0.1 and never
reaches the real venue. Binance also gets:

- ``defaultType: spot``, ``fetchMarkets.types: [spot]``, ``fetchCurrencies``
  and ``fetchMargins`` off: ``load_markets`` reads ``exchangeInfo`` alone;
- ``fetchOpenOrders.warnWithoutSymbol`` off (one account, all symbols);
- ccxt's spot-only error table merged into its common one: ccxt chooses that
  table by matching the request URL against the real host, so against any
  other host it would map spot-only codes to a bare ``ExchangeError``.

OKX gets ``defaultType: spot``, ``fetchMarkets.types: [spot]`` and
``has.fetchCurrencies`` off (``load_markets`` reads ``public/instruments``
alone). ccxt sends OKX orders to ``trade/batch-orders`` (a JSON array) unless
``options.createOrder`` says ``privatePostTradeOrder``; the simulator serves both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import ccxt
import ccxt.pro

_ORIGIN = re.compile(r"^(https?|wss?)://[^/]+")


def local_urls(urls: Any, host: str, port: int) -> Any:
    """``urls`` with every URL's origin replaced by ``host:port`` (https -> http, wss -> ws)."""
    if isinstance(urls, dict):
        return {k: local_urls(v, host, port) for k, v in urls.items()}
    if isinstance(urls, str):
        match = _ORIGIN.match(urls)
        if match:
            scheme = "ws" if match.group(1).startswith("ws") else "http"
            return f"{scheme}://{host}:{port}{urls[match.end() :]}"
    return urls


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


BINANCE_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchOpenOrders": {"warnWithoutSymbol": False},
}


def binance_client(
    port: int,
    key: str,
    secret: str,
    *,
    pro: bool = False,
    host: str = "127.0.0.1",
    options: Mapping[str, Any] | None = None,
    timeout_ms: int | None = None,
) -> Any:
    """A ``ccxt.binance`` (``ccxt.pro.binance`` if ``pro``) on the simulator at ``host:port``."""
    cls = ccxt.pro.binance if pro else ccxt.binance
    config: dict[str, Any] = {
        "apiKey": key,
        "secret": secret,
        "enableRateLimit": True,
        "options": _deep_merge(BINANCE_OPTIONS, options or {}),
    }
    if timeout_ms is not None:
        config["timeout"] = timeout_ms
    exchange = cls(config)
    exchange.urls["api"] = local_urls(exchange.urls["api"], host, port)
    spot = exchange.exceptions.get("spot", {})
    exchange.exceptions = {
        **exchange.exceptions,
        "exact": {**exchange.exceptions["exact"], **spot.get("exact", {})},
        "broad": {**exchange.exceptions["broad"], **spot.get("broad", {})},
    }
    return exchange


OKX_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
}


def okx_client(
    port: int,
    key: str,
    secret: str,
    password: str,
    *,
    pro: bool = False,
    host: str = "127.0.0.1",
    options: Mapping[str, Any] | None = None,
    timeout_ms: int | None = None,
) -> Any:
    """A ``ccxt.okx`` (``ccxt.pro.okx`` if ``pro``) on the simulator at ``host:port``."""
    cls = ccxt.pro.okx if pro else ccxt.okx
    config: dict[str, Any] = {
        "apiKey": key,
        "secret": secret,
        "password": password,
        "enableRateLimit": True,
        "has": {"fetchCurrencies": False},  # else load_markets reads asset/currencies, which the simulator lacks
        "options": _deep_merge(OKX_OPTIONS, options or {}),
    }
    if timeout_ms is not None:
        config["timeout"] = timeout_ms
    exchange = cls(config)
    exchange.urls["api"] = local_urls(exchange.urls["api"], host, port)
    return exchange
