"""Request signatures as each venue checks them (HMAC-SHA256 with the API secret).

Binance REST signs the raw query string and the raw form body, concatenated,
without the ``signature`` parameter, hex-encoded. Its websocket API signs the
request's parameters sorted by name as ``k=v&...``. OKX v5 signs
``timestamp + METHOD + path-with-query + body`` and sends it base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE = "signature"


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def hmac_base64(secret: str, payload: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


def split_signature(raw: str) -> tuple[str, str | None]:
    """A raw ``a=1&b=2&signature=..`` string without its signature, and the signature."""
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&") if raw else []:
        name, _, value = part.partition("=")
        if name == SIGNATURE:
            signature = value
        else:
            kept.append(part)
    return "&".join(kept), signature


def binance_rest_signed(secret: str, query: str, body: str) -> bool:
    """Whether a Binance REST request carries the right signature (in the query or the body)."""
    query_payload, query_sig = split_signature(query)
    body_payload, body_sig = split_signature(body)
    signature = query_sig if query_sig is not None else body_sig
    if signature is None:
        return False
    return hmac.compare_digest(hmac_hex(secret, query_payload + body_payload), signature.lower())


def binance_ws_payload(params: Mapping[str, object]) -> str:
    """What a Binance websocket API request signs: its parameters but the signature, sorted."""
    return "&".join(f"{k}={_ws_value(v)}" for k, v in sorted(params.items()) if k != SIGNATURE)


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def binance_ws_signed(secret: str, params: Mapping[str, object]) -> bool:
    signature = params.get(SIGNATURE)
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(hmac_hex(secret, binance_ws_payload(params)), signature.lower())


def okx_signature(secret: str, timestamp: str, method: str, request_path: str, body: str) -> str:
    """OKX v5: base64(HMAC-SHA256(timestamp + METHOD + requestPath + body))."""
    return hmac_base64(secret, timestamp + method.upper() + request_path + body)


def okx_signed(secret: str, signature: str, *, timestamp: str, method: str, request_path: str, body: str) -> bool:
    return hmac.compare_digest(okx_signature(secret, timestamp, method, request_path, body), signature)
