"""What happened: the audit log (failovers, migrations, nodes lost and joined,
refused commands, faults, halts) and each node's recent health history.
Read-only."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query
from fastapi.responses import Response

from livecore.api.errors import ApiError, json_response
from livecore.api.history import NodeHistory, NodeTrack
from livecore.control.events import EVENT_GROUPS, AuditEvent
from livecore.ops import Ops

MAX_EVENTS = 500
GROUP_OF: dict[str, str] = {event: group for group, events in EVENT_GROUPS.items() for event in events}


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    ts_ns: int
    time: str  # ISO 8601, UTC
    component: str
    event: str
    group: str | None  # the ``EVENT_GROUPS`` filter it belongs to
    detail: dict[str, Any]


class EventsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    events: list[EventRow]  # newest first
    before: int | None  # the next (older) page's cursor; None when there is none
    groups: dict[str, list[str]]  # every filter and the event names it covers


class NodeEvent(msgspec.Struct, frozen=True, kw_only=True):
    event: str  # node_joined or node_lost
    ts_ns: int
    time: str


class HistoryAnswer(msgspec.Struct, frozen=True, kw_only=True):
    interval_s: float
    samples: int  # the ring's size
    nodes: list[NodeTrack]
    # each node's latest node_joined / node_lost audited within the history's window:
    # a node lost before this process started (or forgotten by its ring) is still named
    audit: dict[str, NodeEvent]


NODE_EVENTS = frozenset({AuditEvent.NODE_JOINED, AuditEvent.NODE_LOST})
NODE_EVENTS_READ = 200  # the newest node events looked at


def node_events(ops: Ops, since_ns: int) -> dict[str, NodeEvent]:
    latest: dict[str, NodeEvent] = {}
    for entry in ops.store.audit.recent(NODE_EVENTS_READ, NODE_EVENTS):  # newest first
        node_id = entry.detail.get("node_id")
        if entry.ts_ns < since_ns or not isinstance(node_id, str) or node_id in latest:
            continue
        latest[node_id] = NodeEvent(event=entry.event, ts_ns=entry.ts_ns, time=iso(entry.ts_ns))
    return latest


def iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).isoformat(timespec="milliseconds")


def events_router(ops: Ops, history: NodeHistory, *, interval_s: float, samples: int) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["read"])
    groups = {name: sorted(str(e) for e in events) for name, events in EVENT_GROUPS.items()}

    @router.get("/events", summary="The audit log, newest first, filtered and paged")
    def events(
        limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
        before: Annotated[int | None, Query(ge=0, description="the previous page's `before`")] = None,
        group: Annotated[str | None, Query(description=f"one of {sorted(EVENT_GROUPS)}")] = None,
        event: Annotated[str | None, Query(max_length=100, description="one event name")] = None,
        portfolio: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ) -> Response:
        kinds: set[str] | None = None
        if group is not None:
            if group not in EVENT_GROUPS:
                raise ApiError(422, "invalid_request", f"unknown group {group!r}: one of {sorted(EVENT_GROUPS)}")
            kinds = set(EVENT_GROUPS[group])
        if event is not None:
            kinds = {event} if kinds is None else kinds & {event}
        entries = [] if kinds == set() else ops.store.audit.recent(limit + 1, kinds, before, portfolio)
        rows = [
            EventRow(
                id=e.id,
                ts_ns=e.ts_ns,
                time=iso(e.ts_ns),
                component=e.component,
                event=e.event,
                group=GROUP_OF.get(e.event),
                detail=e.detail,
            )
            for e in entries[:limit]
        ]
        older = rows[-1].id if len(entries) > limit else None
        return json_response(EventsAnswer(events=rows, before=older, groups=groups))

    @router.get("/events/kinds", summary="Every audit event name and its group")
    def kinds() -> Response:
        return json_response({str(e): GROUP_OF.get(e) for e in AuditEvent})

    @router.get("/nodes/history", summary="Each node's recent health, sampled by this API process")
    def node_history() -> Response:
        since_ns = time.time_ns() - int(interval_s * samples * 1e9)
        return json_response(
            HistoryAnswer(
                interval_s=interval_s,
                samples=samples,
                nodes=history.tracks(),
                audit=node_events(ops, since_ns),
            )
        )

    return router
