"""One order's conversations with the venue, on the broker's event loop.

- **place**: send it; the venue's answer is applied (``accepted`` and any
  immediate fills). A refusal rejects it with the reason; a rate-limit answer
  is waited out (at most ``rate_limit_retries`` times, then rejected
  ``rate_limited``): for the venue's ``Retry-After`` when it gives one (and
  every placement waits with it: ``backoff.py``), else a doubling pause; a
  refused timestamp re-synchronises with
  the venue's clock and sends once more (then ``clock_skew``). Anything else
  leaves its fate unknown: **resolve**.
- **resolve**: ask the venue by client id, with a doubling pause, until it
  answers. Found: its state applies. Not found: asked again until
  ``not_received_s`` has passed since it was sent (a request that old can no
  longer be executed), then rejected ``not_received``. Nothing is sent for
  the order meanwhile: it is never placed twice.
- **cancel**: after any placement or lookup of the same order (one flow per
  order at a time); the venue's answer applies; an order the venue no longer
  has open is read back to learn why.
- **fill gaps**: an order the venue says filled more than was reported gets
  its trades read (the websocket missed them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from livecore.faults import describe
from livecore.venues.ccxt.backoff import RateLimitBackoff, responses, retry_after_s
from livecore.venues.ccxt.errors import (
    CLOCK_SKEW,
    NOT_RECEIVED,
    RATE_LIMITED,
    Outcome,
    outcome_of,
    refusal_reason,
)
from livecore.venues.ccxt.state import VenueState
from livecore.venues.ccxt.tracker import Phase, Tracked
from livecore.venues.ccxt.translate import VenueOrder

log = logging.getLogger(__name__)
Headers = Mapping[str, str]


class OrderFlows:
    def __init__(self, state: VenueState) -> None:
        self._state = state

    def _tracked(self, client_order_id: str) -> Tracked | None:
        with self._state.changing() as tracker:
            return tracker.get(client_order_id)

    # --- place -----------------------------------------------------------------------

    async def place(self, client_order_id: str) -> None:
        state = self._state
        async with state.exclusive(client_order_id):
            tracked = self._tracked(client_order_id)
            if tracked is None or tracked.phase is not Phase.SENDING:
                return
            answer = await self._send(tracked)
            if answer is None:
                return
            if isinstance(answer, VenueOrder):
                with state.changing() as tracker:
                    tracker.order(answer, state.clock())
                await self.fill_gaps(tracked)
                return
            with state.changing() as tracker:
                tracker.unknown(client_order_id)
            await self._resolve(tracked)

    async def _send(self, tracked: Tracked) -> VenueOrder | bool | None:
        """The venue's answer; True when it is unknown; None when the order was rejected."""
        state, config = self._state, self._state.config
        session = state.live_session()
        coid, resynced, limited = tracked.client_order_id, False, 0
        backoff = RateLimitBackoff(config.rate_limit_backoff_s, config.rate_limit_max_wait_s)
        while True:
            wait = state.rate_gate.remaining(state.clock())
            if wait > config.rate_limit_max_wait_s:  # a ban: no order is held that long
                self._reject(tracked, f"{RATE_LIMITED}: the venue asks for quiet for another {wait:.0f}s")
                return None
            if wait > 0:  # the venue asked for quiet (this order's answer or another's)
                await state.sleep(wait)
            try:
                state.stats.sent += 1
                with responses() as headers:
                    answer = await session.place(tracked.order, tracked.venue_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome = outcome_of(exc)
                if outcome is Outcome.RATE_LIMITED and limited < config.rate_limit_retries:
                    limited += 1
                    if self._wait_out(tracked, backoff.pause, limited, headers):
                        continue
                    return None
                if outcome is Outcome.CLOCK and not resynced:
                    resynced = True
                    await self._resync(session.name, exc)
                    continue
                if outcome is Outcome.UNKNOWN:
                    state.stats.unknown_outcomes += 1
                    log.warning("%s: outcome of %s unknown (%s): looking it up", session.name, coid, describe(exc, 200))
                    return True
                self._reject(tracked, self._reason(outcome, exc))
                return None
            if answer is None:
                state.stats.unknown_outcomes += 1
                return True
            return answer

    def _wait_out(
        self, tracked: Tracked, pause_of: Callable[[int, float | None], float | None], answers: int, headers: Headers
    ) -> bool:
        """After the ``answers``-th rate-limit answer: hold every placement for the
        venue's ``Retry-After`` (else the doubling pause) and say to send again;
        or reject the order when the venue asks for longer than it may wait."""
        state = self._state
        state.stats.rate_limited += 1
        now_ns = state.clock()
        asked = retry_after_s(headers, now_ns / 1e9)
        pause = pause_of(answers, asked)
        state.rate_gate.hold(now_ns, pause if pause is not None else float(asked or 0))
        if pause is None:
            self._reject(tracked, f"{RATE_LIMITED}: the venue asks for {asked:.0f}s of quiet")
            return False
        log.warning(
            "%s: venue rate limit on %s, sending again in %.1fs", state.tracker.venue, tracked.client_order_id, pause
        )
        return True

    async def _resync(self, venue: str, exc: Exception) -> None:
        state = self._state
        state.stats.clock_resyncs += 1
        log.error(
            "%s refused the request's timestamp (%s): this machine's clock is off; "
            "signing with the venue's time from now on (check NTP)",
            venue,
            describe(exc, 200),
        )
        try:
            offset = await state.live_session().resync_clock()
            log.warning("%s: venue clock offset %d ms", venue, offset)
        except Exception as resync:
            log.error("%s: cannot read the venue's time: %s", venue, describe(resync, 200))

    @staticmethod
    def _reason(outcome: Outcome, exc: Exception) -> str:
        if outcome is Outcome.RATE_LIMITED:
            return f"{RATE_LIMITED}: the venue kept refusing for its request rate ({describe(exc, 200)})"
        if outcome is Outcome.CLOCK:
            detail = describe(exc, 200)
            return f"{CLOCK_SKEW}: the venue refuses this machine's clock even after re-synchronising ({detail})"
        return refusal_reason(exc)

    def _reject(self, tracked: Tracked, reason: str) -> None:
        state = self._state
        state.stats.rejected_by_venue += 1
        log.warning("%s rejected: %s", tracked.client_order_id, reason)
        with state.changing() as tracker:
            tracker.rejected(tracked.client_order_id, reason, state.clock())

    # --- resolve ---------------------------------------------------------------------

    async def resolve(self, client_order_id: str) -> None:
        """Look up an order whose outcome is unknown (a restored or tracked order)."""
        async with self._state.exclusive(client_order_id):
            tracked = self._tracked(client_order_id)
            if tracked is not None and tracked.phase is Phase.UNKNOWN:
                await self._resolve(tracked)

    async def _resolve(self, tracked: Tracked) -> None:
        state, config = self._state, self._state.config
        session = state.live_session()
        pause = config.lookup_backoff_s
        while tracked.phase is Phase.UNKNOWN:
            try:
                found = await session.find(tracked.venue_id, tracked.order.symbol)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state.stats.lookup_errors += 1
                log.warning("%s: cannot look %s up yet: %s", session.name, tracked.client_order_id, describe(exc, 200))
            else:
                now = state.clock()
                if found is not None:
                    with state.changing() as tracker:
                        tracker.order(found, now)
                    log.info(
                        "%s: %s is %s at the venue (filled %s, reported %s)",
                        session.name,
                        tracked.client_order_id,
                        found.status.value,
                        found.filled,
                        tracked.filled,
                    )
                    await self.fill_gaps(tracked)
                    return
                waited_s = (now - tracked.sent_ns) / 1e9
                if waited_s >= config.not_received_s and not tracked.accepted:
                    state.stats.not_received += 1
                    self._reject(
                        tracked,
                        f"{NOT_RECEIVED}: the venue has no order {tracked.venue_id} {waited_s:.0f}s after it was sent",
                    )
                    return
            await asyncio.sleep(pause)
            pause = min(pause * 2, config.lookup_max_backoff_s)

    # --- cancel ----------------------------------------------------------------------

    async def cancel(self, client_order_id: str) -> None:
        state = self._state
        async with state.exclusive(client_order_id):
            tracked = self._tracked(client_order_id)
            if tracked is None or not tracked.working or tracked.venue_order_id is None:
                return
            session = state.live_session()
            pause = state.config.lookup_backoff_s
            while tracked.working:
                try:
                    state.stats.cancels_sent += 1
                    answer = await session.cancel(tracked.venue_order_id, tracked.order.symbol)
                    if answer is None:  # not open any more: read it back to learn why
                        answer = await session.fetch(tracked.venue_order_id, tracked.order.symbol)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if outcome_of(exc) is Outcome.REFUSED:
                        log.warning("%s: cancel of %s refused: %s", session.name, client_order_id, describe(exc, 200))
                        return  # the order stays as the venue has it; polls follow it
                    log.warning("%s: cancel of %s: %s; again", session.name, client_order_id, describe(exc, 200))
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, state.config.lookup_max_backoff_s)
                    continue
                if answer is not None:
                    with state.changing() as tracker:
                        tracker.order(answer, state.clock())
                await self.fill_gaps(tracked)
                return

    # --- fill gaps -------------------------------------------------------------------

    async def fill_gaps(self, tracked: Tracked) -> None:
        """Read the trades of an order the venue says filled more than was reported."""
        state = self._state
        if tracked.venue_order_id is None or tracked.venue_filled is None or tracked.filled >= tracked.venue_filled:
            return
        state.stats.gap_fills += 1
        trades = await state.live_session().order_trades(tracked.venue_order_id, tracked.order.symbol)
        with state.changing() as tracker:
            now = state.clock()
            for trade in trades:
                tracker.trade(trade, now)
