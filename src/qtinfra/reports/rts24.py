"""MiFID II order records (MiFIR Art. 25; Delegated Regulation (EU) 2017/580, "RTS 24",
Annex Table 2): one record per event of a client order, from the journal.

`qtinfra reports rts24 --from --to [--format csv|json] [--out FILE]`.

Which events. Every ExecutionReport that changes the order, with the code of Table 2
field 21 (kept in EVENT_TYPES):

    ExecType 0 New       NEWO  new order
    ExecType 5 Replaced  REME  replaced at the client's request (a replace is the only
                               modification the gateway makes)
    ExecType 4 Canceled  CAME  cancelled at the client's request (it answers a cancel the
                               client sent: a PendingCancel report carried its ClOrdID)
                         CAMO  cancelled by the gateway itself: kill switch, remainder of an
                               immediate order, no venue left
    ExecType 8 Rejected  REMO  rejected order (also orders never booked: OrderID NONE,
                               identified by their ClOrdID)
    ExecType C Expired   EXPI  a DAY order at the close
    ExecType F Trade     FILL  the fill completes the order (CumQty = OrderQty)
                         PARF  partial fill

PendingCancel/PendingReplace (6, E) and OrderStatus (I) reports and OrderCancelRejects do
not change the order and are not events of field 21 (they are in the order trail).

Which fields. Those of Table 2 that an order the gateway works for a client has (fields a
trading venue alone can fill, such as priority, order book code and auction data, are
left out), plus the ClOrdIDs, the ExecutionReport's ExecID, the cumulative executed
quantity, the short selling indicator (RTS 22 field 62's codes) and Text. COLUMNS lists
every column with its field number and where its value comes from.

Choices.
* Date and time (field 9) is the event's TransactTime as the client received it, UTC with
  microseconds; --from and --to select on it, half-open [from, to), so consecutive days
  never share or lose a record. Sequence number (field 15) is the journal seq: unique and
  ascending in the order the gateway decided the events.
* Segment MIC (field 16): a fill's venue (LastMkt, the MIC of the child order's venue);
  otherwise the MIC the client directed the order to (ExDestination), else XOFF: the
  client order itself rests with the firm, not on a venue (its child orders are on the
  venues' own records, and in the order trail).
* Investment decision and execution within firm (fields 4, 5): the long codes RTS 22
  reports in fields 57 and 59, so the firm's two datasets agree: the PartyID the order
  carried (PartyRole 122 and 12) as its PartyRoleQualifier (2376) says: an algorithm's
  (22) code as it is, a person's resolved in config/people.toml to the national
  identifier; a code that is neither is left blank (and named on stderr). The PartyIDs
  themselves, the short codes the venues got (RTS 24 Art. 2), are in columns of their
  own. Client identification code (field 3): the Account's LEI, or a natural person's
  national identifier (config/accounts.toml, sealed at rest and revealed for the report
  only).
* Orders the gateway rejected before booking them have no MiFID II data in the journal: it
  is read from the NewOrderSingle the client sent (Parties, OrderCapacity,
  ExDestination), and what the message lacks from the Account's defaults, as the
  gateway's own check applies them.
* Trading venue transaction identification code (field 48): the venue's TrdMatchID (880)
  journaled with the client fill (venue_trade_id); for a journal from before that field,
  the venue's ExecID (17) found by pairing the client fill with the venue's Trade report.
* Transmissions: every child order sent to a venue in the window is a record of its own
  (NEWO, child_order_id = the child's ClOrdID, segment MIC = the venue's, date and time =
  when it was sent), linked to the client order by its OrderID (field 20): the firm's
  record of when and where it passed the order on (Art. 74 of Regulation 2017/565).
* CSV: RFC 4180 (header row, comma, CRLF, quotes where needed), UTF-8 with a byte order
  mark in files, because Excel reads a CSV without one in the local code page and garbles
  any non-ASCII name; on stdout without it, for pipes. Decimals are the journal's exact
  strings, timestamps ISO 8601 with Z (a spreadsheet keeps them as text, microseconds
  intact). A client-supplied text that a spreadsheet would run as a formula (leading =, +,
  -, @) is prefixed with an apostrophe in the CSV only; the JSON has every value as
  journaled.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from qtinfra.config import PersonRecord, QtinfraConfig
from qtinfra.domain.values import ALGORITHM
from qtinfra.reports.rts22_rules import short_selling_indicator
from qtinfra.reports.trail import (
    FIX_IN,
    NONE_ID,
    SOH,
    JournalEntry,
    VenueFill,
    events_of_orders,
    first_values,
    fix_pairs,
    kind_in,
    match_fills,
    parse_utc,
    read_journal,
    utc_iso,
    venue_fill,
)
from qtinfra.risk.limits import AccountRecord
from qtinfra.store.models import JournalRow

COMMIT_LAG = timedelta(minutes=5)
"""An event is journaled (ts) just after its TransactTime; rows are read this much past
the window so an event decided before its end but committed after it is not lost."""

EVENT_TYPES = {
    "0": "NEWO",
    "5": "REME",
    "8": "REMO",
    "C": "EXPI",
}
"""ExecType -> field 21, for the types with one code (Canceled and Trade depend on more)."""
RECORDED = frozenset({*EVENT_TYPES, "4", "F"})

TRADING_CAPACITY = {"A": "AOTC", "P": "DEAL", "R": "MTCH"}  # OrderCapacity (528)
VALIDITY = {"0": "DAVY", "1": "GTCV", "3": "IOCV", "4": "FOKV"}  # TimeInForce (59)
BUY_SELL = {"1": "BUYI", "2": "SELL", "5": "SELL"}  # Side (54)
ORDER_TYPE = {"1": "MARKET", "2": "LIMIT"}  # OrdType (40): the gateway's order types
CLASSIFICATION = {"2": "LMTO"}  # a market order is neither a limit nor a stop order
OFF_VENUE = "XOFF"
DECISION_MAKER, EXECUTING_TRADER = 122, 12  # PartyRole (452)


class Column(NamedTuple):
    name: str
    field: int | None  # RTS 24 Annex Table 2 field number; None: not a Table 2 field
    title: str
    source: str


COLUMNS: tuple[Column, ...] = (
    Column("sequence_number", 15, "Sequence number", "journal seq of the event"),
    Column("submitting_entity_id", 1, "Identification of the entity which submitted the "
           "order", "firm LEI ([firm] lei in gateway.toml)"),
    Column("dea", 2, "Direct Electronic Access (DEA)", "false: the gateway routes the orders "
           "itself (risk checks, smart order router); clients do not use its venue codes"),
    Column("client_id", 3, "Client identification code", "Account (1) -> accounts.toml: "
           "LEI, or a natural person's national_id"),
    Column("account", None, "Account", "Account (1) of the ExecutionReport"),
    Column("investment_decision_within_firm", 4, "Investment decision within firm",
           "PartyID of PartyRole 122 on the New/Replaced event -> people.toml: the person's "
           "national_id (as RTS 22 field 57); an algorithm's (PartyRoleQualifier 22) code "
           "as it is; blank when neither"),
    Column("investment_decision_short_code", None, "Investment decision short code",
           "PartyID of PartyRole 122 as sent to the venues"),
    Column("execution_within_firm", 5, "Execution within firm",
           "PartyID of PartyRole 12 on the New/Replaced event -> people.toml: the person's "
           "national_id (as RTS 22 field 59); an algorithm's (PartyRoleQualifier 22) code "
           "as it is; blank when neither"),
    Column("execution_short_code", None, "Execution short code",
           "PartyID of PartyRole 12 as sent to the venues"),
    Column("trading_capacity", 7, "Trading capacity",
           "OrderCapacity (528): A AOTC, P DEAL, R MTCH"),
    Column("liquidity_provision", 8, "Liquidity provision activity",
           "false: the gateway does no market making"),
    Column("date_time", 9, "Date and time", "TransactTime (60) of the event, UTC"),
    Column("validity_period", 10, "Validity period",
           "TimeInForce (59): DAY DAVY, GTC GTCV, IOC IOCV, FOK FOKV"),
    Column("order_restriction", 11, "Order restriction",
           "blank: the gateway accepts no order restrictions"),
    Column("segment_mic", 16, "Segment MIC code",
           "fill: LastMkt (30); else ExDestination (100); else XOFF"),
    Column("instrument_id", 18, "Financial instrument identification code",
           "ISIN (48) of the event"),
    Column("date_of_receipt", 19, "Date of receipt",
           "UTC date of the order's first event"),
    Column("order_id", 20, "Order identification code",
           "OrderID (37); blank for an order rejected before booking"),
    Column("client_order_id", None, "ClOrdID", "ClOrdID (11) of the event"),
    Column("child_order_id", None, "Child order", "a transmission to a venue: the child "
           "order's ClOrdID there (its segment MIC in field 16, its time in field 9)"),
    Column("orig_client_order_id", None, "OrigClOrdID", "OrigClOrdID (41) of the event"),
    Column("exec_id", None, "ExecID", "ExecID (17) of the client's ExecutionReport"),
    Column("event_type", 21, "New order, order modification, order cancellation, order "
           "rejections, partial or complete execution",
           "ExecType (150): NEWO REME CAME CAMO REMO EXPI PARF FILL"),
    Column("order_type", 22, "Order type", "OrdType (40): LIMIT, MARKET"),
    Column("order_type_classification", 23, "Order type classification",
           "LMTO for limit orders; blank for market orders"),
    Column("limit_price", 24, "Limit price", "Price (44) of a limit order"),
    Column("transaction_price", 28, "Transaction price", "LastPx (31) of a fill"),
    Column("price_currency", 29, "Price currency", "Currency (15): the instrument's"),
    Column("price_notation", 31, "Price notation", "MONE"),
    Column("buy_sell", 32, "Buy-sell indicator", "Side (54): BUYI, SELL (short sales too)"),
    Column("quantity_notation", 34, "Quantity notation", "UNIT"),
    Column("initial_quantity", 36, "Initial quantity", "OrderQty (38) after the event"),
    Column("remaining_quantity", 37, "Remaining quantity including hidden",
           "LeavesQty (151)"),
    Column("traded_quantity", 39, "Traded quantity", "LastQty (32) of a fill"),
    Column("executed_quantity", None, "Executed quantity", "CumQty (14)"),
    Column("trading_venue_transaction_id", 48, "Trading venue transaction identification "
           "code", "the venue's ExecID (17) of the fill"),
    Column("short_selling_indicator", None, "Short selling indicator (RTS 22 field 62)",
           "Side (54) of a sell: 5 SESH, 6 SSEX, 2 SELL when the account flags its short "
           "sales (flags_short_sales), else UNDI (as RTS 22 rule SHORT)"),
    Column("text", None, "Text", "Text (58) of the event (why it was rejected, cancelled)"),
)  # fmt: skip
FIELDNAMES = tuple(c.name for c in COLUMNS)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CLIENT_TEXT = frozenset(
    {
        "account",
        "client_order_id",
        "orig_client_order_id",
        "investment_decision_within_firm",
        "execution_within_firm",
        "text",
    }
)

Record = dict[str, Any]


@dataclass(slots=True)
class _OrderData:
    """What the order carries as of an event: its MiFID II data and history."""

    received: datetime | None = None
    decision_maker: Within | None = None
    executing_trader: Within | None = None
    capacity: str | None = None
    ex_destination: str | None = None
    known: bool = False
    cancel_requests: set[str] = field(default_factory=set)
    account: str | None = None
    currency: str | None = None

    def take(self, event: dict[str, Any]) -> None:
        if self.received is None:
            self.received = parse_utc(event["transact_time"])
        exec_type = event.get("exec_type")
        if exec_type == "6":
            self.cancel_requests.add(event["cl_ord_id"])
        if exec_type in ("0", "5") and "decision_maker" in event:
            self.decision_maker = _party_id(event.get("decision_maker"))
            self.executing_trader = _party_id(event.get("executing_trader"))
            self.capacity = event.get("order_capacity")
            self.ex_destination = event.get("ex_destination")
            self.known = True
        self.account = event.get("account") or self.account
        self.currency = event.get("currency") or self.currency


@dataclass(frozen=True, slots=True)
class Within:
    """A decision maker or executing trader as the order carried it: the short code (PartyID
    448) and the PartyRoleQualifier (2376) saying whether it is an algorithm or a person."""

    code: str
    qualifier: int | None = None


def _party_id(value: object) -> Within | None:
    if not isinstance(value, dict) or not value.get("party_id"):
        return None
    qualifier = value.get("qualifier")
    return Within(str(value["party_id"]), int(qualifier) if qualifier is not None else None)


def client_identification(record: AccountRecord | None) -> str | None:
    """Field 3: a legal person's LEI, a natural person's national client identifier."""
    if record is None:
        return None
    return record.lei if record.kind == "legal" else record.national_id


def event_type(event: dict[str, Any], data: _OrderData) -> str:
    """Field 21 for a recorded ExecutionReport (see the module docstring)."""
    exec_type = event["exec_type"]
    if exec_type == "F":
        return "FILL" if Decimal(event["cum_qty"]) >= Decimal(event["order_qty"]) else "PARF"
    if exec_type == "4":
        return "CAME" if event.get("cl_ord_id") in data.cancel_requests else "CAMO"
    return EVENT_TYPES[exec_type]


# -- orders never booked: their data from the NewOrderSingle --------------------------------


def _message_data(raw: str, account: AccountRecord | None) -> _OrderData:
    """The MiFID II data a NewOrderSingle carries (Parties 453, OrderCapacity 528,
    ExDestination 100), completed from the Account's defaults as the gateway's check
    completes it."""
    data = _OrderData(known=True)
    parties: dict[int, Within] = {}
    party: str | None = None
    role: int | None = None
    values: dict[str, str] = {}
    for tag, value in fix_pairs(raw):
        if tag == "448":
            party, role = value, None
        elif tag == "452" and party is not None and value.isdigit():
            role = int(value)
            parties.setdefault(role, Within(party))
        elif (
            tag == "2376"
            and role is not None
            and value.isdigit()
            and parties.get(role) == Within(party or "")
        ):
            # The qualifier follows the role inside the party's entry (FIX Parties).
            parties[role] = Within(party or "", int(value))
        values.setdefault(tag, value)
    data.decision_maker = parties.get(DECISION_MAKER)
    data.executing_trader = parties.get(EXECUTING_TRADER)
    data.capacity = values.get("528")
    data.ex_destination = values.get("100")
    if account is not None:
        if data.decision_maker is None and account.decision_maker is not None:
            default = account.decision_maker
            data.decision_maker = Within(default.id, default.qualifier)
        if data.executing_trader is None and account.executing_trader is not None:
            default = account.executing_trader
            data.executing_trader = Within(default.id, default.qualifier)
        data.capacity = data.capacity or account.order_capacity
    return data


def _new_order_messages(
    conn: Connection, rejects: Sequence[tuple[JournalEntry, dict[str, Any]]]
) -> dict[tuple[str, str], list[JournalEntry]]:
    """The NewOrderSingles the rejected orders came from, by (session, ClOrdID)."""
    if not rejects:
        return {}
    sessions = sorted({ev["session"] for _, ev in rejects})
    found: dict[tuple[str, str], list[JournalEntry]] = {}
    for m in read_journal(
        conn,
        kind_in(FIX_IN),
        JournalRow.session.in_(sessions),
        JournalRow.ts >= min(e.ts for e, _ in rejects) - COMMIT_LAG,
        JournalRow.ts <= max(e.ts for e, _ in rejects),
        JournalRow.payload.contains(f"{SOH}35=D{SOH}", autoescape=True),
    ):
        values = first_values(fix_pairs(m.payload))
        if "11" in values and m.session is not None:
            found.setdefault((m.session, values["11"]), []).append(m)
    return found


# -- the records -------------------------------------------------------------------------


def _record(
    entry: JournalEntry,
    event: dict[str, Any],
    data: _OrderData,
    accounts: Mapping[str, AccountRecord],
    firm_lei: str,
    fill: VenueFill | None,
) -> Record:
    exec_type = event["exec_type"]
    is_fill = exec_type == "F"
    ord_type = event.get("ord_type")
    side = event.get("side")
    order_id = event.get("order_id")
    received = data.received or parse_utc(event["transact_time"])
    segment = (event.get("last_mkt") if is_fill else None) or data.ex_destination or OFF_VENUE
    account = accounts.get(event.get("account") or "")
    flags = account is not None and account.flags_short_sales
    trade_id = event.get("venue_trade_id") if is_fill else None
    return {
        "sequence_number": entry.seq,
        "submitting_entity_id": firm_lei,
        "dea": "false",
        "client_id": client_identification(accounts.get(event.get("account") or "")),
        "account": event.get("account"),
        "investment_decision_within_firm": data.decision_maker,
        "execution_within_firm": data.executing_trader,
        "trading_capacity": TRADING_CAPACITY.get(data.capacity or ""),
        "liquidity_provision": "false",
        "date_time": utc_iso(parse_utc(event["transact_time"])),
        "validity_period": VALIDITY.get(event.get("time_in_force") or ""),
        "order_restriction": None,
        "segment_mic": segment,
        "instrument_id": event.get("isin"),
        "date_of_receipt": received.date().isoformat(),
        "order_id": None if order_id in (None, NONE_ID) else order_id,
        "client_order_id": event.get("cl_ord_id"),
        "child_order_id": None,
        "orig_client_order_id": event.get("orig_cl_ord_id"),
        "exec_id": event.get("exec_id"),
        "event_type": event_type(event, data),
        "order_type": ORDER_TYPE.get(ord_type or ""),
        "order_type_classification": CLASSIFICATION.get(ord_type or ""),
        "limit_price": event.get("price") if ord_type == "2" else None,
        "transaction_price": event.get("last_px") if is_fill else None,
        "price_currency": event.get("currency"),
        "price_notation": "MONE",
        "buy_sell": BUY_SELL.get(side or ""),
        "quantity_notation": "UNIT",
        "initial_quantity": event.get("order_qty"),
        "remaining_quantity": event.get("leaves_qty"),
        "traded_quantity": event.get("last_qty") if is_fill else None,
        "executed_quantity": event.get("cum_qty"),
        # The venue's TrdMatchID as journaled with the fill; a journal from before it was
        # kept falls back to the venue fill paired with this one.
        "trading_venue_transaction_id": trade_id or (fill.exec_id if fill else None),
        "short_selling_indicator": short_selling_indicator(side or "", "", flags)
        if side in ("2", "5", "6")
        else None,
        "text": event.get("text"),
    }


def _child_record(
    entry: JournalEntry,
    event: dict[str, Any],
    parent: _OrderData,
    accounts: Mapping[str, AccountRecord],
    firm_lei: str,
    mics: Mapping[str, str],
) -> Record:
    """A child order sent to a venue: the firm's transmission of its client's order (NEWO
    at the venue's segment), linked by OrderID to the client order."""
    account = accounts.get(parent.account or "")
    side = event.get("side")
    flags = account is not None and account.flags_short_sales
    ord_type = event.get("ord_type")
    sent_at = parse_utc(event["transact_time"])
    return {
        "sequence_number": entry.seq,
        "submitting_entity_id": firm_lei,
        "dea": "false",
        "client_id": client_identification(account),
        "account": parent.account,
        "investment_decision_within_firm": parent.decision_maker,
        "execution_within_firm": parent.executing_trader,
        "trading_capacity": TRADING_CAPACITY.get(parent.capacity or ""),
        "liquidity_provision": "false",
        "date_time": utc_iso(sent_at),
        "validity_period": VALIDITY.get(event.get("time_in_force") or ""),
        "order_restriction": None,
        "segment_mic": mics.get(str(event.get("venue"))),
        "instrument_id": event.get("isin"),
        "date_of_receipt": (parent.received or parse_utc(event["transact_time"]))
        .date()
        .isoformat(),
        "order_id": event.get("order_id"),
        "client_order_id": None,
        "child_order_id": event.get("child_id"),
        "orig_client_order_id": None,
        "exec_id": None,
        "event_type": "NEWO",
        "order_type": ORDER_TYPE.get(ord_type or ""),
        "order_type_classification": CLASSIFICATION.get(ord_type or ""),
        "limit_price": event.get("price") if ord_type == "2" else None,
        "transaction_price": None,
        "price_currency": parent.currency,
        "price_notation": "MONE",
        "buy_sell": BUY_SELL.get(side or ""),
        "quantity_notation": "UNIT",
        "initial_quantity": event.get("quantity"),
        "remaining_quantity": event.get("quantity"),
        "traded_quantity": None,
        "executed_quantity": "0",
        "trading_venue_transaction_id": None,
        "short_selling_indicator": short_selling_indicator(side or "", "", flags)
        if side in ("2", "5", "6")
        else None,
        "text": None,
    }


def order_records(
    engine: Engine,
    start: datetime,
    end: datetime,
    accounts: Mapping[str, AccountRecord],
    firm_lei: str,
    held: list[str] | None = None,
    venue_mics: Mapping[str, str] | None = None,
    people: Mapping[str, PersonRecord] | None = None,
) -> list[Record]:
    """Every order event with TransactTime in [start, end) as an RTS 24 record, in journal
    order, and every transmission of a child order to a venue in the window (venue_mics:
    venue name -> MIC, its segment). Reads the window's ExecutionReports and child orders
    (journal ts index), the history of the orders they belong to (order_id index), the
    venues' fills in the window and the NewOrderSingles of orders rejected before
    booking. people (config/people.toml, revealed): the long codes of fields 4 and 5."""
    mics = dict(venue_mics or {})
    sent: set[int] = set()
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    with engine.connect() as conn:
        window: dict[int, tuple[JournalEntry, dict[str, Any]]] = {}
        transmitted: set[str] = set()
        for e in read_journal(
            conn,
            kind_in("ExecutionReport", "ChildOrderSent"),
            JournalRow.ts >= start,
            JournalRow.ts < end + COMMIT_LAG,
        ):
            ev = orjson.loads(e.payload)
            if e.kind == "ChildOrderSent":
                if start <= parse_utc(ev["transact_time"]) < end:
                    sent.add(e.seq)
                    transmitted.add(str(ev["order_id"]))
                continue
            if ev.get("exec_type") == "8" and ev.get("ord_status") != "8":
                # A duplicate ClOrdID refused with the existing order's status (FIX 4.4 Vol 4
                # F.1.b): the existing order is unchanged; the refused request is recorded
                # as an order rejected before booking, with the terms of its own message.
                ev = {**ev, "order_id": NONE_ID, "ord_status": "8", "duplicate": True}
            if ev.get("exec_type") in RECORDED and start <= parse_utc(ev["transact_time"]) < end:
                window[e.seq] = (e, ev)
        order_ids = ({ev["order_id"] for _, ev in window.values()} | transmitted) - {NONE_ID}
        history = [
            (e, orjson.loads(e.payload))
            for e in events_of_orders(
                conn, order_ids, ("ExecutionReport", "ChildOrderSent", "ChildCancelSent")
            )
        ]
        unbooked = [(e, ev) for e, ev in window.values() if ev["order_id"] == NONE_ID]
        booked_rejects = [
            (e, ev)
            for e, ev in window.values()
            if ev["order_id"] != NONE_ID and ev["exec_type"] == "8"
        ]
        new_orders = _new_order_messages(conn, unbooked + booked_rejects)
        fills = _venue_fills(conn, start, end, history) if _has_fills(window) else {}
    paired = _pair_fills(history, fills)
    records: list[Record] = []
    orders: dict[str, _OrderData] = {}
    for e, ev in heapq.merge(history, sorted(unbooked, key=lambda x: x[0].seq), key=_seq):
        if e.kind == "ChildOrderSent" and e.seq in sent:
            parent = orders.get(str(ev["order_id"]), _OrderData())
            records.append(_child_record(e, ev, parent, accounts, firm_lei, mics))
            continue
        if e.kind != "ExecutionReport":
            continue
        if ev["order_id"] == NONE_ID:
            data = _OrderData()
        else:
            data = orders.setdefault(ev["order_id"], _OrderData())
        data.take(ev)
        if e.seq not in window:
            continue
        if not data.known:
            message = _message_before(new_orders, ev, e.seq)
            if message is not None:
                recorded = _message_data(message.payload, accounts.get(ev.get("account") or ""))
                data.decision_maker, data.executing_trader = (
                    recorded.decision_maker,
                    recorded.executing_trader,
                )
                data.capacity, data.ex_destination = recorded.capacity, recorded.ex_destination
                if ev.get("duplicate"):
                    values = first_values(fix_pairs(message.payload))
                    ev = {**ev, "order_qty": values.get("38"), "price": values.get("44")}
        try:
            records.append(_record(e, ev, data, accounts, firm_lei, paired.get(e.seq)))
        except Exception as exc:  # one event never stops the day's records
            if held is None:
                raise
            held.append(f"journal row {e.seq} ({ev.get('cl_ord_id')}): {type(exc).__name__}: {exc}")
    for record in records:
        _within_firm(record, people or {})
    return records


def _within_firm(record: Record, people: Mapping[str, PersonRecord]) -> None:
    """Fields 4 and 5 as the long codes RTS 22 reports (fields 57 and 59), by the rule
    RTS 22 applies: an algorithm (PartyRoleQualifier 22) by its code, a person by the
    national identifier config/people.toml gives; a code that is neither (a person missing
    from people.toml, a code with no qualifier nobody knows) is left blank, never reported
    as if it were a long code. The short codes the venues got stay beside them."""
    for field_name, short_name in (
        ("investment_decision_within_firm", "investment_decision_short_code"),
        ("execution_within_firm", "execution_short_code"),
    ):
        within: Within | None = record[field_name]
        record[short_name] = within.code if within is not None else None
        record[field_name] = long_code(within, people)


def long_code(within: Within | None, people: Mapping[str, PersonRecord]) -> str | None:
    """The long code of a decision maker or executing trader (see _within_firm)."""
    if within is None:
        return None
    if within.qualifier == ALGORITHM:
        return within.code
    person = people.get(within.code)
    return person.national_id if person is not None else None


def unresolved_codes(records: Sequence[Record]) -> list[str]:
    """The short codes of fields 4 and 5 left without a long code, each once."""
    found: dict[str, None] = {}
    for record in records:
        for field_name, short_name in (
            ("investment_decision_within_firm", "investment_decision_short_code"),
            ("execution_within_firm", "execution_short_code"),
        ):
            if record[field_name] is None and record[short_name] is not None:
                found.setdefault(record[short_name])
    return list(found)


def _seq(item: tuple[JournalEntry, dict[str, Any]]) -> int:
    return item[0].seq


def _has_fills(window: Mapping[int, tuple[JournalEntry, dict[str, Any]]]) -> bool:
    return any(ev["exec_type"] == "F" for _, ev in window.values())


def _message_before(
    messages: Mapping[tuple[str, str], list[JournalEntry]], event: dict[str, Any], seq: int
) -> JournalEntry | None:
    """The last NewOrderSingle with the event's ClOrdID journaled before it."""
    before = [m for m in messages.get((event["session"], event["cl_ord_id"]), ()) if m.seq < seq]
    return before[-1] if before else None


def _venue_fills(
    conn: Connection,
    start: datetime,
    end: datetime,
    history: Sequence[tuple[JournalEntry, dict[str, Any]]],
) -> dict[str, list[VenueFill]]:
    """The venues' Trade reports in the window about the orders' children, by OrderID."""
    owner: dict[str, str] = {}
    for e, ev in history:
        if e.kind in ("ChildOrderSent", "ChildCancelSent"):
            for key in ("child_id", "orig_child_id"):
                if ev.get(key):
                    owner[ev[key]] = ev["order_id"]
    if not owner:
        return {}
    children = set(owner)
    by_order: dict[str, list[VenueFill]] = {}
    for m in read_journal(
        conn,
        kind_in(FIX_IN),
        JournalRow.ts >= start - COMMIT_LAG,
        JournalRow.ts < end + COMMIT_LAG,
        JournalRow.payload.contains(f"{SOH}150=F{SOH}", autoescape=True),
    ):
        f = venue_fill(m, children)
        if f is not None:
            by_order.setdefault(owner[f.child_id], []).append(f)
    return by_order


def _pair_fills(
    history: Sequence[tuple[JournalEntry, dict[str, Any]]],
    fills: Mapping[str, Sequence[VenueFill]],
) -> dict[int, VenueFill]:
    trades: dict[str, list[tuple[int, Decimal, Decimal]]] = {}
    for e, ev in history:
        if e.kind == "ExecutionReport" and ev.get("exec_type") == "F" and ev.get("last_qty"):
            trades.setdefault(ev["order_id"], []).append(
                (e.seq, Decimal(ev["last_qty"]), Decimal(ev["last_px"]))
            )
    paired: dict[int, VenueFill] = {}
    for order_id, order_trades in trades.items():
        paired.update(match_fills(order_trades, fills.get(order_id, ())))
    return paired


# -- output ------------------------------------------------------------------------------


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if name in _CLIENT_TEXT and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_csv(records: Iterable[Record], out: TextIO) -> int:
    """The records as CSV (RFC 4180, header row); returns how many."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDNAMES)
    count = 0
    for r in records:
        writer.writerow([_cell(name, r.get(name)) for name in FIELDNAMES])
        count += 1
    return count


def to_json(records: Sequence[Record]) -> str:
    """The records as a JSON list of objects (keys as the CSV header)."""
    return json.dumps(list(records), indent=2, ensure_ascii=False) + "\n"


def render(records: Sequence[Record], fmt: str) -> str:
    if fmt == "json":
        return to_json(records)
    buffer = io.StringIO()
    write_csv(records, buffer)
    return buffer.getvalue()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_rts24(
    config: QtinfraConfig, start: datetime, end: datetime, fmt: str, out: Path | None
) -> int:
    """`qtinfra reports rts24`: the order records with TransactTime in [start, end) (UTC;
    a naive time is taken as UTC) as CSV or JSON, to out (written whole or not at all) or
    stdout. 0 written, 2 bad arguments or the journal could not be read."""
    from sqlalchemy.engine import make_url

    from qtinfra.store.db import make_engine
    from qtinfra.store.privacy import PersonalDataError, reveal_config

    start, end = _utc(start), _utc(end)
    if fmt not in ("csv", "json"):
        print(f"qtinfra: unknown format {fmt!r}: use csv or json", file=sys.stderr)
        return 2
    if end <= start:
        print(f"qtinfra: --to {utc_iso(end)} is not after --from {utc_iso(start)}", file=sys.stderr)
        return 2
    try:
        # Personal data is sealed at rest; it is revealed here, for the report only.
        revealed = reveal_config(config)
        accounts, people = revealed.account_map(), revealed.person_map()
    except PersonalDataError as exc:
        print(f"qtinfra: cannot read the clients' identifiers: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(config.database_url)
    try:
        held: list[str] = []
        mics = {v.name: v.mic for v in config.venues}
        records = order_records(engine, start, end, accounts, config.firm.lei, held, mics, people)
    except SQLAlchemyError as exc:
        url = make_url(config.database_url).render_as_string(hide_password=True)
        print(f"qtinfra: cannot read the journal at {url}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    missing = {r["account"] or "" for r in records if r["client_id"] is None}
    if missing:
        why = []
        if missing - {""}:
            why.append(f"Accounts {', '.join(sorted(missing - {''}))} are not in accounts.toml")
        if "" in missing:
            why.append("some events carry no Account")
        print(
            f"qtinfra: client identification code (field 3) left blank: {'; '.join(why)}",
            file=sys.stderr,
        )
    unresolved = unresolved_codes(records)
    if unresolved:
        print(
            "qtinfra: fields 4/5 left blank for "
            f"{', '.join(unresolved)}: neither an algorithm (PartyRoleQualifier 22) nor a "
            "person in config/people.toml",
            file=sys.stderr,
        )
    for reason in held:
        print(f"qtinfra: RTS 24 record held back, the others written: {reason}", file=sys.stderr)
    body = render(records, fmt)
    if out is None:
        sys.stdout.write(body)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.writing")
    tmp.write_text(body, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
    os.replace(tmp, out)
    print(
        f"RTS 24: {len(records)} order records with TransactTime from {utc_iso(start)} "
        f"to {utc_iso(end)} written to {out}"
    )
    return 0
