"""Spawned processes with a log file each: servers and ``livecore`` commands.

Every process starts in a session of its own, so a kill reaches its whole
process group; its output goes to a log file that ``tail`` reads back when
something goes wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Proc:
    """One spawned process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group: no clean-up of any kind, like a dying machine."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def pause(self) -> None:
        """SIGSTOP the process group: it stands still, its sockets stay open (a stalled process)."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT the process group after ``pause``."""
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Send ``sig`` and wait (a graceful stop); SIGKILL if it does not end in time.
        Returns the exit code, None when it had to be killed."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])


def spawn(
    name: str, argv: Sequence[str], workdir: Path, *, log_name: str | None = None, env: Mapping[str, str] | None = None
) -> Proc:
    """Start ``argv`` in ``workdir``, output to ``workdir/<log_name or name>.log``;
    ``env`` is added to this process's environment."""
    log_path = workdir / f"{log_name or name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
            env=None if env is None else {**os.environ, **env},
        )
    return Proc(name, process, log_path)


def livecore_argv(global_args: Sequence[str], args: Sequence[str]) -> list[str]:
    """``python -m livecore.cli.app <global options> <command>`` with this interpreter."""
    return [sys.executable, "-m", "livecore.cli.app", *global_args, *args]
