"""The code version of a spec: which modules, their digests, what a mismatch says,
and that a digest follows the code imported (not the file on disk) until reload."""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from livecore import codeversion
from livecore.codeversion import CodeModule
from livecore.domain.spec import PortfolioSpec, parse_spec

V1 = '''
from livecore.domain.strategy import Strategy


class Mine(Strategy):
    """version one"""
'''
V2 = V1.replace("version one", "version two, longer")


def spec_for(strategy: str, risk: str = "") -> PortfolioSpec:
    return parse_spec(
        f"""
id = "p1"
initial_cash = 1000
symbols = ["AAA"]

[strategy]
class = "{strategy}"

[sizer]
class = "fixed"
params = {{ quantity = 1 }}
{risk}
"""
    )


@pytest.fixture
def user_module(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"lc_user_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text(V1)
    sys.path.insert(0, str(tmp_path))
    try:
        yield name, path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_builtins_hash_as_their_livecore_modules() -> None:
    spec = spec_for("ma_crossover", '[[risk]]\nclass = "no_short"\n[[risk]]\nclass = "price_band"\n')
    modules = codeversion.current(spec)
    assert [(m.role, m.module) for m in modules] == [
        ("strategy", "livecore.domain.builtins.strategies"),
        ("sizer", "livecore.domain.sizers"),
        ("risk", "livecore.domain.risk"),  # two rules, one module: once
    ]
    import livecore.domain.sizers as sizers

    assert modules[1].digest == hashlib.sha256(Path(sizers.__file__).read_bytes()).hexdigest()
    assert codeversion.mismatch(modules, codeversion.encode(modules)) is None


def test_encode_is_canonical_and_decodes() -> None:
    mods = [CodeModule("strategy", "b", "22"), CodeModule("sizer", "a", "11")]
    assert codeversion.encode(mods) == '{"a":"11","b":"22"}'
    assert codeversion.decode(codeversion.encode(mods)) == {"a": "11", "b": "22"}
    assert codeversion.decode("not json") == {} and codeversion.decode("[1]") == {}


def test_mismatch_names_the_module_and_both_hashes() -> None:
    local = [CodeModule("strategy", "my.strats", "a" * 64), CodeModule("sizer", "livecore.domain.sizers", "c" * 64)]
    registered = codeversion.encode([CodeModule("strategy", "my.strats", "b" * 64), local[1]])
    problem = codeversion.mismatch(local, registered)
    assert problem == f"code_mismatch: strategy module my.strats has hash {'a' * 12}…, registry has {'b' * 12}…"
    assert codeversion.mismatch(local, None) is None  # nothing recorded yet: recorded at the next deploy/reload
    other = codeversion.mismatch(local, '{"other.mod":"x"}')
    assert other is not None and "not in the registered version" in other and "registry also names other.mod" in other


def test_digest_follows_the_imported_code_until_reload(user_module: tuple[str, Path]) -> None:
    name, path = user_module
    spec = spec_for(f"{name}:Mine")
    assert codeversion.current(spec)[0].digest == sha(V1)
    path.write_text(V2)  # installed, not imported: this process still runs version one
    assert codeversion.current(spec)[0].digest == sha(V1)
    assert codeversion.reload_user_modules(spec) == [name]  # livecore's own modules are not reloaded
    reparsed = spec_for(f"{name}:Mine")
    assert reparsed.strategy.cls.__doc__ == "version two, longer"
    assert codeversion.current(reparsed)[0].digest == sha(V2)
    assert codeversion.reload_user_modules(reparsed) == []  # unchanged: left alone, same classes
    assert spec_for(f"{name}:Mine").strategy.cls is reparsed.strategy.cls


def test_a_reload_that_fails_keeps_the_old_digest(user_module: tuple[str, Path]) -> None:
    name, path = user_module
    spec = spec_for(f"{name}:Mine")
    assert codeversion.current(spec)[0].digest == sha(V1)
    path.write_text("this is not python(")
    with pytest.raises(SyntaxError):
        codeversion.reload_user_modules(spec)
    assert codeversion.current(spec)[0].digest == sha(V1)
    assert spec_for(f"{name}:Mine").strategy.cls.__doc__ == "version one"
