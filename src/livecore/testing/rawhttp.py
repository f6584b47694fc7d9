"""A raw HTTP/1.1 client that streams a large body and stops as soon as the
server answers, so a test can see what the server does with a body it should
not read (httpx would keep writing into a closed connection and report the
broken pipe instead of the answer)."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    sent: int  # body bytes the client managed to send before the answer
    samples: list[int] = field(default_factory=list)  # whatever ``probe`` returned while sending


def stream(
    port: int,
    path: str,
    size: int,
    *,
    headers: dict[str, str],
    chunked: bool = False,
    probe: Callable[[], int] | None = None,
    timeout: float = 120.0,
) -> Answer:
    """POST ``size`` bytes to ``path`` (with Content-Length, or chunked); read the answer."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    deadline = time.monotonic() + timeout
    sent, samples = 0, []
    payload = b"x" * CHUNK
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while sent < size and time.monotonic() < deadline:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered (or closed): stop sending
            piece = payload[: min(CHUNK, size - sent)]
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
            if probe is not None and sent % (16 * CHUNK) == 0:
                samples.append(probe())
        else:
            if chunked and sent >= size:
                sock.sendall(b"0\r\n\r\n")
        return _read_answer(sock, sent, samples)
    finally:
        sock.close()


def _read_answer(sock: socket.socket, sent: int, samples: list[int]) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise ConnectionError(f"closed without an answer after {sent} body bytes: {data!r}")
        data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        part = sock.recv(65536)
        if not part:
            break
        rest += part
    return Answer(int(status_line.split()[1]), headers, json.loads(rest[:length] or b"{}"), sent, samples)
