"""An app over the embedded backends with the simulated cluster of ``helpers``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from livecore.api.app import create_app
from livecore.api.config import ApiConfig
from tests.unit.api.helpers import TOKEN, simulate
from tests.unit.ops.helpers import World, world


@pytest.fixture
def system(tmp_path: Path) -> Iterator[World]:
    """Operator ports (with a bus for commands) and the simulated cluster in them."""
    with world(tmp_path, ack_timeout=2.0) as w:
        simulate(w.ops)
        yield w


@pytest.fixture
def client(system: World) -> Iterator[TestClient]:
    with TestClient(create_app(system.ops, ApiConfig(token=TOKEN)), raise_server_exceptions=False) as c:
        yield c


AUTH = {"Authorization": f"Bearer {TOKEN}"}
