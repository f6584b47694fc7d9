"""The backtest loop: the live ``Portfolio`` and the paper gateway's very
``PaperBroker``, driven by historical events in event time.

Per event, in the data's order (timestamp, then file order):

1. the broker sees the event first: orders sent before it fill at its price
   (a bar's open, a tick's price; limits also on the bar's range), and the
   reports go to their portfolios (``on_feedback``, as the node applies them);
2. then every portfolio trading the symbol sees the event (``on_market``):
   strategy -> sizer -> risk -> orders; each order is submitted to the broker at
   the event's time and acknowledged, and fills on a later event.

So a signal on bar t fills at bar t+1's open, and the strategy sees that fill
before it sees bar t+1. Orders still open when the data ends are cancelled with
reason ``end_of_data``; positions stay open, marked at their last price.
Nothing here reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from livecore.backtest.records import EquityPoint, Records
from livecore.domain.books import ACCOUNTING, Books
from livecore.domain.portfolio import Portfolio
from livecore.domain.spec import PortfolioSpec
from livecore.gateway.paper import END_OF_DATA, PaperBroker, PaperSettings
from livecore.wire.messages import MarketEvent, NewOrder, OrderFeedback

_add, _subtract, _multiply = ACCOUNTING.add, ACCOUNTING.subtract, ACCOUNTING.multiply  # exact, no context switch
Progress = Callable[[int], None]
# a portfolio as the loop routes to it: id, bound ``on_market``, the portfolio, its books
_Route = tuple[str, Callable[[MarketEvent], bool], Portfolio, Books]


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestSettings:
    """``paper``: the gateway's fill model and costs; the epoch and node id only
    shape client order ids (``{portfolio}-{epoch}-{seq}``, as live)."""

    paper: PaperSettings = field(default_factory=PaperSettings)
    epoch: int = 1
    node_id: str = "backtest"


@dataclass(slots=True)
class BacktestResult:
    """The specs run, their final portfolios and everything recorded."""

    specs: list[PortfolioSpec]
    portfolios: dict[str, Portfolio]
    records: Records
    events: int = 0
    first_ns: int = 0
    last_ns: int = 0


class Backtest:
    """One run over one event sequence; build a new one per run."""

    def __init__(self, *, specs: Sequence[PortfolioSpec], settings: BacktestSettings) -> None:
        ids = [spec.id for spec in specs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"portfolio id(s) given twice: {', '.join(duplicates)}")
        self._specs = list(specs)
        self._broker = PaperBroker(settings.paper)
        self._records = Records(currencies={s.id: s.currency for s in specs})
        self._portfolios = {s.id: Portfolio.create(s, settings.epoch, settings.node_id) for s in specs}
        # a portfolio keeps one Books object for its lifetime: read it once, not per sample
        self._books = {pid: portfolio.books for pid, portfolio in self._portfolios.items()}
        self._versions: dict[str, int] = {}
        self._routes: dict[str, list[_Route]] = {}
        self._touched: dict[str, Books] = {}  # since the last sample: marked or filled
        self._stale = False  # a portfolio's symbols changed since the routes were built
        # id -> (cash, reserved, cash + reserved, zero) as the last sample read them
        self._cash_seen: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        self._reroute()

    def run(self, events: Iterable[MarketEvent], *, progress: Progress | None = None) -> BacktestResult:
        """Feed every event; then settle what is still open and return the records."""
        result = BacktestResult(specs=self._specs, portfolios=self._portfolios, records=self._records)
        self._touched.update(self._books)  # every portfolio's opening account is recorded
        working = self._broker.working_symbols()  # a live view: no call per event
        routes, touched = self._routes, self._touched
        current: int | None = None
        count = 0
        for event in events:
            ts = event.ts_ns
            if ts != current:
                if current is not None:
                    self._sample(current)
                else:
                    result.first_ns = ts
                current = ts
            symbol = event.symbol
            if symbol in working:  # else the event can fill nothing
                self._fill_on(event)
            routed = routes.get(symbol)
            if routed:  # every portfolio trading the symbol sees the event (inline: one call less per event)
                for pid, on_market, portfolio, books in routed:
                    touched[pid] = books
                    if on_market(event):  # it asked for something (rare): send it, check its symbols
                        if portfolio.has_requests:
                            self._send(portfolio)
                        self._check_route(pid, portfolio)
            if self._stale:  # a portfolio changed the symbols it trades
                routes = self._reroute()
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
        if current is not None:
            self._settle(current)
            self._sample(current)
            result.last_ns = current
        result.events = count
        if progress is not None:
            progress(count)
        return result

    # --- one event ------------------------------------------------------------------

    def _fill_on(self, event: MarketEvent) -> None:
        broker = self._broker
        broker.on_market(event)
        reports = broker.drain_reports()
        if reports:  # else a working order did not fill on this event
            self._deliver(reports)

    def _check_route(self, pid: str, portfolio: Portfolio) -> None:
        if portfolio.universe_version != self._versions[pid]:
            self._stale = True

    def _send(self, portfolio: Portfolio) -> None:
        """Submit what the portfolio created; its reports may create more (``on_fill``)."""
        broker, records = self._broker, self._records
        outbox = portfolio.drain_outbox()
        while outbox:
            for request in outbox:
                if isinstance(request, NewOrder):
                    records.order_sent(request)
                    broker.submit(request, request.created_ns)
                    portfolio.mark_submitted(request.client_order_id)
                else:
                    broker.cancel(request.client_order_id, request.created_ns)
            self._deliver(broker.drain_reports())
            outbox = portfolio.drain_outbox()

    def _deliver(self, reports: list[OrderFeedback]) -> None:
        records, portfolios, books, touched = self._records, self._portfolios, self._books, self._touched
        for fb in reports:
            records.report(fb)
            pid = fb.portfolio_id
            portfolio = portfolios[pid]
            touched[pid] = books[pid]
            portfolio.on_feedback(fb)
            if portfolio.has_requests:  # its strategy answered the fill
                self._send(portfolio)
            if portfolio.universe_version != self._versions[pid]:  # ``_check_route``, inline
                self._stale = True

    def _reroute(self) -> dict[str, list[_Route]]:
        """Symbol -> the portfolios trading it, each with its ``on_market`` bound once."""
        routes: dict[str, list[_Route]] = {}
        for pid, portfolio in self._portfolios.items():
            self._versions[pid] = portfolio.universe_version
            for symbol in sorted(portfolio.symbols):
                routes.setdefault(symbol, []).append((pid, portfolio.on_market, portfolio, self._books[pid]))
        self._routes, self._stale = routes, False
        return routes

    # --- time ---------------------------------------------------------------------

    def _settle(self, ts_ns: int) -> None:
        """The data has ended: cancel every order still working (``end_of_data``)."""
        for order in self._broker.open_orders():
            self._broker.cancel(order.client_order_id, ts_ns, END_OF_DATA)
        self._deliver(self._broker.drain_reports())

    def _sample(self, ts_ns: int) -> None:
        """The account, at the end of an event time, of every portfolio that event
        time touched (marked a price of or filled); the others' did not change.

        The cash figure (cash + reserved) is summed again only when either changed:
        a Decimal never changes, the books replace it, so the same two objects as at
        the last sample mean the same sum."""
        append, cash_seen, touched = self._records.equity.append, self._cash_seen, self._touched
        for pid, books in touched.items():
            known = cash_seen.get(pid)
            if known is None or known[0] is not books.cash or known[1] is not books.reserved:
                cash = _add(books.cash, books.reserved)
                known = cash_seen[pid] = (books.cash, books.reserved, cash, _subtract(cash, cash))
            cash = known[2]
            positions = books.positions
            if not positions:  # the account is its cash
                append(EquityPoint(pid, ts_ns, cash, cash, known[3]))
                continue
            if len(positions) == 1:  # one position (the usual case): books.totals() without its loop
                [(symbol, position)] = positions.items()
                price = books.last_prices.get(symbol)
                value = position.cost if price is None else _multiply(position.quantity, price)
                append(EquityPoint(pid, ts_ns, _add(cash, value), cash, value))  # the value as multiplied
                continue
            equity = books.totals()[1]
            append(EquityPoint(pid, ts_ns, equity, cash, _subtract(equity, cash)))
        touched.clear()  # the same dict for the whole run: no allocation per event time
