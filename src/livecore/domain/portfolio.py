"""``Portfolio``: the pure facade a node hosts.

One portfolio = books + orders + strategy + sizer + risk rules. No I/O, no
threads, no clock: time arrives with the events. Not thread-safe; the host
serialises calls. See docs/DOMAIN.md for the contract in prose.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from livecore.domain import catalog
from livecore.domain.account import AccountView
from livecore.domain.books import Books
from livecore.domain.errors import SnapshotError, SpecError
from livecore.domain.feedback import FeedbackOutcome, FeedbackResult, apply_feedback
from livecore.domain.order_book import OrderBook
from livecore.domain.order_entry import EntryState, OrderEntry
from livecore.domain.orders import OrderState
from livecore.domain.pipeline import ComponentError, Pipeline, RiskNote
from livecore.domain.reconcile import ReconcileReport, reconcile
from livecore.domain.risk import Proposal
from livecore.domain.snapshot import Counters, PortfolioState, decode_state, encode_state
from livecore.domain.spec import PortfolioSpec
from livecore.domain.strategy import Signal, Signals, Strategy
from livecore.domain.strategy_lifecycle import build_strategy, carried_state, saved_state, start_strategy
from livecore.domain.view import EquitySample, PortfolioView, build_view, equity_sample
from livecore.wire.enums import members
from livecore.wire.messages import Bar, CancelOrder, NewOrder, OrderFeedback, Side, Tick

__all__ = ["FeedbackResult", "Portfolio", "ReconcileReport"]

FLATTEN_REASON = "cluster halt: flatten"
MAX_FLATTEN_TRIES = 3  # closing orders per symbol that may end without a fill before it stops trying
_Result, _State = members(FeedbackResult), members(OrderState)  # cheap member reads (wire.enums)
_BASE_ON_FILL = Strategy.on_fill


class Portfolio:
    """Build with ``create`` or ``restore``; feed with ``on_market``/``on_feedback``."""

    def __init__(self, spec: PortfolioSpec, epoch: int, node_id: str) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self._spec = spec
        self._epoch = epoch
        self._node_id = node_id
        settings = spec.settings
        self._books = Books.opening(spec.initial_cash)
        self._orders = OrderBook(settings.closed_order_window)
        self._counters = Counters()
        self._notes: deque[RiskNote] = deque(maxlen=settings.risk_note_window)
        self._fault: str | None = None
        self._fault_detail: str | None = None
        self._halt: str | None = None
        self._trading_enabled = True
        self._cluster_halt: str | None = None  # the cluster kill switch, while in force
        self._flatten = False  # ... and it asked to close every position
        self._flatten_tries: dict[str, int] = {}
        self._feedback_problem: str | None = None
        self._pipeline = Pipeline(spec.build_sizer(), spec.build_rules(), spec.allow_short)
        self._wire(EntryState())
        self._strategy = build_strategy(spec, self._set_fault)
        self._universe_version = 0
        self._symbols: frozenset[str] = frozenset()
        self._universe_seen: frozenset[str] = frozenset()
        self._on_price: Callable[[str, Decimal, int], Signals] | None = None  # set by _start_strategy

    def _wire(self, entry_state: EntryState) -> None:
        """(Re)connect the collaborators that share the books and order book."""
        self._account = AccountView(
            self._books,
            self._orders,
            self._spec.allow_short,
            self._spec.settings.reservation_buffer,
            self._pipeline.sizer.lot_size,
        )
        self._entry = OrderEntry(
            portfolio_id=self._spec.id,
            epoch=self._epoch,
            node_id=self._node_id,
            books=self._books,
            orders=self._orders,
            counters=self._counters,
            notes=self._notes,
            reservation_buffer=self._spec.settings.reservation_buffer,
            state=entry_state,
        )

    # --- construction -----------------------------------------------------------

    @classmethod
    def create(cls, spec: PortfolioSpec, epoch: int, node_id: str) -> Portfolio:
        """A fresh portfolio with the spec's initial cash."""
        portfolio = cls(spec, epoch, node_id)
        portfolio._start_strategy(None)
        portfolio._symbols = portfolio._routing_symbols()
        portfolio._universe_seen = portfolio._strategy.symbols
        return portfolio

    @classmethod
    def restore(cls, data: bytes, spec: PortfolioSpec, epoch: int, node_id: str) -> Portfolio:
        """Rebuild from ``snapshot()`` bytes, possibly at a newer epoch on another node.
        The seq counter continues; new client order ids carry the new epoch."""
        state = decode_state(data)
        if state.portfolio_id != spec.id:
            raise SnapshotError(f"snapshot of {state.portfolio_id!r} cannot restore portfolio {spec.id!r}")
        if epoch < state.epoch:
            raise SnapshotError(f"epoch {epoch} is older than the snapshot's epoch {state.epoch}")
        portfolio = cls(spec, epoch, node_id)
        portfolio._load(state)
        same_strategy = state.strategy == catalog.name_of(spec.strategy.cls, catalog.STRATEGIES)
        portfolio._start_strategy(state.strategy_state if same_strategy else None)
        if same_strategy:
            portfolio._strategy.set_symbols(state.universe)
        portfolio._universe_version = state.universe_version
        portfolio._symbols = portfolio._routing_symbols()
        portfolio._universe_seen = portfolio._strategy.symbols
        return portfolio

    def _load(self, state: PortfolioState) -> None:
        self._books = state.books
        self._orders.load(state.orders, state.closed_order_ids)
        self._counters = state.counters
        self._notes.extend(state.risk_notes)
        if state.fault is not None:  # else keep a fault the strategy's constructor just raised
            self._fault, self._fault_detail = state.fault, state.fault_detail
        self._halt = state.halt_reason
        self._feedback_problem = state.feedback_problem
        self._wire(EntryState.from_snapshot(state))

    def _start_strategy(self, state: Any) -> None:
        start_strategy(self._strategy, self._account, state, self._set_fault)
        kind = type(self._strategy)
        plain = kind.on_bar is Strategy.on_bar and kind.on_tick is Strategy.on_tick
        # both hand the price to on_price (the built-ins): call it directly
        self._on_price = self._strategy.on_price if plain else None

    # --- properties the node reads ----------------------------------------------

    @property
    def portfolio_id(self) -> str:
        return self._spec.id

    @property
    def spec(self) -> PortfolioSpec:
        return self._spec

    @property
    def strategy(self) -> Strategy:
        """The strategy instance (replaced by ``reload``)."""
        return self._strategy

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def node_id(self) -> str:
        return self._node_id

    @property
    def seq(self) -> int:
        return self._entry.state.seq

    @property
    def symbols(self) -> frozenset[str]:
        """The strategy's universe plus symbols held or with open orders (to keep marking them)."""
        return self._symbols

    @property
    def universe_version(self) -> int:
        return self._universe_version

    @property
    def faulted(self) -> bool:
        return self._fault is not None

    @property
    def fault(self) -> str | None:
        return self._fault

    @property
    def halted(self) -> bool:
        return self._halt is not None

    @property
    def halt_reason(self) -> str | None:
        return self._halt

    @property
    def trading_enabled(self) -> bool:
        return self._trading_enabled

    @property
    def books(self) -> Books:
        """The live books (read them; do not mutate): one object for the portfolio's
        lifetime (a restore builds a new portfolio)."""
        return self._books

    @property
    def cluster_halt(self) -> str | None:
        return self._cluster_halt

    def set_cluster_halt(self, reason: str | None, flatten: bool, ts_ns: int) -> None:
        """The cluster kill switch (``reason`` None: lifted). Halted, the strategy may
        only reduce positions; with ``flatten`` it is not asked at all and every
        position is closed with a market order (again after each fill, so an order
        that was in flight when the switch was pressed is closed too)."""
        self._cluster_halt = reason
        self._pipeline.reduce_only = reason is not None
        self._flatten = reason is not None and flatten
        self._flatten_tries = {}
        if self._flatten:
            for symbol in sorted(self._books.positions):
                self._flatten_symbol(symbol, ts_ns)

    def _flatten_symbol(self, symbol: str, ts_ns: int) -> None:
        """Close ``symbol``'s position with a market order, unless an order is open
        for it, trading is off (a paused or isolated portfolio: its books are
        flattened once it trades again) or the last tries did not close it."""
        quantity = self._account.position(symbol)
        if not quantity or not self._trading_enabled or self._account.has_open_order(symbol):
            return
        tries = self._flatten_tries.get(symbol, 0)
        price = self._account.last_price(symbol)
        if tries >= MAX_FLATTEN_TRIES or price is None:
            return
        self._flatten_tries[symbol] = tries + 1
        proposal = Proposal(
            symbol=symbol,
            side=Side.SELL if quantity > 0 else Side.BUY,
            quantity=abs(quantity),
            price=price,
            lot_size=self._pipeline.sizer.lot_size,
            reason=FLATTEN_REASON,
        )
        self._entry.place(proposal, ts_ns)
        self._refresh_symbols()

    def set_trading_enabled(self, enabled: bool) -> None:
        """False stops new orders and cancels (pause, migration); prices and fills still apply."""
        self._trading_enabled = enabled

    # --- events -------------------------------------------------------------------

    def on_market(self, event: Tick | Bar) -> bool:
        """Mark the price, then (unless faulted) run strategy -> sizer -> risk -> orders.
        False when the strategy asked for nothing (the usual case): then no request
        was created and the symbols it trades did not change, and a host that reads
        the answer may skip looking at either."""
        symbol = event.symbol
        is_bar = isinstance(event, Bar)
        # a bar's price is its close (``Bar.price``, read here without the property call)
        price = event.close if is_bar else event.price  # type: ignore[union-attr]
        previous = self._books.mark(symbol, price, event.ts_ns)
        self._counters.events += 1
        if self._fault is not None:
            return False
        account = self._account
        account.event_symbol, account.event_previous = symbol, previous
        try:
            if self._halt is None and self._pipeline.halting:
                self._halt = self._pipeline.halt_reason(account)
            if self._flatten:  # the kill switch closes positions; the strategy is not asked
                self._flatten_symbol(symbol, event.ts_ns)
                return True
            # the universe as last seen after a strategy callback: the strategy's own
            # (``symbols``) without a property call per event
            if symbol not in self._universe_seen:
                return False
            strategy = self._strategy
            try:
                if self._on_price is not None:  # on_bar/on_tick not overridden: the price, one call less
                    raw = self._on_price(symbol, price, event.ts_ns)
                else:
                    raw = strategy.on_bar(event) if is_bar else strategy.on_tick(event)  # type: ignore[arg-type]
                # a list is used as returned (it is only read, before the strategy runs again)
                signals = None if raw is None else raw if type(raw) is list else list(raw)
            except Exception as exc:
                self._set_fault("strategy.on_bar" if is_bar else "strategy.on_tick", exc)
                return True
            if strategy._symbols is not self._universe_seen:  # ``symbols`` without the property call
                self._universe_moved()
            elif not signals:  # the usual case: nothing asked, nothing allocated
                return False
            if signals:
                self._place(signals, event.ts_ns)
            return True
        except ComponentError as exc:
            self._set_fault(exc.where, exc.error)
            return True
        finally:
            account.event_symbol = account.event_previous = None

    def on_feedback(self, fb: OrderFeedback) -> FeedbackResult:
        """Apply an execution report (fills apply even when faulted, halted or paused)."""
        if fb.portfolio_id != self._spec.id:
            self._counters.ignored += 1
            return _Result.IGNORED
        outcome = self._apply(fb)
        fill = outcome.fill
        if fill is None:  # nothing booked: no strategy to ask
            return outcome.result
        if self._flatten:
            self._flatten_tries.pop(fill.symbol, None)  # the position moved: try again
            self._flatten_symbol(fill.symbol, fb.ts_ns)
            return outcome.result
        if self._fault is not None:
            return outcome.result
        strategy = self._strategy
        try:
            # the base ``on_fill`` answers None and changes nothing: not called
            raw = None if type(strategy).on_fill is _BASE_ON_FILL else strategy.on_fill(fill)
            self._after_strategy(list(raw) if raw is not None else [], fb.ts_ns)
        except ComponentError as exc:
            self._set_fault(exc.where, exc.error)
        except Exception as exc:
            self._set_fault("strategy.on_fill", exc)
        return outcome.result

    def _apply(self, fb: OrderFeedback) -> FeedbackOutcome:
        outcome = apply_feedback(fb, self._orders, self._books, self._entry.state.booked)
        c = self._counters
        result = outcome.result
        if result is _Result.APPLIED:
            fill = outcome.fill
            if fill is not None:
                c.fills += 1
            if outcome.rerouting:
                self._refresh_symbols(None if fill is None else fill.symbol)
        elif result is _Result.DUPLICATE:
            c.duplicates += 1
        elif result is _Result.UNKNOWN_ORDER:
            c.unknown += 1
        elif result is _Result.REFUSED:
            c.refused += 1
            self._feedback_problem = f"{fb.client_order_id}: {outcome.detail}"
        else:
            c.ignored += 1
        return outcome

    def _after_strategy(self, signals: list[Signal], ts_ns: int) -> None:
        if self._strategy.symbols is not self._universe_seen:
            self._universe_moved()
        if signals:
            self._place(signals, ts_ns)

    def _universe_moved(self) -> None:
        """The strategy changed its universe: route by the new one."""
        self._universe_seen = self._strategy.symbols
        self._refresh_symbols()

    def _place(self, signals: list[Signal], ts_ns: int) -> None:
        """Signals -> sizer -> risk -> orders, unless trading is paused or halted."""
        if not self._trading_enabled or self._halt is not None:
            self._counters.suppressed += len(signals)
            return
        entry = self._entry
        placed = entry.state.seq
        self._pipeline.run(signals, ts_ns, self._account, entry)
        if entry.state.seq != placed:
            self._refresh_symbols(signals[0].symbol if len(signals) == 1 else None)

    def _set_fault(self, where: str, exc: BaseException) -> None:
        if self._fault is not None:  # the first fault is the cause; keep it
            return
        self._fault = f"{where}: {type(exc).__name__}: {exc}"
        self._fault_detail = "".join(traceback.format_exception(exc)[-20:])

    def _routing_symbols(self) -> frozenset[str]:
        universe = self._strategy.symbols
        # key views, not copies: this runs after every order and report
        held, working = self._books.positions.keys(), self._orders.open_by_symbol.keys()
        if held <= universe and working <= universe:  # the usual case, checked after every order and report
            return universe
        return universe.union(held, working)

    def _refresh_symbols(self, touched: str | None = None) -> None:
        """Route by the universe plus what is held or working outside it. ``touched``:
        the one symbol whose order or position just changed, if only one did. When
        the routes are the strategy's universe itself and ``touched`` is in it,
        nothing can have changed (all that is held or working is still inside it):
        nothing is recomputed."""
        universe = self._universe_seen
        if self._symbols is universe and self._strategy._symbols is universe and touched in universe:
            return
        symbols = self._routing_symbols()
        if symbols != self._symbols:
            self._symbols = symbols
            self._universe_version += 1

    # --- outbox -------------------------------------------------------------------

    @property
    def has_requests(self) -> bool:
        """Whether ``drain_outbox`` has anything to hand over (most events create nothing)."""
        return bool(self._entry.state.outbox)

    def drain_outbox(self) -> list[NewOrder | CancelOrder]:
        """Requests created since the last drain (their orders are already recorded)."""
        return self._entry.drain()

    def mark_submitted(self, client_order_id: str) -> None:
        """The bus confirmed delivery: CREATED -> SUBMITTED. Later states are left alone,
        and a confirmation for an order no longer held (closed and forgotten) is ignored:
        it carries no fact the books need."""
        order = self._orders.get(client_order_id)
        if order is not None and order.state is _State.CREATED:
            order.to(_State.SUBMITTED)

    # --- snapshot / reconcile / reload ----------------------------------------------

    def snapshot(self) -> bytes:
        """Complete state as versioned bytes (see ``snapshot.PortfolioState``)."""
        strategy_state = saved_state(self._strategy, self._set_fault)
        orders, closed = self._orders.dump()
        return encode_state(
            PortfolioState(
                portfolio_id=self._spec.id,
                epoch=self._epoch,
                node_id=self._node_id,
                seq=self._entry.state.seq,
                booked=sorted(self._entry.state.booked.items()),
                books=self._books,
                orders=orders,
                closed_order_ids=closed,
                outbox=list(self._entry.state.outbox),
                strategy=catalog.name_of(type(self._strategy), catalog.STRATEGIES),
                strategy_state=strategy_state,
                universe=sorted(self._strategy.symbols),
                universe_version=self._universe_version,
                fault=self._fault,
                fault_detail=self._fault_detail,
                halt_reason=self._halt,
                feedback_problem=self._feedback_problem,
                last_order_id=self._entry.state.last_order_id,
                counters=self._counters,
                risk_notes=list(self._notes),
            )
        )

    def reconcile(self, orders: list[NewOrder], feedback: list[OrderFeedback]) -> ReconcileReport:
        """Bring the books to what the gateway journal says (see ``domain.reconcile``)."""
        report = reconcile(
            self._spec.id,
            self._epoch,
            self._entry,
            self._orders,
            self._books,
            orders,
            feedback,
            self._apply,
        )
        self._refresh_symbols()
        return report

    def reload(self, spec: PortfolioSpec) -> None:
        """New strategy/sizer/risk/params; books, orders and seq are kept. Clears a fault
        and a kill-switch halt (the operator's way to resume); after a halt the day's
        loss is measured again from the current equity, so the switch is re-armed rather
        than tripping at once. The strategy's memory is carried over when its class is
        unchanged; ``initial_cash`` is not re-applied."""
        if spec.id != self._spec.id:
            raise SpecError("id", f"reload of {self._spec.id!r} with a spec for {spec.id!r}", spec.source)
        carried = carried_state(self._strategy, spec, self.faulted)
        self._spec = spec
        self._fault = self._fault_detail = None
        if self._halt is not None:
            self._books.day_start_equity = self._books.equity()
            self._halt = None
        self._orders.closed_window = spec.settings.closed_order_window
        self._notes = deque(self._notes, maxlen=spec.settings.risk_note_window)
        self._pipeline = Pipeline(spec.build_sizer(), spec.build_rules(), spec.allow_short)
        self._wire(self._entry.state)
        self._strategy = build_strategy(spec, self._set_fault)
        self._start_strategy(carried)
        self._universe_seen = self._strategy.symbols
        self._refresh_symbols()

    # --- operators ------------------------------------------------------------------

    def view(self) -> PortfolioView:
        """A frozen picture for operators (the node publishes it every heartbeat)."""
        return build_view(
            spec=self._spec,
            strategy=catalog.name_of(type(self._strategy), catalog.STRATEGIES),
            epoch=self._epoch,
            seq=self._entry.state.seq,
            last_order_id=self._entry.state.last_order_id,
            books=self._books,
            orders=self._orders,
            counters=self._counters,
            notes=list(self._notes),
            fault=self._fault,
            halt=self._halt,
            trading_enabled=self._trading_enabled,
            symbols=self._symbols,
            universe_version=self._universe_version,
            feedback_problem=self._feedback_problem,
        )

    def equity_sample(self) -> EquitySample:
        """Equity, cash and P&L now: a point of the equity curve, cheaper than ``view``."""
        return equity_sample(self._books, self._epoch)
