"""The node's coordination session is never fatal: no session only means no
token in the report (the node is then judged by its heartbeat TTL alone)."""

from __future__ import annotations

import logging
import uuid

import pytest

from livecore.adapters.memory_coordination import MemoryCoordination
from livecore.node.session import NodeSession
from livecore.ports.coordination import CoordinationError, Session, SessionState


class Refusing(MemoryCoordination):
    """Opens sessions only while ``up``."""

    def __init__(self) -> None:
        super().__init__(f"memory://{uuid.uuid4().hex}")
        self.up = False

    def open_session(self, name: str) -> Session:
        if not self.up:
            raise CoordinationError("ERR unknown command 'CLIENT ID'")
        return super().open_session(name)


def test_a_session_that_cannot_be_opened_is_no_token_and_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    coord = Refusing()
    session = NodeSession(node_id="n1", coord=coord)
    with caplog.at_level(logging.WARNING, logger="livecore.node.session"):
        session.open()
        assert session.token() is None
        assert session.token() is None
    assert len(caplog.records) == 1 and "heartbeat TTL alone" in caplog.records[0].getMessage()
    coord.up = True
    token = session.token()  # the backend can now: the next beat opens one
    assert token is not None and coord.session_states([token]) == {token: SessionState.OPEN}
    assert session.token() == token
    session.close()
    assert coord.session_states([token]) == {token: SessionState.CLOSED}
    session.close()  # idempotent


def test_the_token_is_the_kept_session_and_close_ends_it() -> None:
    coord = MemoryCoordination(f"memory://{uuid.uuid4().hex}")
    session = NodeSession(node_id="n1", coord=coord)
    session.open()
    token = session.token()
    assert token is not None and session.token() == token
    session.close()
    assert coord.session_states([token]) == {token: SessionState.CLOSED}
    session.open()  # a stopped node that starts again: a new session
    assert session.token() not in (None, token)
    session.close()
