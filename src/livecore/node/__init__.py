"""The ExecutionNode: hosts PortfolioProcessors, routes market data by InterestMap,
sends orders, applies order feedback, obeys schedule commands, heartbeats."""

from livecore.node.config import NodeConfig
from livecore.node.errors import NodeAlreadyRunning
from livecore.node.interest import InterestMap
from livecore.node.node import ExecutionNode
from livecore.node.processor import PortfolioProcessor

__all__ = [
    "ExecutionNode",
    "InterestMap",
    "NodeAlreadyRunning",
    "NodeConfig",
    "PortfolioProcessor",
]
