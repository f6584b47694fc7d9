"""A prepared target loads as soon as the fence names it (a planned migration's
hand-over without the broker's hop).

When a planned migration begins, the leader tells the target the load to come
(``portfolio.prepare`` with ``epoch`` and ``load_nonce``). Once the source has
let go, the leader's compare-and-set names the target in the portfolio's fence
at that epoch and only then publishes ``portfolio.load``, which crosses the
broker to reach the target. The fence is the authority on ownership, so the
target need not wait for the command: while it holds such preparations, the
schedule loop polls in short slices and reads their fences after each poll (one
round trip), and a fence naming this node at the announced epoch starts the
load at once, exactly as the command would. The load's ack is written under the
announced nonce, so the leader sees it as the command's; when the command
arrives, it is answered with that ack and does not run again.

Anything else leaves it to the command: a fence at another epoch or owner, a
fence that cannot be read, or a load that fails (the command then tries, and
answers, as it always did).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from livecore.control.commands import Command
from livecore.node.commands import CommandFailed
from livecore.node.prepared import Preparations
from livecore.ports.coordination import Coordination
from livecore.wire import names

log = logging.getLogger(__name__)

# how long the schedule loop waits for a command while a fence is watched
WATCH_SLICE_S = 0.005


class FenceWatch:
    """Used by the schedule loop's thread only."""

    def __init__(
        self,
        *,
        node_id: str,
        coord: Coordination,
        preparations: Preparations,
        load: Callable[[str, int], str],
        answer: Callable[[str, str, str, str], None],
    ) -> None:
        """``load(portfolio, epoch)`` is the node's ``portfolio.load``; ``answer(nonce,
        command, portfolio, detail)`` acknowledges it before the command arrives."""
        self._node_id = node_id
        self._coord = coord
        self._preparations = preparations
        self._load = load
        self._answer = answer
        self.loaded = 0  # loads started by a fence

    def watching(self) -> bool:
        """A preparation awaits an announced load."""
        return bool(self._preparations.expected())

    def check(self) -> list[str]:
        """Load every prepared portfolio whose fence names this node at its announced
        epoch; the ids loaded."""
        expected = self._preparations.expected()
        if not expected:
            return []
        keys = {names.portfolio_epoch_key(pid): pid for pid in expected}
        try:
            fences = self._coord.get_fences(keys)
        except Exception as exc:  # the command still comes: nothing is lost by waiting for it
            log.warning("cannot read the fences of %d prepared portfolio(s): %s", len(keys), exc)
            return []
        loaded = []
        for key, fence in sorted(fences.items()):
            pid = keys[key]
            want = expected[pid]
            if fence.owner == self._node_id and fence.epoch == want.epoch and self._start(pid, want.epoch, want.nonce):
                loaded.append(pid)
        return loaded

    def _start(self, pid: str, epoch: int, nonce: str) -> bool:
        log.info("%s: the fence names this node at epoch %d: loading before the command arrives", pid, epoch)
        try:
            detail = self._load(pid, epoch)
        except CommandFailed as exc:
            log.warning("%s: load at epoch %d failed (%s); the command will try again", pid, epoch, exc)
            return False
        except Exception:
            log.exception("%s: load at epoch %d failed; the command will try again", pid, epoch)
            return False
        self._answer(nonce, Command.LOAD, pid, detail)
        self.loaded += 1
        return True
