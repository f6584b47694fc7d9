"""Bearer-token check for the mutating endpoints.

Reads (status, metrics, dashboard) are open; anything that changes the system
needs ``Authorization: Bearer <token>``. With no token configured the mutating
endpoints are off (403) rather than open: forgetting the token must not hand
the cluster to whoever reaches the port.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Header

from livecore.api.config import TOKEN_ENV
from livecore.api.errors import ApiError


class BearerAuth:
    """A FastAPI dependency: ``Depends(BearerAuth(token))``."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(self, authorization: Annotated[str | None, Header()] = None) -> None:
        self.check(authorization)

    def check(self, authorization: str | None) -> None:
        """Raise ``ApiError`` (403 or 401) unless ``authorization`` carries the token."""
        if not self._token:
            raise ApiError(
                403,
                "forbidden",
                f"mutating endpoints are disabled: no API token is configured (pass --token or set {TOKEN_ENV})",
            )
        if authorization is None:
            raise _unauthorized("missing Authorization header: send 'Authorization: Bearer <token>'")
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise _unauthorized("malformed Authorization header: expected 'Bearer <token>'")
        if not hmac.compare_digest(given.strip().encode(), self._token):
            raise _unauthorized("invalid API token")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
