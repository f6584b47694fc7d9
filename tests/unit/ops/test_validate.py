"""`livecore portfolio validate`: every problem of every file, no backend touched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livecore.cli.app import app, main
from livecore.ops.validate import validate_specs
from tests.unit.ops.helpers import spec_text, write_spec

runner = CliRunner()

# URLs of servers that do not exist: validate must not try any of them.
NOWHERE = [
    "--bus",
    "kafka://nowhere.invalid:9092",
    "--coord",
    "redis://nowhere.invalid:6379/0",
    "--secret",
    "s",
]


def bad_spec(directory: Path, name: str = "bad") -> Path:
    path = directory / f"{name}.toml"
    text = spec_text(name).replace("initial_cash = 100000", "initial_cash = 0").replace("fast = 5", "fast = 0")
    path.write_text('colour = "red"\n' + text)
    return path


def validate(tmp_path: Path, *args: str) -> tuple[int, str]:
    db = tmp_path / "never-created.db"
    result = runner.invoke(app, [*NOWHERE, "--db", f"sqlite:///{db}", "portfolio", "validate", *args])
    assert not db.exists(), "validate opened the store"
    return result.exit_code, result.output


def test_valid_files_print_ok_and_exit_0(tmp_path: Path) -> None:
    a, b = write_spec(tmp_path, "alpha"), write_spec(tmp_path, "beta")
    code, out = validate(tmp_path, str(a), str(b))
    assert code == 0
    assert out.splitlines() == [f"OK {a} (alpha)", f"OK {b} (beta)"]


def test_every_problem_of_every_file_exits_2(tmp_path: Path) -> None:
    good, bad = write_spec(tmp_path, "alpha"), bad_spec(tmp_path)
    code, out = validate(tmp_path, str(bad), str(good))
    assert code == 2
    assert out.splitlines() == [
        f"{bad}: colour: unknown field (allowed: allow_short, currency, id, initial_cash, name, risk, settings, "
        "sizer, strategy, symbols)",
        f"{bad}: initial_cash: must be positive, got 0",
        f"{bad}: strategy.params.fast: must be >= 1, got 0",
        f"OK {good} (alpha)",
    ]


def test_directories_missing_files_and_duplicate_ids(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    (specs / "nested").mkdir(parents=True)
    write_spec(specs, "alpha")
    twin = specs / "nested" / "twin.toml"
    twin.write_text(spec_text("alpha"))
    (specs / "notes.txt").write_text("not a spec")
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing.toml"
    code, out = validate(tmp_path, str(specs), str(empty), str(missing))
    assert code == 2
    assert out.splitlines() == [
        f"OK {specs / 'alpha.toml'} (alpha)",
        f"{twin}: id: 'alpha' is also the id in {specs / 'alpha.toml'}",
        f"{empty}: no .toml files in this directory",
        f"{missing}: <file>: cannot read: No such file or directory",
    ]


def test_json_lists_each_file(tmp_path: Path) -> None:
    good, bad = write_spec(tmp_path, "alpha"), bad_spec(tmp_path)
    code, out = validate(tmp_path, "--json", str(good), str(bad))
    assert code == 2
    first, second = json.loads(out)
    assert first == {"ok": True, "source": str(good), "portfolio_id": "alpha", "problems": []}
    assert second["ok"] is False and second["portfolio_id"] is None and len(second["problems"]) == 3


def test_not_valid_toml_and_not_utf8(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("id = ")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    checks = validate_specs([broken, binary])
    assert [c.ok for c in checks] == [False, False]
    assert checks[0].problems[0].startswith(f"{broken}: <toml>: not valid TOML")
    assert checks[1].problems[0].startswith(f"{binary}: <file>: cannot read")


def test_deploy_reports_every_problem_too(tmp_path: Path) -> None:
    from livecore.ops.portfolios import DeployRefused, read_specs

    bad = bad_spec(tmp_path)
    try:
        read_specs([bad])
    except DeployRefused as exc:
        assert [p.split(": ")[1] for p in exc.problems] == ["colour", "initial_cash", "strategy.params.fast"]
    else:
        raise AssertionError("deploy accepted an invalid spec")


def test_the_cli_prints_every_problem_verbatim_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through ``main`` (which CliRunner skips): text such as ``[[risk]]`` is not taken for markup."""
    spec = tmp_path / "x.toml"
    spec.write_text('id = "x"\ninitial_cash = 0\nsymbols = ["A"]\nrisk = 3\n[strategy]\nclass = "ma_crossover"\n')
    db = tmp_path / "x.db"
    monkeypatch.setattr(sys, "argv", ["livecore", "--db", f"sqlite:///{db}", "portfolio", "deploy", str(spec)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{spec}: initial_cash: must be positive, got 0" in err
    assert f"{spec}: risk: must be an array of tables ([[risk]]), got 3" in err
