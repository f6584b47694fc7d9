"""Checking spec files without deploying them: no store, no bus, no coordination.

``validate_specs`` reads every file (a directory stands for the ``*.toml``
files under it), parses each completely and reports every problem of every
file at once, plus ids used by more than one file (``deploy`` of those files
together would refuse that too).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from livecore.domain.errors import SpecError
from livecore.domain.spec import parse_spec

SPEC_SUFFIX = ".toml"


class SpecCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One file: ``problems`` are ``source: field: message`` lines; none means valid."""

    source: str
    portfolio_id: str | None = None
    problems: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.problems


def spec_files(path: Path) -> list[Path]:
    """``path`` itself, or for a directory its ``*.toml`` files (recursively, sorted)."""
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{SPEC_SUFFIX}") if p.is_file())
    return [path]


def check_file(path: Path) -> SpecCheck:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return SpecCheck(source=str(path), problems=[f"{path}: <file>: cannot read: {reason}"])
    try:
        spec = parse_spec(text, source=str(path))
    except SpecError as exc:
        return SpecCheck(source=str(path), problems=exc.lines)
    return SpecCheck(source=str(path), portfolio_id=spec.id)


def validate_specs(paths: Sequence[Path]) -> list[SpecCheck]:
    """Every file's check, in the order given; a file reusing an earlier file's id
    fails, and so does a directory without spec files."""
    checks: list[SpecCheck] = []
    first_source: dict[str, str] = {}
    for path in paths:
        files = spec_files(path)
        if not files:
            checks.append(SpecCheck(source=str(path), problems=[f"{path}: no {SPEC_SUFFIX} files in this directory"]))
        for file in files:
            check = check_file(file)
            pid = check.portfolio_id
            if pid is not None and pid in first_source:
                problem = f"{check.source}: id: {pid!r} is also the id in {first_source[pid]}"
                check = msgspec.structs.replace(check, problems=[problem])
            elif pid is not None:
                first_source[pid] = check.source
            checks.append(check)
    return checks
