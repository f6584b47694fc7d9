"""``deploy`` records the code version installed where it runs; a changed version
counts as ``updated`` (so ``deploy --reload`` reloads it), an unchanged one does not."""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from livecore import codeversion
from livecore.adapters.factory import open_coordination, open_store
from livecore.ops import Ops
from livecore.ops import deploy as ops_deploy
from livecore.ops import reload as ops_reload
from livecore.ops.context import OpsError

CODE = '''
from livecore.domain.strategy import Strategy


class Quiet(Strategy):
    """{doc}"""
'''


@pytest.fixture
def ops(tmp_path: Path) -> Iterator[Ops]:
    coord = open_coordination(f"memory://{uuid.uuid4().hex}")
    store = open_store(f"sqlite:///{tmp_path / 'ops.db'}")
    try:
        yield Ops(coord, store)
    finally:
        store.close()
        coord.close()


@pytest.fixture
def module(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"lc_deploy_{uuid.uuid4().hex[:8]}"
    path = tmp_path / "code" / f"{name}.py"
    path.parent.mkdir()
    path.write_text(CODE.format(doc="one"))
    sys.path.insert(0, str(path.parent))
    try:
        yield name, path
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop(name, None)


def spec_file(tmp_path: Path, module: str) -> Path:
    path = tmp_path / "p1.toml"
    path.write_text(f'id = "p1"\ninitial_cash = 1000\nsymbols = ["AAA"]\n\n[strategy]\nclass = "{module}:Quiet"\n')
    return path


def version_of(ops: Ops, module: str) -> str:
    entry = ops.store.registry.get("p1")
    assert entry is not None and entry.code_version is not None
    return codeversion.decode(entry.code_version)[module]


def test_deploy_records_the_version_and_a_new_one_is_an_update(
    ops: Ops, module: tuple[str, Path], tmp_path: Path
) -> None:
    name, path = module
    files = [spec_file(tmp_path, name)]
    assert [d.action for d in ops_deploy(ops, files).portfolios] == ["created"]
    assert version_of(ops, name) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [d.action for d in ops_deploy(ops, files).portfolios] == ["unchanged"]
    path.write_text(CODE.format(doc="two, a new version"))
    assert [d.action for d in ops_deploy(ops, files).portfolios] == ["updated"]
    assert version_of(ops, name) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_old_entry_without_a_version_gets_one_without_counting_as_an_update(
    ops: Ops, module: tuple[str, Path], tmp_path: Path
) -> None:
    name, _ = module
    files = [spec_file(tmp_path, name)]
    ops_deploy(ops, files)
    entry = ops.store.registry.get("p1")
    assert entry is not None
    ops.store.registry.remove("p1")
    ops.store.registry.upsert("p1", entry.spec_toml, "running", 1)  # as written by an older release
    assert [d.action for d in ops_deploy(ops, files).portfolios] == ["unchanged"]
    assert version_of(ops, name)


def test_reload_of_a_portfolio_on_no_node_records_nothing(ops: Ops, module: tuple[str, Path], tmp_path: Path) -> None:
    name, path = module
    ops_deploy(ops, [spec_file(tmp_path, name)])
    before = version_of(ops, name)
    path.write_text(CODE.format(doc="two"))
    with pytest.raises(OpsError, match="not running on any node"):
        ops_reload(ops, "p1")
    assert version_of(ops, name) == before
