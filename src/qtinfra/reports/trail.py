"""The audit trail of one client order: `qtinfra audit order ID`.

Everything comes from the journal, the one record of what happened (never from the state
tables, which hold only the latest snapshot): the order's events (ExecutionReports, cancel
rejects, child orders sent and cancelled), found by the journal's order_id index, and
every FIX message in and out of the client session and the venue sessions that concerns
the order. Raw messages carry no order_id, so they are searched only inside the order's
time window (first to last event, with a margin) and on the sessions involved, with the
database pre-filtering on the ids; each candidate is then parsed into tag=value pairs and
kept only when one of its id fields (ClOrdID 11, OrigClOrdID 41, OrderID 37 on the client
session; ClOrdID 11 and OrigClOrdID 41 holding a child id on a venue session) equals one of
the order's ids exactly, so an id that is a prefix of another never matches it.

ID is our OrderID or any client ClOrdID of the order's chain (the original, a replace's, a
cancel's). A ClOrdID resolves through the cl_ord_ids table (one row per ClOrdID the client
used, written with the order events in the same transaction) because the journal has no
index on the JSON inside its payloads; a ClOrdID the gateway rejected before booking an
order (OrderID NONE) is found among the journal's rejects. Timestamps are UTC with
microseconds (MiFID II RTS 25) and entries are in time order (journal timestamp, then seq).

The tag names come from the FIX data dictionaries in fix_specs/ (FIX44.xml, and FIXT11.xml
with FIX50SP2.xml for FIXT.1.1 sessions), loaded once per process.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Engine, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from qtinfra.config import PROJECT_ROOT, QtinfraConfig
from qtinfra.domain.values import CxlRejReason, ExecType, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.errors import QtinfraError
from qtinfra.fix import wire
from qtinfra.store.models import ClOrdIdRow, JournalRow

SOH = "\x01"
NONE_ID = "NONE"
"""The OrderID of a report about an order the gateway never booked (oms/manager.py)."""
FIX_IN, FIX_OUT = "fix.in", "fix.out"
TRAIL_MARGIN = timedelta(seconds=30)
"""How far before the order's first event and after its last one FIX messages are looked
for: an inbound request is journaled before the event it causes, and a venue's answer to
the last child cancel arrives after the order's last event."""

EVENT_KINDS = ("ExecutionReport", "CancelRejected", "ChildOrderSent", "ChildCancelSent")
_CLIENT_ID_TAGS = ("11", "41", "379")  # ClOrdID, OrigClOrdID, BusinessRejectRefID
_VENUE_ID_TAGS = ("11", "41")


class UnknownOrder(QtinfraError):
    """No order in the journal has this OrderID or ClOrdID."""


class AmbiguousOrder(QtinfraError):
    """A ClOrdID that several client sessions used; the OrderID names one order."""


# -- time ------------------------------------------------------------------------------------


def utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and Z: 2026-03-02T09:30:00.123456Z."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every qtinfra timestamp is timezone-aware UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    """A journaled ISO 8601 timestamp (orjson writes +00:00) as an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# -- FIX messages ------------------------------------------------------------------------------


def fix_pairs(raw: str) -> list[tuple[str, str]]:
    """A journaled FIX message as (tag, value) pairs in wire order (repeating groups stay as
    sent), split as QuickFIX parsed it (fix/wire.py: data fields by their length). A garbled
    frame is split on SOH, a part without '=' kept with an empty tag."""
    try:
        # The journal's escaped text (printable), split as the wire was.
        return [(str(tag), value) for tag, value in wire.split(raw)]
    except wire.WireError:
        pass
    pairs = []
    for part in raw.split(SOH):
        if not part:
            continue
        tag, sep, value = part.partition("=")
        pairs.append((tag, value) if sep else ("", part))
    return pairs


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The first value of each tag (body fields before any repeating group's copies)."""
    out: dict[str, str] = {}
    for tag, value in pairs:
        out.setdefault(tag, value)
    return out


@dataclass(frozen=True, slots=True)
class FixField:
    """One field of a message with what the data dictionary says about it."""

    tag: str
    value: str
    name: str | None = None
    meaning: str | None = None

    def render(self) -> str:
        if self.name is None:
            return f"{self.tag}={self.value}"
        if self.meaning is None:
            return f"{self.tag}={self.value} ({self.name})"
        return f"{self.tag}={self.value} ({self.name}={self.meaning})"

    def to_json(self) -> dict[str, Any]:
        tag: int | str = int(self.tag) if self.tag.isdigit() else self.tag
        return {"tag": tag, "name": self.name, "value": self.value, "meaning": self.meaning}


@dataclass(frozen=True)
class FixDictionary:
    """Tag names, enumeration meanings and message names of a FIX data dictionary."""

    names: dict[str, str]
    enums: dict[str, dict[str, str]]
    messages: dict[str, str]

    @classmethod
    def load(cls, *paths: Path) -> FixDictionary:
        """Merge QuickFIX data dictionaries (later files add to earlier ones)."""
        names: dict[str, str] = {}
        enums: dict[str, dict[str, str]] = {}
        messages: dict[str, str] = {}
        for path in paths:
            root = ET.parse(path).getroot()
            for msg in root.iterfind("./messages/message"):
                messages[msg.get("msgtype", "")] = msg.get("name", "")
            for fld in root.iterfind("./fields/field"):
                number, name = fld.get("number"), fld.get("name")
                if not number or not name:
                    continue
                names[number] = name
                values = {
                    v.get("enum", ""): v.get("description", "") for v in fld.iterfind("value")
                }
                if values:
                    enums.setdefault(number, {}).update(values)
        return cls(names, enums, messages)

    def describe(self, tag: str, value: str) -> FixField:
        name = self.names.get(tag)
        if tag in ("35", "372"):  # MsgType, RefMsgType: the message's name
            return FixField(tag, value, name, self.messages.get(value))
        meaning = self.enums.get(tag, {}).get(value)
        return FixField(tag, value, name, meaning)

    def decode(self, raw: str) -> tuple[FixField, ...]:
        return tuple(self.describe(tag, value) for tag, value in fix_pairs(raw))


def fix_specs_dir(config: QtinfraConfig | None = None) -> Path:
    """The data dictionaries: the configured checkout's fix_specs/, else the package's."""
    if config is not None and (config.root / "fix_specs").is_dir():
        return config.root / "fix_specs"
    return PROJECT_ROOT / "fix_specs"


@lru_cache(maxsize=8)
def dictionary_for(spec_dir: Path, begin_string: str) -> FixDictionary:
    """The dictionary a session of this BeginString validates against (loaded once)."""
    if begin_string == "FIXT.1.1":
        files = [spec_dir / "FIX50SP2.xml", spec_dir / "FIXT11.xml"]
    else:
        files = [spec_dir / f"{begin_string.replace('.', '')}.xml"]
    present = [f for f in files if f.is_file()]
    if not present:
        return FixDictionary({}, {}, {})
    return FixDictionary.load(*present)


def decode_message(raw: str, spec_dir: Path) -> tuple[FixField, ...]:
    begin = raw[2 : raw.find(SOH)] if raw.startswith("8=") and SOH in raw else "FIX.4.4"
    return dictionary_for(spec_dir, begin).decode(raw)


# -- the journal -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal row as the reports read it."""

    seq: int
    ts: datetime
    kind: str
    session: str | None
    order_id: str | None
    payload: str


_COLUMNS = (
    JournalRow.seq,
    JournalRow.ts,
    JournalRow.kind,
    JournalRow.session,
    JournalRow.order_id,
    JournalRow.payload,
)


def kind_in(*kinds: str) -> ColumnElement[bool]:
    """Journal rows of these kinds, as a filter the planner does not answer from the kind
    index (kind || ''): the order_id or ts index narrows far better, and SQLite, which keeps
    no statistics, would otherwise walk every row of the kind."""
    return (JournalRow.kind + "").in_(kinds)


def read_journal(conn: Connection, *where: Any, batch: int = 2000) -> Iterator[JournalEntry]:
    """Journal rows matching where, in seq order, streamed."""
    stmt = select(*_COLUMNS).where(*where).order_by(JournalRow.seq)
    result = conn.execution_options(yield_per=batch).execute(stmt)
    for row in result:
        yield JournalEntry(row.seq, row.ts, row.kind, row.session, row.order_id, row.payload)


def events_of_orders(
    conn: Connection, order_ids: Iterable[str], kinds: Sequence[str] = EVENT_KINDS
) -> list[JournalEntry]:
    """Every event of these orders (the order_id index), in seq order."""
    ids = sorted(set(order_ids) - {NONE_ID})
    rows: list[JournalEntry] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows.extend(read_journal(conn, JournalRow.order_id.in_(chunk), kind_in(*kinds)))
    rows.sort(key=lambda r: r.seq)
    return rows


def _contains_any(ids: Iterable[str]) -> Any:
    """SQL pre-filter: the payload holds `=<id><SOH>` for one of ids (exact match later)."""
    return or_(*(JournalRow.payload.contains(f"={i}{SOH}", autoescape=True) for i in ids))


# -- fills: a client fill and the venue execution it books ----------------------------------


@dataclass(frozen=True, slots=True)
class VenueFill:
    """A venue's ExecutionReport with ExecType Trade about one of our child orders."""

    seq: int
    ts: datetime
    session: str
    child_id: str
    exec_id: str
    last_qty: Decimal
    last_px: Decimal
    last_mkt: str | None


def venue_fill(entry: JournalEntry, child_ids: set[str]) -> VenueFill | None:
    """The fill a venue's raw message reports, if it is one about a child in child_ids."""
    values = first_values(fix_pairs(entry.payload))
    if values.get("35") != "8" or values.get("150") != ExecType.TRADE.value:
        return None
    child = values.get("41") if values.get("41") in child_ids else values.get("11")
    if child not in child_ids:
        return None
    try:
        qty, px = Decimal(values.get("32", "")), Decimal(values.get("31", ""))
    except InvalidOperation:
        return None
    return VenueFill(
        entry.seq,
        entry.ts,
        entry.session or "",
        _child_of(child),
        values.get("17", ""),
        qty,
        px,
        values.get("30"),
    )


def match_fills(
    trades: Sequence[tuple[int, Decimal, Decimal]], fills: Sequence[VenueFill]
) -> dict[int, VenueFill]:
    """Pair each client Trade report (seq, LastQty, LastPx) with the venue fill that caused
    it: the earliest not yet paired fill journaled before it with the same quantity and
    price. A venue fill resent (same child and ExecID) books nothing, so it pairs once."""
    unique: list[VenueFill] = []
    seen: set[tuple[str, str]] = set()
    for f in sorted(fills, key=lambda f: f.seq):
        if (f.child_id, f.exec_id) not in seen:
            seen.add((f.child_id, f.exec_id))
            unique.append(f)
    used: set[int] = set()
    paired: dict[int, VenueFill] = {}
    for seq, qty, px in sorted(trades):
        for f in unique:
            if f.seq >= seq:
                break
            if f.seq not in used and f.last_qty == qty and f.last_px == px:
                used.add(f.seq)
                paired[seq] = f
                break
    return paired


# -- the trail ---------------------------------------------------------------------------------


def _name(enum: Any, code: Any) -> str:
    try:
        return str(enum(code).name)
    except ValueError:
        return str(code)


def _px(value: Any) -> str:
    return "MARKET" if value is None else str(value)


def event_summary(kind: str, ev: dict[str, Any]) -> str:
    """One line a compliance officer reads: what the event was, with its numbers."""
    if kind == "ExecutionReport":
        exec_type, status = ev.get("exec_type"), ev.get("ord_status")
        parts = [
            f"ExecutionReport {_name(ExecType, exec_type)} (ExecType {exec_type}):"
            f" OrdStatus {_name(OrdStatus, status)}",
            f"ClOrdID {ev.get('cl_ord_id')}",
        ]
        if ev.get("orig_cl_ord_id"):
            parts.append(f"OrigClOrdID {ev['orig_cl_ord_id']}")
        parts.append(
            f"{_name(Side, ev.get('side'))} {ev.get('order_qty')} {ev.get('symbol')}"
            f" @ {_px(ev.get('price'))} {_name(TimeInForce, ev.get('time_in_force'))}"
        )
        parts.append(
            f"CumQty {ev.get('cum_qty')} LeavesQty {ev.get('leaves_qty')} AvgPx {ev.get('avg_px')}"
        )
        if ev.get("last_qty") is not None:
            parts.append(f"fill {ev['last_qty']} @ {ev.get('last_px')} on {ev.get('last_mkt')}")
        if ev.get("text"):
            parts.append(f"Text: {ev['text']}")
        return ", ".join(parts)
    if kind == "CancelRejected":
        what = "cancel" if ev.get("response_to") == "1" else "replace"
        return (
            f"OrderCancelReject of the {what} request ClOrdID {ev.get('cl_ord_id')} "
            f"(OrigClOrdID {ev.get('orig_cl_ord_id')}): {_name(CxlRejReason, ev.get('reason'))}, "
            f"OrdStatus {_name(OrdStatus, ev.get('ord_status'))}, Text: {ev.get('text')}"
        )
    if kind == "ChildOrderSent":
        return (
            f"child order {ev.get('child_id')} sent to {ev.get('venue')}: "
            f"{_name(Side, ev.get('side'))} {ev.get('quantity')} {ev.get('symbol')} "
            f"@ {_px(ev.get('price'))} {_name(OrdType, ev.get('ord_type'))} "
            f"{_name(TimeInForce, ev.get('time_in_force'))}"
        )
    if kind == "ChildCancelSent":
        return (
            f"cancel {ev.get('child_id')} of child order {ev.get('orig_child_id')} "
            f"sent to {ev.get('venue')}"
        )
    return kind


def message_summary(fields: Sequence[FixField]) -> str:
    """The message's name and the ids and numbers that say what it was about."""
    by_tag = {f.tag: f for f in reversed(fields)}
    msg = by_tag.get("35")
    head = (msg.meaning or f"MsgType {msg.value}") if msg else "(no MsgType)"
    parts = [head]
    for tag in ("11", "41", "37", "150", "39", "38", "44", "32", "31", "30", "58"):
        f = by_tag.get(tag)
        if f is not None:
            shown = f.meaning if tag in ("150", "39") and f.meaning else f.value
            parts.append(f"{f.name or tag} {shown}")
    return parts[0] + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "")


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One step of the order's life: an event, or a FIX message in or out."""

    seq: int
    ts: datetime
    kind: str
    session: str | None
    summary: str
    event: dict[str, Any] | None = None
    fields: tuple[FixField, ...] = ()
    raw: str | None = None

    @property
    def is_message(self) -> bool:
        return self.kind in (FIX_IN, FIX_OUT)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "ts": utc_iso(self.ts),
            "kind": self.kind,
            "session": self.session,
            "summary": self.summary,
        }
        if self.is_message:
            by_tag = first_values((f.tag, f.value) for f in self.fields)
            out["direction"] = "in" if self.kind == FIX_IN else "out"
            out["msg_type"] = by_tag.get("35")
            out["fields"] = [f.to_json() for f in self.fields]
            out["raw"] = self.raw
        else:
            out["event"] = self.event
        return out


@dataclass(frozen=True, slots=True)
class ChildSummary:
    child_id: str
    venue: str
    sent: datetime
    quantity: str
    price: str | None
    filled: Decimal
    venue_status: str | None
    cancel_sent: bool


@dataclass(frozen=True, slots=True)
class FillSummary:
    ts: datetime
    exec_id: str
    quantity: str
    price: str
    mic: str | None
    child_id: str | None
    venue_exec_id: str | None


@dataclass
class OrderTrail:
    """The whole life of one parent order (order_id None: rejected before booking)."""

    order_id: str | None
    cl_ord_ids: list[str]
    sessions: list[str]
    entries: list[TrailEntry]
    children: list[ChildSummary] = field(default_factory=list)
    fills: list[FillSummary] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.entries]


def resolve(conn: Connection, ident: str) -> tuple[str | None, list[JournalEntry]]:
    """(OrderID, its events) for an OrderID or a ClOrdID; (None, the rejects) for a ClOrdID
    rejected before an order was booked."""
    if ident == NONE_ID or not ident:
        raise UnknownOrder(f"{ident!r} is not an order id")
    events = events_of_orders(conn, [ident])
    if events:
        return ident, events
    owners = conn.execute(
        select(ClOrdIdRow.order_id, ClOrdIdRow.session).where(ClOrdIdRow.cl_ord_id == ident)
    ).all()
    order_ids = sorted({r.order_id for r in owners})
    if len(order_ids) > 1:
        listed = ", ".join(f"{r.order_id} ({r.session})" for r in owners)
        raise AmbiguousOrder(
            f"ClOrdID {ident} was used by several orders: {listed}; name one by its OrderID"
        )
    if order_ids:
        events = events_of_orders(conn, order_ids)
        if events:
            return order_ids[0], events
    rejects = [
        e
        for e in read_journal(
            conn,
            JournalRow.order_id == NONE_ID,
            kind_in("ExecutionReport"),
            JournalRow.payload.contains(orjson.dumps(ident).decode(), autoescape=True),
        )
        if orjson.loads(e.payload).get("cl_ord_id") == ident
    ]
    if rejects:
        return None, rejects
    raise UnknownOrder(f"no order with OrderID or ClOrdID {ident} in the journal")


def order_trail(
    engine: Engine, ident: str, spec_dir: Path | None = None, margin: timedelta = TRAIL_MARGIN
) -> OrderTrail:
    """The trail of the order ident names (see the module docstring). Raises UnknownOrder
    or AmbiguousOrder."""
    spec_dir = spec_dir or fix_specs_dir()
    with engine.connect() as conn:
        order_id, events = resolve(conn, ident)
        parsed = [(e, orjson.loads(e.payload)) for e in events]
        ids = _OrderIds.of(order_id, parsed)
        messages = ids.messages(
            conn, min(e.ts for e in events) - margin, max(e.ts for e in events) + margin
        )
    entries = [
        TrailEntry(e.seq, e.ts, e.kind, e.session, event_summary(e.kind, ev), event=ev)
        for e, ev in parsed
    ]
    for m in messages:
        fields = decode_message(m.payload, spec_dir)
        entries.append(
            TrailEntry(
                m.seq,
                m.ts,
                m.kind,
                m.session,
                message_summary(fields),
                fields=fields,
                raw=m.payload,
            )
        )
    entries.sort(key=lambda t: (t.ts, t.seq))
    trail = OrderTrail(order_id, ids.cl_ord_ids, ids.sessions, entries)
    _summarise(trail, parsed, messages, ids.child_ids)
    return trail


@dataclass
class _OrderIds:
    """Every id the order's messages can carry, and where they travel."""

    order_id: str | None
    cl_ord_ids: list[str]  # the client's, in the order they appeared
    sessions: list[str]  # the client sessions
    child_ids: set[str]  # child orders and our cancels of them (<child>.X, <child>.X2...)
    venues: set[str]

    @classmethod
    def of(
        cls, order_id: str | None, events: Iterable[tuple[JournalEntry, dict[str, Any]]]
    ) -> _OrderIds:
        ids = cls(order_id, [], [], set(), set())
        for e, ev in events:
            if e.kind in ("ExecutionReport", "CancelRejected"):
                for key in ("cl_ord_id", "orig_cl_ord_id"):
                    value = ev.get(key)
                    if value and value != NONE_ID and value not in ids.cl_ord_ids:
                        ids.cl_ord_ids.append(value)
                if ev.get("session") and ev["session"] not in ids.sessions:
                    ids.sessions.append(ev["session"])
            else:
                ids.venues.add(ev["venue"])
                ids.child_ids.update(
                    i for i in (ev.get("child_id"), ev.get("orig_child_id")) if i is not None
                )
        return ids

    def concerns(self, entry: JournalEntry, client_ids: set[str]) -> bool:
        """Whether a raw message is about the order: on the client session ClOrdID (11),
        OrigClOrdID (41) or BusinessRejectRefID (379) is one of the client's ids or
        OrderID (37) is ours; on a venue session 11 or 41 is one of the children."""
        pairs = fix_pairs(entry.payload)
        if entry.session in self.sessions:
            return any(
                (t in _CLIENT_ID_TAGS and v in client_ids) or (t == "37" and v == self.order_id)
                for t, v in pairs
            )
        return any(t in _VENUE_ID_TAGS and v in self.child_ids for t, v in pairs)

    def messages(self, conn: Connection, first: datetime, last: datetime) -> list[JournalEntry]:
        """The raw messages about the order journaled between first and last, on its
        sessions: pre-filtered by the database, then matched field by field."""
        client_ids = set(self.cl_ord_ids)
        ids = client_ids | self.child_ids | ({self.order_id} if self.order_id else set())
        sessions: list[Any] = [JournalRow.session.in_(self.sessions)] if self.sessions else []
        sessions += [
            JournalRow.session.endswith(f"->{v}", autoescape=True) for v in sorted(self.venues)
        ]
        if not sessions or not ids:
            return []
        candidates = read_journal(
            conn,
            kind_in(FIX_IN, FIX_OUT),
            JournalRow.ts >= first,
            JournalRow.ts <= last,
            or_(*sessions),
            _contains_any(ids),
        )
        return [m for m in candidates if self.concerns(m, client_ids)]


def _summarise(
    trail: OrderTrail,
    parsed: list[tuple[JournalEntry, dict[str, Any]]],
    messages: list[JournalEntry],
    child_ids: set[str],
) -> None:
    """The children table (what each child did at its venue) and the fills table."""
    venue_msgs = [m for m in messages if m.kind == FIX_IN and m.session not in trail.sessions]
    fills = [f for m in venue_msgs if (f := venue_fill(m, child_ids)) is not None]
    status: dict[str, str] = {}
    for m in venue_msgs:
        values = first_values(fix_pairs(m.payload))
        if values.get("35") == "8":
            child = values.get("41") if values.get("41") in child_ids else values.get("11")
            if child in child_ids and "39" in values:
                status[_child_of(child)] = _name(OrdStatus, values["39"])
    filled: dict[str, Decimal] = {}
    seen: set[tuple[str, str]] = set()
    for f in fills:
        if (f.child_id, f.exec_id) not in seen:
            seen.add((f.child_id, f.exec_id))
            filled[f.child_id] = filled.get(f.child_id, Decimal(0)) + f.last_qty
    cancelled = {ev["orig_child_id"] for e, ev in parsed if e.kind == "ChildCancelSent"}
    for e, ev in parsed:
        if e.kind == "ChildOrderSent":
            cid = ev["child_id"]
            trail.children.append(
                ChildSummary(
                    cid,
                    ev["venue"],
                    e.ts,
                    ev["quantity"],
                    ev.get("price"),
                    filled.get(cid, Decimal(0)),
                    status.get(cid),
                    cid in cancelled,
                )
            )
    trades = [
        (e.seq, Decimal(ev["last_qty"]), Decimal(ev["last_px"]))
        for e, ev in parsed
        if e.kind == "ExecutionReport"
        and ev.get("exec_type") == ExecType.TRADE.value
        and ev.get("last_qty") is not None
    ]
    paired = match_fills(trades, fills)
    trade_seqs = {t[0] for t in trades}
    for e, ev in parsed:
        if e.seq in trade_seqs:
            f = paired.get(e.seq)
            trail.fills.append(
                FillSummary(
                    parse_utc(ev["transact_time"]),
                    ev["exec_id"],
                    ev["last_qty"],
                    ev["last_px"],
                    ev.get("last_mkt"),
                    f.child_id if f else None,
                    f.exec_id if f else None,
                )
            )


# -- output ------------------------------------------------------------------------------------


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def render_text(trail: OrderTrail) -> str:
    """The trail for a person: a header, every step in time order, then the children and
    the fills."""
    lines: list[str] = []
    events = [e.event for e in trail.entries if e.kind == "ExecutionReport" and e.event]
    first = events[0] if events else {}
    last = events[-1] if events else {}
    if trail.order_id:
        lines.append(f"Order {trail.order_id} on {', '.join(trail.sessions)}")
    else:
        lines.append(
            f"ClOrdID {', '.join(trail.cl_ord_ids)} on {', '.join(trail.sessions)}: "
            "rejected, never booked (OrderID NONE)"
        )
    if first:
        lines.append(
            f"  {_name(Side, first.get('side'))} {first.get('order_qty')} {first.get('symbol')}"
            f" ({first.get('isin') or 'no ISIN'}) @ {_px(first.get('price'))}"
            f" {_name(TimeInForce, first.get('time_in_force'))},"
            f" Account {first.get('account') or '-'}"
        )
        lines.append(
            f"  now: {_name(OrdStatus, last.get('ord_status'))}, OrderQty {last.get('order_qty')}"
            f", CumQty {last.get('cum_qty')}, AvgPx {last.get('avg_px')}"
        )
    lines.append(f"  ClOrdIDs: {', '.join(trail.cl_ord_ids) or '-'}")
    if trail.entries:
        lines.append(
            f"  {len(trail.entries)} journal rows from {utc_iso(trail.entries[0].ts)}"
            f" to {utc_iso(trail.entries[-1].ts)}"
        )
    lines.append("")
    lines.append(f"{'TIME (UTC)':<27}  {'SEQ':>8}  {'WHAT':<9}  DETAIL")
    for e in trail.entries:
        if e.is_message:
            what = "FIX in" if e.kind == FIX_IN else "FIX out"
            lines.append(f"{utc_iso(e.ts)}  {e.seq:>8}  {what:<9}  {e.session}  {e.summary}")
            lines.append(" " * 4 + " ".join(f.render() for f in e.fields))
        else:
            what = "EVENT" if e.kind in ("ExecutionReport", "CancelRejected") else "CHILD"
            lines.append(f"{utc_iso(e.ts)}  {e.seq:>8}  {what:<9}  {e.summary}")
    if trail.children:
        lines.append("")
        lines.append("Children")
        rows = [["CHILD", "VENUE", "SENT (UTC)", "QTY", "PRICE", "FILLED", "VENUE STATUS"]]
        for c in trail.children:
            rows.append(
                [
                    c.child_id,
                    c.venue,
                    utc_iso(c.sent),
                    c.quantity,
                    _px(c.price),
                    str(c.filled),
                    (c.venue_status or "-") + (" (cancel sent)" if c.cancel_sent else ""),
                ]
            )
        lines.extend(_table(rows))
    if trail.fills:
        lines.append("")
        lines.append("Fills")
        rows = [["TIME (UTC)", "EXEC ID", "QTY", "PRICE", "MIC", "CHILD", "VENUE EXEC ID"]]
        for f in trail.fills:
            rows.append(
                [
                    utc_iso(f.ts),
                    f.exec_id,
                    f.quantity,
                    f.price,
                    f.mic or "-",
                    f.child_id or "-",
                    f.venue_exec_id or "-",
                ]
            )
        lines.extend(_table(rows))
    return "\n".join(lines) + "\n"


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run_order_trail(config: QtinfraConfig, order: str, as_json: bool) -> int:
    """`qtinfra audit order ID [--json]`: 0 printed, 1 unknown or ambiguous ID, 2 the
    journal could not be read."""
    from qtinfra.store.db import make_engine

    engine = make_engine(config.database_url)
    try:
        trail = order_trail(engine, order, fix_specs_dir(config))
    except (UnknownOrder, AmbiguousOrder) as exc:
        print(f"qtinfra: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            f"qtinfra: cannot read the journal at {_safe_url(config.database_url)}: {exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(trail.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(trail))
    return 0


_CANCEL_SUFFIX = re.compile(r"\.X\d*$")


def _child_of(cl_ord_id: str) -> str:
    """The child order a ClOrdID at a venue belongs to (our cancels are <child>.X<n>)."""
    return _CANCEL_SUFFIX.sub("", cl_ord_id)
