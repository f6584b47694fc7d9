"""``RequestGuard``: the token is checked and the body bounded before anything
reads the body; a large anonymous body leaves the server's memory flat."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from livecore.api.app import create_app
from livecore.api.auth import BearerAuth
from livecore.api.config import DEFAULT_MAX_BODY_BYTES, ApiConfig
from livecore.api.guard import RequestGuard
from livecore.errors import ConfigError
from livecore.testing.rawhttp import stream
from tests.servers import free_port, wait_until
from tests.unit.api.conftest import AUTH
from tests.unit.api.helpers import TOKEN
from tests.unit.ops.helpers import World

MIGRATE = "/api/portfolios/alpha/migrate"
MiB = 1024 * 1024


# --- auth before the body -----------------------------------------------------------------


def test_malformed_json_without_a_token_is_401(client: TestClient) -> None:
    response = client.post(MIGRATE, content=b'{"to": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_malformed_json_with_the_token_is_still_422(client: TestClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post(MIGRATE, content=b'{"to": ', headers=headers)
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"


def test_without_a_configured_token_any_body_is_403(system: World) -> None:
    with TestClient(create_app(system.ops, ApiConfig())) as client:
        response = client.post(MIGRATE, content=b"x" * (2 * DEFAULT_MAX_BODY_BYTES))
        assert response.status_code == 403 and response.json()["error"] == "forbidden"


# --- bounded bodies ------------------------------------------------------------------------


def test_an_oversized_body_is_401_without_a_token_and_413_with_it(client: TestClient) -> None:
    big = b"x" * (DEFAULT_MAX_BODY_BYTES + 1)
    anonymous = client.post(MIGRATE, content=big)
    assert anonymous.status_code == 401  # auth first: an anonymous caller always gets 401
    response = client.post(MIGRATE, content=big, headers=AUTH)
    assert response.status_code == 413
    assert response.json() == {
        "error": "payload_too_large",
        "message": f"request body larger than {DEFAULT_MAX_BODY_BYTES} bytes",
    }
    assert response.headers["connection"] == "close"


def test_an_oversized_body_on_a_read_path_is_413(client: TestClient) -> None:
    response = client.request("GET", "/api/status", content=b"x" * (DEFAULT_MAX_BODY_BYTES + 1))
    assert response.status_code == 413


def test_a_body_within_the_limit_reaches_the_route(system: World) -> None:
    with TestClient(create_app(system.ops, ApiConfig(token=TOKEN, max_body_bytes=40))) as client:
        exact = b'{"to": "node-a", "x": "' + b"y" * 15 + b'"}'
        assert len(exact) == 40
        headers = {**AUTH, "Content-Type": "application/json"}
        response = client.post(MIGRATE, content=exact, headers=headers)
        assert response.status_code == 422 and "x: Extra inputs" in response.json()["message"]  # the route read it
        assert client.post(MIGRATE, content=exact + b" ", headers=headers).status_code == 413


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_body_bytes"):
        ApiConfig(max_body_bytes=0)


class Chunks:
    """An ASGI ``receive`` handing out ``count`` chunks of ``size`` bytes, counting reads."""

    def __init__(self, count: int, size: int) -> None:
        self.left, self.size, self.reads = count, size, 0

    async def __call__(self) -> dict[str, Any]:
        self.reads += 1
        self.left -= 1
        return {"type": "http.request", "body": b"x" * self.size, "more_body": self.left > 0}


def guarded(limit: int, seen: list[bytes]) -> RequestGuard:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return RequestGuard(app, auth=BearerAuth(TOKEN), max_body_bytes=limit)


def run_guard(guard: RequestGuard, receive: Chunks) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))

    headers = [(b"authorization", f"Bearer {TOKEN}".encode()), (b"transfer-encoding", b"chunked")]
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers}
    asyncio.run(guard(scope, receive, send))
    return sent


def test_a_chunked_body_stops_being_read_once_over_the_limit() -> None:
    seen: list[bytes] = []
    receive = Chunks(count=1000, size=1024)
    sent = run_guard(guarded(10 * 1024, seen), receive)
    assert sent[0]["status"] == 413 and seen == []
    assert receive.reads == 11  # the chunk that passed the limit is the last one read


def test_a_chunked_body_within_the_limit_is_handed_over_whole() -> None:
    seen: list[bytes] = []
    sent = run_guard(guarded(10 * 1024, seen), Chunks(count=10, size=1024))
    assert sent[0]["status"] == 200 and seen == [b"x" * 10 * 1024]


# --- a real server: memory stays flat ----------------------------------------------------


@pytest.fixture(scope="module")
def api_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, psutil.Process]]:
    """`livecore api` in its own process, so its RSS is the server's alone (one for the module:
    each case must leave it flat for the next)."""
    tmp_path = tmp_path_factory.mktemp("api")
    port = free_port()
    env = {**os.environ, "LIVECORE_API_TOKEN": TOKEN}
    argv = [sys.executable, "-c", "from livecore.cli.app import main; main()"]
    argv += ["--db", f"sqlite:///{tmp_path / 'api.db'}", "api", "--port", str(port)]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/api/health"
        wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, 60, "livecore api")
        yield port, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize(
    ("headers", "chunked", "status"),
    [({}, False, 401), ({}, True, 401), (AUTH, False, 413), (AUTH, True, 413)],
    ids=["anonymous", "anonymous-chunked", "token", "token-chunked"],
)
def test_a_200_mb_body_leaves_the_server_memory_flat(
    api_process: tuple[int, psutil.Process], headers: dict[str, str], chunked: bool, status: int
) -> None:
    port, server = api_process
    before = server.memory_info().rss
    answer = stream(port, MIGRATE, 200 * MiB, headers=headers, chunked=chunked, probe=lambda: server.memory_info().rss)
    assert answer.status == status, answer.body
    assert answer.headers.get("connection") == "close"
    assert answer.sent < 200 * MiB  # answered before the body was through
    peak = max([server.memory_info().rss, *answer.samples])
    assert peak - before < 20 * MiB, f"server RSS grew by {(peak - before) / MiB:.1f} MiB"
    assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200  # still serving
