"""How a node says it refused a command unverified, in the command's ack.

Written by the node's dispatcher (``node/commands.py``), read by whoever
waits for the ack (``ops/``). The ack is a ``CommandAck`` with ``ok=False``
and the detail ``refused: <reason>: <detail>``, the reason being one of
``CommandRejected``'s. Kept apart from both sides so that the operator side
does not import the node.
"""

from __future__ import annotations

import re

from livecore.wire.messages import CommandAck
from livecore.wire.signing import REJECTION_REASONS, CommandRejected

REFUSED = "refused"
REASONS = REJECTION_REASONS  # defined once, next to the verifier that gives them
_REFUSAL = re.compile(rf"^{REFUSED}: ({'|'.join(REASONS)}): ")


def refusal_detail(exc: CommandRejected) -> str:
    """The ack detail of a command refused by verification: ``refused: <reason>: <detail>``."""
    return f"{REFUSED}: {exc.reason}: {exc.detail}"


def refusal_reason(ack: CommandAck) -> str | None:
    """The verification reason if ``ack`` is a refusal (the command was never run), else None."""
    if ack.ok:
        return None
    found = _REFUSAL.match(ack.detail)
    return found.group(1) if found else None
