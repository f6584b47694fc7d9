"""The node metrics hash (``node:metrics:{node_id}``) as one typed struct.

The node writes a ``NodeMetrics`` every heartbeat (``to_hash``); the
scheduler, ``livecore status``, the API and ``/metrics`` read it back
(``from_hash``). The hash field names are the struct's field names (or the
``names`` constants they are renamed to), so they are spelled here once. Values
are strings on the wire, as both coordination backends store them: integers
in decimal, ``queue_size`` and ``cpu_usage`` with 2 and 1 decimals,
``portfolios`` as sorted-key JSON ``{id: epoch}``, ``bus_ok`` as ``1``/``0``.

Reading is tolerant: a field that is absent or unreadable is None (unknown),
never an error that would stop the scheduler.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

import msgspec

from livecore.health import ProcessBusHealth
from livecore.wire import names

RUNNING = "running"
PAUSED = "paused"

# a float written with this many decimals; a field whose counters are flattened into the hash
Fixed1 = Annotated[float, msgspec.Meta(extra={"places": 1})]
Fixed2 = Annotated[float, msgspec.Meta(extra={"places": 2})]
Flat = Annotated[dict[str, int], msgspec.Meta(extra={"flat": True})]


class NodeMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """One node's report. None: the node did not write the field, or it is unreadable."""

    # the seed's fields
    portfolio_count: int | None = None
    queue_size: Fixed2 | None = None  # average mailbox size over the hosted portfolios
    cpu_usage: Fixed1 | None = None  # CPU percent of the process since the previous reading
    memory_usage: int | None = None  # resident set size, bytes
    total_events: int | None = None
    backpressure_count: int | None = None
    dropped_events: int | None = None
    # this project's
    portfolios: dict[str, int] | None = None  # loaded {id: epoch}; None: not reported
    state: str | None = None  # RUNNING or PAUSED
    started_at: str | None = None
    capacity: int | None = None
    updated_at: str | None = msgspec.field(default=None, name=names.UPDATED_AT_FIELD)
    faulted: int | None = None  # loaded portfolios whose strategy faulted
    stale_events: int | None = None
    dead_letters: int | None = msgspec.field(default=None, name=names.DEAD_LETTERS_FIELD)
    offer_errors: int | None = msgspec.field(default=None, name=names.OFFER_ERRORS_FIELD)
    orders_sent: int | None = None
    order_failures: int | None = None
    feedback_ignored: int | None = None
    commands_refused: int | None = None
    commands_replayed: int | None = None
    workers: int | None = None
    cluster_halted: bool | None = None  # the node has applied the cluster kill switch
    market_time_ns: int | None = None  # the newest market event timestamp the node decoded
    session: str | None = None  # token of the node's coordination session (``Coordination.session_states``)
    # market data: records consumed, events routed to a hosted portfolio, their ratio
    # (read amplification, since the node started; None until one is routed) and how
    # many partitions of market.data the node reads now, of how many
    market_events: int | None = None
    routed_events: int | None = None
    read_amplification: Fixed2 | None = None
    market_partitions: int | None = None
    market_partitions_total: int | None = None
    loops: Flat = {}  # per consumer loop, by ``names.loop_*_field``: failed, retries, errors
    # the bus's health (``livecore.health``)
    bus_ok: bool | None = msgspec.field(default=None, name=names.BUS_OK_FIELD)
    bus_reason: str | None = msgspec.field(default=None, name=names.BUS_REASON_FIELD)
    bus_since_ns: int | None = msgspec.field(default=None, name=names.BUS_SINCE_FIELD)
    bus_lost_records: int | None = msgspec.field(default=None, name=names.BUS_LOST_FIELD)

    @classmethod
    def from_hash(cls, fields: Mapping[str, str]) -> NodeMetrics:
        """Decode the raw hash; unknown fields are ignored."""
        values: dict[str, Any] = {}
        for codec in _CODECS:
            value = codec.read(fields)
            if value is not None:
                values[codec.attr] = value
        return cls(**values)

    def to_hash(self) -> dict[str, str]:
        """Every field that is set, as hash strings."""
        out: dict[str, str] = {}
        for codec in _CODECS:
            codec.write(getattr(self, codec.attr), out)
        return out

    def with_fields(self, values: Mapping[str, int | float | str]) -> NodeMetrics:
        """A copy with fields set by their hash names (a loop counter goes to ``loops``).
        An unknown name raises ``KeyError``: the node may write only what readers know."""
        changes: dict[str, Any] = {}
        loops = dict(self.loops)
        for name, value in values.items():
            if name in LOOP_FIELDS:
                loops[name] = int(value)
            else:
                changes[_ATTRS[name]] = value
        return msgspec.structs.replace(self, **changes, loops=loops)

    def count(self, name: str) -> int | None:
        """The integer field or loop counter with hash name ``name``."""
        if name in LOOP_FIELDS:
            return self.loops.get(name)
        value = getattr(self, _ATTRS[name])
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def bus_health(self, process: str) -> ProcessBusHealth | None:
        """The bus-health report this hash carries; None when it carries none."""
        if self.bus_ok is None:
            return None
        return ProcessBusHealth(
            process=process,
            ok=self.bus_ok,
            reason=self.bus_reason or "",
            since_ns=self.bus_since_ns if self.bus_since_ns is not None and self.bus_since_ns >= 0 else 0,
            lost_records=self.bus_lost_records
            if self.bus_lost_records is not None and self.bus_lost_records >= 0
            else None,
        )


LOOP_FIELDS = frozenset(
    family(loop)
    for loop in names.NODE_LOOPS
    for family in (names.loop_failed_field, names.loop_retries_field, names.loop_errors_field)
)


def parse_int(text: str | None) -> int | None:
    """An integer field; exact for plain integers (a ns timestamp exceeds a float's
    53 bits), ``"3.0"`` also read."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        return None


def parse_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_portfolios(text: str | None) -> dict[str, int] | None:
    """The field ``portfolios`` (JSON ``{id: epoch}``); None if absent or malformed."""
    if text is None:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    out: dict[str, int] = {}
    for pid, epoch in raw.items():
        if isinstance(pid, str) and isinstance(epoch, int) and not isinstance(epoch, bool):
            out[pid] = epoch
        elif isinstance(pid, str) and isinstance(epoch, str) and epoch.isdigit():
            out[pid] = int(epoch)
    return out


class _FieldCodec:
    """How one struct field is read from and written to the hash."""

    def __init__(self, info: msgspec.inspect.Field) -> None:
        self.attr = info.name
        self.name = info.encode_name
        kind = info.type
        if isinstance(kind, msgspec.inspect.UnionType):  # ``X | None``
            kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
        extra = (kind.extra or {}) if isinstance(kind, msgspec.inspect.Metadata) else {}
        self.places: int | None = extra.get("places")
        self.flat = bool(extra.get("flat"))
        self.kind = kind.type if isinstance(kind, msgspec.inspect.Metadata) else kind
        self._parse = _parser(self.kind)

    def read(self, fields: Mapping[str, str]) -> Any:
        if self.flat:
            return {name: value for name in LOOP_FIELDS if (value := parse_int(fields.get(name))) is not None}
        return self._parse(fields.get(self.name))

    def write(self, value: Any, out: dict[str, str]) -> None:
        if value is None:
            return
        if self.flat:
            out.update((name, str(count)) for name, count in sorted(value.items()))
        elif isinstance(value, bool):
            out[self.name] = "1" if value else "0"
        elif isinstance(value, dict):
            out[self.name] = json.dumps(dict(value), sort_keys=True)
        elif isinstance(value, float) and self.places is not None:
            out[self.name] = f"{value:.{self.places}f}"
        else:
            out[self.name] = str(value)


def _parser(kind: object) -> Callable[[str | None], Any]:
    if isinstance(kind, msgspec.inspect.BoolType):
        return lambda text: None if text is None else text == "1"
    if isinstance(kind, msgspec.inspect.IntType):
        return parse_int
    if isinstance(kind, msgspec.inspect.FloatType):
        return parse_float
    if isinstance(kind, msgspec.inspect.DictType):
        return parse_portfolios
    return lambda text: text


def _codecs() -> Iterator[_FieldCodec]:
    info = msgspec.inspect.type_info(NodeMetrics)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        yield _FieldCodec(field)


_CODECS = tuple(_codecs())
_ATTRS = {codec.name: codec.attr for codec in _CODECS if not codec.flat}
