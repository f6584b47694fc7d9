"""Operator actions, each implemented once and called by every transport (CLI,
REST API): they take the ports (``Ops``) and return plain msgspec structs that
encode straight to JSON."""

from livecore.ops.context import Ops, OpsConfig, OpsError, open_ops
from livecore.ops.migrate import migrate
from livecore.ops.nodes import node_pause, node_resume, node_shutdown
from livecore.ops.portfolios import deploy, list_portfolios, reload, remove_portfolio, stop_portfolio
from livecore.ops.status import status

__all__ = [
    "Ops",
    "OpsConfig",
    "OpsError",
    "deploy",
    "list_portfolios",
    "migrate",
    "node_pause",
    "node_resume",
    "node_shutdown",
    "open_ops",
    "reload",
    "remove_portfolio",
    "status",
    "stop_portfolio",
]
