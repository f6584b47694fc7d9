"""How ``livecore run`` knows a replay is finished with an event time.

Two uses, both inside one ``LiveCore`` process (any backends):

- **lockstep** (``--event-time --speed 0 --no-loop``): the feed publishes one
  event, then calls ``Lockstep.barrier``. The barrier waits until the gateway
  has matched the event against the orders sent before it and every resulting
  report has been applied by its portfolio; only then does it open the nodes'
  market gates to that event and wait until the strategies have seen it and
  every order they sent has been answered and applied. So each event goes
  through the live path in the order ``livecore backtest`` takes it (the data's
  order: timestamp, then file order): fills at the new price first, then the
  strategies.
- **end of a finite replay** (``--no-loop``): once the feed has published
  everything and the system has settled, the gateway cancels what still works
  (reason ``end_of_data``, as in a backtest), and once that has settled too the
  run is over.

"Settled" is read from counters that only grow: records each side has finished
against records the other side has produced, and every portfolio's mailbox
idle. A snapshot reads the nodes before the gateway and the feed, and two
equal settled snapshots in a row are required, so work passing between two
reads cannot look like quiet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from livecore.gateway.service import GatewayProgress
from livecore.node.gate import MarketGate, NodeProgress

log = logging.getLogger(__name__)

_POLL_S = 0.0005


@dataclass(frozen=True, slots=True)
class Snapshot:
    nodes: tuple[NodeProgress, ...]
    gateway: GatewayProgress
    published: int  # market events the feed has published


def gateway_caught_up(snap: Snapshot) -> bool:
    """The gateway has applied every published event, every order the nodes sent
    has been handled, and every report it published has been applied."""
    g = snap.gateway
    return (
        g.market_applied == snap.published
        and g.order_records == sum(n.orders_sent for n in snap.nodes)
        and all(n.feedback_settled == g.feedback_published and n.idle for n in snap.nodes)
    )


def settled(snap: Snapshot) -> bool:
    """Nothing in flight anywhere: the gateway caught up and every node has
    handled every published event."""
    return gateway_caught_up(snap) and all(n.market_settled == snap.published for n in snap.nodes)


Probe = Callable[[], Snapshot]


class Quiet:
    """Waits until a predicate holds on two equal snapshots in a row."""

    def __init__(self, *, probe: Probe, stop: threading.Event, timeout_s: float) -> None:
        self._probe = probe
        self._stop = stop
        self._timeout_s = timeout_s

    def wait(self, predicate: Callable[[Snapshot], bool], what: str) -> bool:
        """True once it holds; False on stop or timeout (logged: the run goes on)."""
        deadline = time.monotonic() + self._timeout_s
        previous: Snapshot | None = None
        while not self._stop.is_set():
            snap = self._probe()
            if predicate(snap):
                if snap == previous:
                    return True
                previous = snap
            else:
                previous = None
            if time.monotonic() > deadline:
                log.warning("replay: %s not reached within %.0fs (%s); going on", what, self._timeout_s, snap)
                return False
            self._stop.wait(_POLL_S)
        return False


class Lockstep:
    """The feed's barrier of a lockstep replay (see the module docstring)."""

    def __init__(self, *, quiet: Quiet, gates: Sequence[MarketGate]) -> None:
        self._quiet = quiet
        self._gates = list(gates)

    def barrier(self, published: int) -> None:
        """The feed has published ``published`` events; the last one is taken now."""
        self._quiet.wait(gateway_caught_up, f"gateway caught up with event {published}")
        for gate in self._gates:
            gate.open_until(published)
        self._quiet.wait(settled, f"settled after event {published}")
