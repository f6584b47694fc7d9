"""What the browser tests share: where Chromium is and how it is started, and a
stand-in for the cluster halt endpoints that implements their contract."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from livecore.api.auth import BearerAuth

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAVE_CHROMIUM = CHROMIUM.exists() and shutil.which("chromium") is not None


class HaltBody(BaseModel):
    reason: str
    flatten: bool = False


class FakeHalt:
    """The cluster halt API as the dashboard expects it (state in memory, acks
    given at once by the nodes named), to test the banner and the buttons."""

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = nodes
        self.state: dict[str, Any] = {"halted": False, "reason": None, "flatten": False, "since": None, "by": None}
        self.acks: dict[str, bool] = {}

    def router(self, token: str) -> APIRouter:
        router = APIRouter(prefix="/api/cluster")
        auth = BearerAuth(token)

        @router.get("/halt")
        def read() -> dict[str, Any]:
            return {**self.state, "acks": dict(self.acks)}

        @router.post("/halt", dependencies=[Depends(auth)])
        def halt(body: HaltBody) -> dict[str, Any]:
            since = datetime.now(UTC).isoformat(timespec="seconds")
            self.state = {"halted": True, "reason": body.reason, "flatten": body.flatten, "since": since, "by": "api"}
            self.acks = {node: node != self.nodes[-1] for node in self.nodes}  # the last one has not answered
            return read()

        @router.post("/resume", dependencies=[Depends(auth)])
        def resume() -> dict[str, Any]:
            self.state = {"halted": False, "reason": None, "flatten": False, "since": None, "by": None}
            self.acks = {}
            return read()

        return router
