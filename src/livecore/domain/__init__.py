"""The pure domain: accounting, orders, strategy/sizer/risk pipeline, specs.

No I/O (beyond ``load_spec`` reading one file), no threads, no clock reads.
"""

from livecore.domain.errors import (
    DomainError,
    IllegalTransition,
    ParamError,
    SnapshotError,
    SpecError,
)
from livecore.domain.feedback import FeedbackResult
from livecore.domain.orders import Order, OrderState
from livecore.domain.params import Param
from livecore.domain.portfolio import Portfolio
from livecore.domain.reconcile import ReconcileReport
from livecore.domain.risk import Decision, Proposal, RiskContext, RiskRule
from livecore.domain.sizers import Sizer
from livecore.domain.spec import PortfolioSettings, PortfolioSpec, load_spec, parse_spec
from livecore.domain.strategy import Direction, Fill, Signal, Signals, Strategy, StrategyContext
from livecore.domain.view import PortfolioView

__all__ = [
    "Decision",
    "Direction",
    "DomainError",
    "FeedbackResult",
    "Fill",
    "IllegalTransition",
    "Order",
    "OrderState",
    "Param",
    "ParamError",
    "Portfolio",
    "PortfolioSettings",
    "PortfolioSpec",
    "PortfolioView",
    "Proposal",
    "ReconcileReport",
    "RiskContext",
    "RiskRule",
    "Signal",
    "Signals",
    "Sizer",
    "SnapshotError",
    "SpecError",
    "Strategy",
    "StrategyContext",
    "load_spec",
    "parse_spec",
]
