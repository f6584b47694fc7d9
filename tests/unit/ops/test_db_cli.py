"""`livecore db current|upgrade` on a SQLite file: where the schema is, and
upgrading it once (a second upgrade has nothing to do)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from livecore.adapters.sql.migrate import head
from livecore.cli.app import app

runner = CliRunner()


def db(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", url, "db", *args])
    return result.exit_code, result.output


def test_current_then_upgrade_then_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'livecore.db'}"
    assert db(url, "current") == (0, f"database: none (new, or made before migrations)\nrelease:  {head()}\n")
    assert db(url, "upgrade") == (0, f"upgraded none (new, or made before migrations) -> {head()}\n")
    assert db(url, "upgrade") == (0, f"already at {head()}\n")
    assert db(url, "current") == (0, f"database: {head()}\nrelease:  {head()}\n")


def test_a_bad_url_is_a_one_line_error(tmp_path: Path) -> None:
    code, _ = db("mysql://nowhere/x", "current")
    assert code != 0
