"""How the node turns a spec and a snapshot into a hosted portfolio.

``DomainPortfolios`` uses the domain facade (``Portfolio.create/restore``,
``parse_spec``); it is passed in so the plumbing can be exercised without it.
"""

from __future__ import annotations

from typing import Any, Protocol

from livecore import codeversion
from livecore.codeversion import CodeModule
from livecore.node.hosted import HostedPortfolio
from livecore.wire.messages import NewOrder, OrderFeedback


class LoadablePortfolio(HostedPortfolio, Protocol):
    def reconcile(self, orders: list[NewOrder], feedback: list[OrderFeedback]) -> Any: ...
    def reload(self, spec: Any) -> None: ...


class PortfolioFactory(Protocol):
    def parse(self, spec_toml: str, source: str) -> Any:
        """A spec from TOML text; raises ``SpecError`` (a ``LivecoreError``) naming the field."""

    def create(self, spec: Any, epoch: int, node_id: str) -> LoadablePortfolio: ...

    def restore(self, data: bytes, spec: Any, epoch: int, node_id: str) -> LoadablePortfolio: ...

    def code(self, spec: Any) -> list[CodeModule]:
        """The code this process runs ``spec`` with (``livecore.codeversion``)."""

    def reload_code(self, spec: Any) -> list[str]:
        """Re-import the user modules ``spec`` names; returns their names."""


class DomainPortfolios:
    """The real thing: ``livecore.domain``."""

    def parse(self, spec_toml: str, source: str) -> Any:
        from livecore.domain.spec import parse_spec

        return parse_spec(spec_toml, source=source)

    def create(self, spec: Any, epoch: int, node_id: str) -> LoadablePortfolio:
        from livecore.domain.portfolio import Portfolio

        portfolio: LoadablePortfolio = Portfolio.create(spec, epoch, node_id)
        return portfolio

    def restore(self, data: bytes, spec: Any, epoch: int, node_id: str) -> LoadablePortfolio:
        from livecore.domain.portfolio import Portfolio

        portfolio: LoadablePortfolio = Portfolio.restore(data, spec, epoch, node_id)
        return portfolio

    def code(self, spec: Any) -> list[CodeModule]:
        return codeversion.current(spec)

    def reload_code(self, spec: Any) -> list[str]:
        return codeversion.reload_user_modules(spec)
