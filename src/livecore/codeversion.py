"""Which code a portfolio runs: a hash of the modules its spec's classes live in.

DESIGN invariant 7 (one code version per portfolio): every node that runs a
portfolio runs the same strategy, sizer and risk code. A spec names classes;
each class lives in a module; the module's source bytes are hashed (sha256).
The version of a portfolio is ``{module: digest}`` over the modules of its
strategy, sizer and risk rules (built-ins hash as their ``livecore`` module,
so two livecore releases differ too), stored as canonical JSON in the
registry at deploy and reload, and compared by a node before it loads one.

The digest of a module is taken once per process, when it is first seen
(right after its import), and again only after ``reload_user_modules``: a
module whose file changed on disk while the old code stays imported keeps its
old digest, so a node that still runs old code says so instead of hashing a
file it never executed. Only the modules a spec names directly are hashed and
reloaded: a helper module they import is neither (roll it out as a new
version of the named module, or restart the nodes).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from livecore.errors import LivecoreError

CODE_MISMATCH = "code_mismatch"
_OWN_PACKAGE = "livecore"
_SHORT = 12  # digest characters shown in messages

_digests: dict[str, str] = {}
_lock = threading.Lock()


class CodeVersionError(LivecoreError):
    """A module a spec names cannot be hashed (no readable source)."""


@dataclass(frozen=True, slots=True)
class CodeModule:
    """One module of a portfolio's code, with the role that named it."""

    role: str  # strategy, sizer, risk
    module: str
    digest: str


def spec_modules(spec: Any) -> list[tuple[str, str]]:
    """(role, module name) for the strategy, the sizer and each risk rule, no repeats."""
    named = [("strategy", spec.strategy.cls), ("sizer", spec.sizer.cls)]
    named += [("risk", rule.cls) for rule in spec.risk]
    seen: set[str] = set()
    out = []
    for role, cls in named:
        if cls.__module__ not in seen:
            seen.add(cls.__module__)
            out.append((role, cls.__module__))
    return out


def _source_bytes(module: ModuleType) -> bytes:
    file = getattr(module, "__file__", None)
    if file and file.endswith(".py"):
        with suppress(OSError):
            return Path(file).read_bytes()
    try:
        return inspect.getsource(module).encode("utf-8")
    except (OSError, TypeError) as exc:
        raise CodeVersionError(f"cannot read the source of module {module.__name__}: {exc}") from None


def module_digest(name: str) -> str:
    """The sha256 of the module as this process imported it (cached, see above)."""
    with _lock:
        known = _digests.get(name)
        if known is not None:
            return known
        module = sys.modules.get(name) or importlib.import_module(name)
        digest = hashlib.sha256(_source_bytes(module)).hexdigest()
        _digests[name] = digest
        return digest


def current(spec: Any) -> list[CodeModule]:
    """The code this process would run ``spec`` with."""
    return [CodeModule(role, name, module_digest(name)) for role, name in spec_modules(spec)]


def encode(modules: list[CodeModule]) -> str:
    """Canonical JSON ``{module: digest}`` (the registry's ``code_version``)."""
    return json.dumps({m.module: m.digest for m in modules}, sort_keys=True, separators=(",", ":"))


def short(modules: list[CodeModule]) -> str:
    """A short digest of the whole version, for messages."""
    return hashlib.sha256(encode(modules).encode("utf-8")).hexdigest()[:_SHORT]


def decode(text: str) -> dict[str, str]:
    """The ``{module: digest}`` of a registry ``code_version``; {} if unreadable."""
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def mismatch(local: list[CodeModule], registered: str | None) -> str | None:
    """Why ``local`` is not the registered version (one line), or None if it is
    (or nothing is registered yet: the next deploy or reload records it)."""
    if registered is None:
        return None
    wanted = decode(registered)
    problems = []
    for m in local:
        theirs = wanted.get(m.module)
        if theirs is None:
            problems.append(f"{m.role} module {m.module} is not in the registered version")
        elif theirs != m.digest:
            problems.append(
                f"{m.role} module {m.module} has hash {m.digest[:_SHORT]}…, registry has {theirs[:_SHORT]}…"
            )
    extra = sorted(set(wanted) - {m.module for m in local})
    if extra:
        problems.append(f"registry also names {', '.join(extra)}")
    return f"{CODE_MISMATCH}: " + "; ".join(problems) if problems else None


def reload_user_modules(spec: Any) -> list[str]:
    """Re-import every module ``spec`` names outside livecore whose source changed
    since this process hashed it (new code on disk is taken up); returns the names
    re-imported. An unchanged module is left alone, so its classes stay the same
    objects (a reload then keeps the strategy's memory). The stale bytecode cache
    of a changed module is removed first: a file rewritten within the same second
    at the same size would otherwise be loaded from the old ``.pyc``."""
    reloaded = []
    importlib.invalidate_caches()
    for _, name in spec_modules(spec):
        if name == _OWN_PACKAGE or name.startswith(_OWN_PACKAGE + "."):
            continue
        module = sys.modules.get(name)
        if module is None:
            continue
        with _lock:
            on_disk = hashlib.sha256(_source_bytes(module)).hexdigest()
            before = _digests.setdefault(name, on_disk)  # first sight: what was imported
            if before == on_disk:
                continue
            file = getattr(module, "__file__", None)
            if file and file.endswith(".py"):
                with suppress(OSError, NotImplementedError, ValueError):
                    Path(importlib.util.cache_from_source(file)).unlink(missing_ok=True)
            importlib.reload(module)  # raises on broken code: the old module and digest stay
            _digests[name] = hashlib.sha256(_source_bytes(module)).hexdigest()
        reloaded.append(name)
    return reloaded
