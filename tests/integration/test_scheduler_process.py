"""Two real `livecore scheduler` processes on one redis-server: one leads; when
it is killed with SIGKILL, the other takes over within the lease TTL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import wait_until
from tests.unit.scheduler.harness import isolated

from livecore.adapters.factory import open_coordination
from livecore.ports.coordination import Lease
from livecore.wire import names

pytestmark = pytest.mark.redis

LEASE_TTL = 1.0


@contextlib.contextmanager
def scheduler_process(sid: str, redis_url: str, db_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    argv = [
        sys.executable, "-c", "from livecore.cli.app import main; main()",
        "--coord", redis_url, "--db", db_url, "--bus", "memory://",
        "scheduler", "--id", sid, "--tick", "0.1", "--lease-ttl", str(LEASE_TTL),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(30)


def test_killed_leader_is_replaced_by_the_standby(tmp_path: Path, redis_url: str) -> None:
    redis_url = isolated(redis_url)
    db = f"sqlite:///{tmp_path / 'livecore.db'}"
    coord = open_coordination(redis_url)
    try:

        def leader() -> Lease | None:
            return coord.current_lease(names.SCHEDULER_LEADER_LEASE)

        with (
            scheduler_process("proc-one", redis_url, db, tmp_path / "one.log") as one,
            scheduler_process("proc-two", redis_url, db, tmp_path / "two.log") as two,
        ):
            wait_until(lambda: (leader() or Lease("", "", 0, 0)).holder in ("proc-one", "proc-two"), 30, "a leader")
            first = leader()
            assert first is not None
            victim, survivor = (one, "proc-two") if first.holder == "proc-one" else (two, "proc-one")
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(10)
            wait_until(lambda: (leader() or Lease("", "", 0, 0)).holder == survivor, 30, "standby takes over")
            second = leader()
            assert second is not None and second.epoch > first.epoch
            # A graceful stop releases the lease at once.
            survivor_process = two if survivor == "proc-two" else one
            survivor_process.send_signal(signal.SIGTERM)
            assert survivor_process.wait(60) == 0  # a loaded machine may take a while to stop it
            assert leader() is None
    finally:
        coord.close()
