"""Every failure as JSON ``{"error": code, "message": text}`` with a fitting status.

- ``ApiError``: raised by routes and auth with its own status;
- validation (bad path, malformed or wrong body): 422, naming the field;
- unknown route 404, wrong method 405;
- a backend that does not answer (coordination, store, bus): 503;
- anything else: 500 with a generic message (the traceback goes to the log,
  never to the client).

Operator-action errors (``OpsError`` and its kinds) are mapped where the routes
call the actions, in ``livecore.api.actions``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from livecore.errors import BackendUnavailable
from livecore.ports.bus import BusError
from livecore.ports.coordination import CoordinationError
from livecore.ports.store import StoreError

log = logging.getLogger(__name__)

_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")

BACKEND_ERRORS: tuple[type[Exception], ...] = (BackendUnavailable, CoordinationError, StoreError, BusError)


class ApiError(Exception):
    """An answer other than success, with the status and a message for the operator."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})  # more fields of the JSON body


def without_passwords(text: str) -> str:
    """``text`` with any ``scheme://user:password@`` password replaced by ``***``."""
    return _PASSWORD_IN_URL.sub(r"\1***@", text)


def json_response(content: Any, status_code: int = 200) -> Response:
    """``content`` (msgspec structs, Decimals, builtins) encoded once by msgspec."""
    return Response(msgspec.json.encode(content), status_code=status_code, media_type="application/json")


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


def describe_validation(errors: Sequence[Any]) -> tuple[str, list[dict[str, str]]]:
    """A one-line message and a per-field list from pydantic's error list."""
    fields = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        problem = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid" or (not loc and err.get("loc", ())[:1] == ("body",)):
            loc, problem = [], f"{problem} (send a JSON object with Content-Type: application/json)"
        fields.append({"field": ".".join(loc) or "body", "problem": problem})
    message = "; ".join(f"{f['field']}: {f['problem']}" for f in fields) or "invalid request"
    return f"invalid request: {message}", fields


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)

    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, fields = describe_validation(exc.errors())
        return error_response(422, "invalid_request", message, fields=fields)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint"
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), message, exc.headers)

    async def backend_down(_: Request, exc: Exception) -> JSONResponse:
        message = without_passwords(str(exc))
        log.warning("API request failed on a backend: %s", message)
        return error_response(503, "backend_unavailable", f"backend unavailable: {message}")

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API %s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", "internal error; see the server log")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for kind in BACKEND_ERRORS:
        app.add_exception_handler(kind, backend_down)
    app.add_exception_handler(Exception, unexpected)
