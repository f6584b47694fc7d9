"""Server memory and answer time for a large request body, with and without
the API's ``RequestGuard``.

Starts `livecore api` (embedded backends, a token) as its own process, streams
a body of ``--mib`` MiB to ``POST /api/portfolios/x/migrate`` with a raw HTTP
client that stops sending as soon as the server answers, and samples the
server's RSS while sending. "without guard" runs the same server with the
guard removed (``install_guard`` replaced by a no-op), as the API was before.

    python bench/bench_api_body.py [--mib 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import httpx
import psutil

from livecore.testing.rawhttp import stream
from livecore.testing.servers import free_port, wait_until

MiB = 1024 * 1024
TOKEN = "bench-token"
NO_GUARD = "import livecore.api.app as a; a.install_guard = lambda *args, **kwargs: None; "


def serve(guarded: bool, db: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    code = ("" if guarded else NO_GUARD) + "from livecore.cli.app import main; main()"
    argv = [sys.executable, "-c", code, "--db", db, "api", "--port", str(port)]
    env = {**os.environ, "LIVECORE_API_TOKEN": TOKEN}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/health"
    wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, 60, "livecore api")
    return process, port


def measure(guarded: bool, token: bool, chunked: bool, mib: int, db: str) -> list[str]:
    process, port = serve(guarded, db)
    try:
        server = psutil.Process(process.pid)
        before = server.memory_info().rss
        headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
        started = time.perf_counter()
        answer = stream(
            port,
            "/api/portfolios/x/migrate",
            mib * MiB,
            headers=headers,
            chunked=chunked,
            probe=lambda: server.memory_info().rss,
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        peak = max([server.memory_info().rss, *answer.samples])
    finally:
        process.terminate()
        process.wait(30)
    return [
        "guard" if guarded else "no guard",
        "token" if token else "anonymous",
        "chunked" if chunked else "length",
        str(answer.status),
        f"{answer.sent / MiB:.2f}",
        f"{before / MiB:.0f}",
        f"{peak / MiB:.0f}",
        f"{(peak - before) / MiB:+.1f}",
        f"{elapsed * 1000:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=300)
    args = parser.parse_args()
    header = ["server", "caller", "body", "status", "sent MiB", "RSS before", "RSS peak", "growth MiB", "answer ms"]
    rows = [header]
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/api.db"
        for guarded in (False, True):
            for token, chunked in ((False, False), (True, False), (True, True)):
                rows.append(measure(guarded, token, chunked, args.mib, db))
                print(" | ".join(rows[-1]), flush=True)
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows[1:]:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
