"""The cluster kill switch over HTTP (``ops/halt.py``):

- ``GET /api/cluster/halt``: the state in force and, per live node, whether it
  applied it (read: no token);
- ``POST /api/cluster/halt`` ``{"reason": ..., "flatten": false}``: halt;
- ``POST /api/cluster/resume``: resume (409 when not halted).

Both POSTs need the API token; the operator recorded in the audit is
``api@<client address>``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from livecore.api.actions import call
from livecore.api.auth import BearerAuth
from livecore.api.errors import json_response
from livecore.notify import NO_NOTICES, NoticeSink, cluster_halt_notice
from livecore.ops import Ops
from livecore.ops.halt import halt, halt_status, resume

REASON_MAX = 500


class HaltBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="why (shown everywhere until resumed)")
    flatten: bool = Field(default=False, description="also close every position with market orders")


def _operator(request: Request) -> str:
    client = request.client.host if request.client is not None else "?"
    return f"api@{client}"


def halt_router(ops: Ops, auth: BearerAuth, notices: NoticeSink = NO_NOTICES) -> APIRouter:
    router = APIRouter(prefix="/api/cluster", tags=["cluster"])

    @router.get("/halt", summary="The cluster kill switch's state")
    def state() -> Response:
        return json_response(call(lambda: halt_status(ops)))

    @router.post("/halt", summary="Halt the cluster", dependencies=[Depends(auth)])
    def halt_cluster(body: HaltBody, request: Request) -> Response:
        operator = _operator(request)
        report = call(lambda: halt(ops, reason=body.reason, flatten=body.flatten, by=operator))
        notices.notify(cluster_halt_notice(body.reason, operator))
        return json_response(report)

    @router.post("/resume", summary="Resume the cluster", dependencies=[Depends(auth)])
    def resume_cluster(request: Request) -> Response:
        operator = _operator(request)
        return json_response(call(lambda: resume(ops, by=operator)))

    return router
