"""LiveCore's shutdown survives a failing step, says so in the log, and runs the rest."""

from __future__ import annotations

import logging

import pytest

from livecore.livecore import LiveCore


class Failing:
    def stop(self) -> None:
        raise RuntimeError("scheduler broke")

    def close(self) -> None:
        raise RuntimeError("backend broke")


class Closing:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_every_survived_exception_is_logged_and_later_steps_still_run(caplog: pytest.LogCaptureFixture) -> None:
    core = LiveCore()
    core.scheduler = Failing()  # type: ignore[assignment]
    core._producer = Failing()  # type: ignore[assignment]
    store = Closing()
    core._store = store  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="livecore.livecore"):
        core._shutdown()
    failures = [r for r in caplog.records if r.exc_info is not None]
    assert [str(r.exc_info[1]) for r in failures if r.exc_info] == ["scheduler broke", "backend broke"]
    assert store.closed
