"""The node's side of DESIGN invariant 7: run a portfolio only with its registered code.

Before a load or a reload, the spec's modules are hashed as this process
imported them (``livecore.codeversion``) and compared with the registry's
``code_version``. A load whose code differs first re-imports the changed user
modules (the registered version may be installed but not imported yet: a
node need not restart to take it up) and checks again; a reload always
re-imports. What still differs is refused with the reason (``code_mismatch:
strategy module m has hash …, registry has …``) and audited once per reason
(the scheduler re-sends a refused load every ``load_timeout``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livecore.codeversion import CODE_MISMATCH, CodeModule, mismatch
from livecore.control.events import AuditEvent
from livecore.node.commands import CommandFailed
from livecore.node.factory import PortfolioFactory

Audit = Callable[[str, str, dict[str, object]], None]  # (event, portfolio id, detail)


class CodeGate:
    """Used under the hosting lock (one load or reload at a time)."""

    def __init__(self, *, factory: PortfolioFactory, audit: Audit) -> None:
        self._factory = factory
        self._audit = audit
        self._refusals: dict[str, str] = {}  # last code_mismatch audited per portfolio

    def for_load(self, portfolio_id: str, spec_toml: str, registered: str | None) -> Any:
        """The spec to load, built with the registered code; refused otherwise."""
        spec = self._parse(portfolio_id, spec_toml)
        if registered is not None and mismatch(self._code(portfolio_id, spec), registered) is not None:
            spec = self._reimported(portfolio_id, spec_toml)
        self.check(portfolio_id, spec, registered, "load")
        return spec

    def for_reload(self, portfolio_id: str, spec_toml: str, registered: str | None) -> tuple[Any, list[CodeModule]]:
        """The spec to reload with after re-importing changed user modules, and its code."""
        spec = self._reimported(portfolio_id, spec_toml)
        return spec, self.check(portfolio_id, spec, registered, "reload")

    def check(self, portfolio_id: str, spec: Any, registered: str | None, action: str) -> list[CodeModule]:
        """This process's code of ``spec``; ``CommandFailed`` (audited) if it is not
        the registered version. Nothing registered yet passes."""
        local = self._code(portfolio_id, spec)
        problem = mismatch(local, registered)
        if problem is None:
            self._refusals.pop(portfolio_id, None)
            return local
        if self._refusals.get(portfolio_id) != problem:
            self._refusals[portfolio_id] = problem
            self._audit(AuditEvent.CODE_MISMATCH, portfolio_id, {"action": action, "detail": problem})
        raise CommandFailed(problem)

    def _code(self, portfolio_id: str, spec: Any) -> list[CodeModule]:
        try:
            return self._factory.code(spec)
        except Exception as exc:
            raise CommandFailed(f"{CODE_MISMATCH}: cannot hash the code of {portfolio_id}: {exc}") from None

    def _parse(self, portfolio_id: str, spec_toml: str) -> Any:
        try:
            return self._factory.parse(spec_toml, f"registry:{portfolio_id}")
        except Exception as exc:
            raise CommandFailed(f"spec of {portfolio_id}: {exc}") from None

    def _reimported(self, portfolio_id: str, spec_toml: str) -> Any:
        """Parse, re-import the changed user modules it names, parse again (new classes)."""
        spec = self._parse(portfolio_id, spec_toml)
        try:
            self._factory.reload_code(spec)
        except Exception as exc:
            raise CommandFailed(
                f"cannot re-import the code of {portfolio_id} ({type(exc).__name__}: {exc}); it keeps its old code"
            ) from None
        return self._parse(portfolio_id, spec_toml)
