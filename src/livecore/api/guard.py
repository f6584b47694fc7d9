"""``RequestGuard``: a pure ASGI middleware in front of the FastAPI app that
checks the token and bounds the body *before* anything reads it.

FastAPI reads and parses a route's body before its dependencies run, so a
token check written as a dependency comes too late: an anonymous caller could
make the server read (and hold in memory) a body of any size, and learn the
body schema from a 422. Here, in order:

1. a mutating request (any method but GET, HEAD, OPTIONS) must carry the
   token, checked from the headers alone: 403 (no token configured) or 401,
   and not one byte of the body is read. Auth comes first, so an anonymous
   caller always gets 401, whatever the size or shape of its body;
2. a declared ``Content-Length`` above ``max_body_bytes``: 413, body unread;
3. otherwise the body is read here, counting every chunk (chunked uploads
   declare no length): past ``max_body_bytes`` reading stops with 413. A body
   within the limit is handed to the app as if never touched.

Every refusal answers ``Connection: close``: the server drops the connection
instead of reading the rest of the body to reuse it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from livecore.api.auth import BearerAuth
from livecore.api.errors import ApiError, error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(Exception):
    """The body passed the limit while it was being read."""


class RequestGuard:
    """Wraps ``app``; ``auth`` checks the token, ``max_body_bytes`` bounds every body."""

    def __init__(self, app: ASGIApp, *, auth: BearerAuth, max_body_bytes: int) -> None:
        self._app = app
        self._auth = auth
        self._limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope["method"], headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if not _has_body(headers):
            await self._app(scope, receive, send)
            return
        try:
            messages = await self._read_body(receive)
        except BodyTooLarge:
            await self._too_large()(scope, receive, send)
            return
        await self._app(scope, _replay(messages, receive), send)

    def _refusal(self, method: str, headers: dict[str, str]) -> JSONResponse | None:
        """The answer to a request refused on its headers alone, or None."""
        if method not in SAFE_METHODS:
            try:
                self._auth.check(headers.get("authorization"))
            except ApiError as exc:
                return error_response(exc.status, exc.code, exc.message, {**exc.headers, "Connection": "close"})
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self._limit:
            return self._too_large()
        return None

    def _too_large(self) -> JSONResponse:
        message = f"request body larger than {self._limit} bytes"
        return error_response(413, "payload_too_large", message, {"Connection": "close"})

    async def _read_body(self, receive: Receive) -> list[Message]:
        """Every body message, up to the limit; ``BodyTooLarge`` as soon as it is passed."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client went away: the app sees the disconnect
            size += len(message.get("body", b""))
            if size > self._limit:
                raise BodyTooLarge
            if not message.get("more_body", False):
                return messages


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers, names lower-cased (ASGI already does), values as latin-1 text."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") != "0" or "chunked" in headers.get("transfer-encoding", "").lower()


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then defers to ``receive``
    (which then only reports the disconnect)."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def install_guard(app: FastAPI, *, auth: BearerAuth, max_body_bytes: int) -> None:
    """Put a ``RequestGuard`` in front of ``app``'s routes."""
    app.add_middleware(RequestGuard, auth=auth, max_body_bytes=max_body_bytes)
