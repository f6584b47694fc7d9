from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_node_support import NodeRig, make_rig


@pytest.fixture(params=["embedded", "servers"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeRig]:
    yield from make_rig(request.param, request, tmp_path)


def test_tick_to_order(rig: NodeRig) -> None:
    node = rig.running_node()
    pid = rig.pid()
    rig.load(node, pid, ["AAA"])
    rig.tick("AAA", "10")
    orders = rig.wait_orders(pid, 1)
    assert orders[0][1].client_order_id == f"{pid}-1-1"
