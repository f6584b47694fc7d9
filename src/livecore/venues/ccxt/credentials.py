"""API credentials of a venue: from the environment or a file, never anywhere else.

``LIVECORE_VENUE_KEY``, ``LIVECORE_VENUE_SECRET`` and (OKX)
``LIVECORE_VENUE_PASSWORD``, or ``--credentials-file``: a TOML file with
``key``, ``secret`` and ``password`` that only its owner may read (mode
``0600``; anything wider is refused). The values are never logged, printed,
put in a spec or journaled: ``Credentials`` shows itself masked.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from livecore.errors import ConfigError

KEY_ENV, SECRET_ENV, PASSWORD_ENV = "LIVECORE_VENUE_KEY", "LIVECORE_VENUE_SECRET", "LIVECORE_VENUE_PASSWORD"


@dataclass(frozen=True, slots=True)
class Credentials:
    key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"Credentials(key={mask(self.key)}, secret=***, password={'***' if self.password else ''})"

    __str__ = __repr__


def mask(key: str) -> str:
    """Enough of a key to tell two apart in a log, no more."""
    return f"{key[:4]}***" if len(key) > 8 else "***"


def load_credentials(env: Mapping[str, str], path: Path | None, *, needs_password: bool) -> Credentials:
    """From ``path`` if given, else from ``env``; a missing or unsafe source is a ConfigError."""
    if path is not None:
        values = _read_file(path)
        source = str(path)
    else:
        values = {"key": env.get(KEY_ENV, ""), "secret": env.get(SECRET_ENV, ""), "password": env.get(PASSWORD_ENV, "")}
        source = f"{KEY_ENV}/{SECRET_ENV}"
    creds = Credentials(key=values.get("key", ""), secret=values.get("secret", ""), password=values.get("password", ""))
    missing = [name for name in ("key", "secret") if not getattr(creds, name)]
    if needs_password and not creds.password:
        missing.append("password")
    if missing:
        raise ConfigError(f"venue credentials from {source}: {', '.join(missing)} missing")
    return creds


def _read_file(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"credentials file {path}: {exc.strerror or exc}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"credentials file {path} is readable by others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise ConfigError(f'credentials file {path} is not valid TOML (key = "...", secret = "...")') from None
    return {k: str(v) for k, v in doc.items() if k in ("key", "secret", "password") and isinstance(v, str)}
