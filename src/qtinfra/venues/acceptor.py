"""The FIX 4.4 acceptor of a simulated venue: decodes orders, runs the engine, sends reports.

QuickFIX calls back on its own threads; the callbacks only decode into venue commands and
hand them to the VenueSequencer, which owns the engine. Every callback catches whatever
goes wrong, logs it and answers the counterparty: an exception escaping a callback would
end the process (`Py_Exit(1)` in the binding).

Run one venue with `python -m qtinfra.venues.acceptor NAME [--config-dir DIR]` or
`run_venue(config, name, stop)`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import TypeVar

import quickfix as fix
import quickfix44 as fix44
import structlog

from qtinfra.config import QtinfraConfig, VenueConfig, load_config
from qtinfra.domain.values import OrdType, Side, TimeInForce, utc_now
from qtinfra.errors import QtinfraError, ValidationError
from qtinfra.fix import wire
from qtinfra.fix.settings import SettingsFile
from qtinfra.fix.wire import fmt_decimal, fmt_time, ord_rej_reason
from qtinfra.venues import trade_capture
from qtinfra.venues.book import Depth
from qtinfra.venues.simulator import (
    CancelOrder,
    CancelReject,
    ExecReport,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    VenueCommand,
    VenueEngine,
    VenueReport,
    VenueSequencer,
)
from qtinfra.venues.trades import TradeQueryAck

log = structlog.get_logger(__name__)

MARKET_DATA_INTERVAL = 0.05
"""Seconds between market data snapshots of one symbol at most (coalescing)."""

# Tags (FIX 4.4).
_ACCOUNT = 1
_AVG_PX = 6
_CL_ORD_ID = 11
_COMMISSION = 12
_COMM_TYPE = 13
_CUM_QTY = 14
_EXEC_ID = 17
_LAST_MKT = 30
_LAST_PX = 31
_LAST_QTY = 32
_MSG_SEQ_NUM = 34
_MSG_TYPE = 35
_ORDER_ID = 37
_ORDER_QTY = 38
_ORD_STATUS = 39
_ORD_TYPE = 40
_ORIG_CL_ORD_ID = 41
_PRICE = 44
_REF_SEQ_NUM = 45
_SECURITY_ID = 48
_SIDE = 54
_SYMBOL = 55
_TEXT = 58
_ORDER_CAPACITY = 528
_TRD_MATCH_ID = 880
_LAST_LIQUIDITY_IND = 851
_TIME_IN_FORCE = 59
_TRANSACT_TIME = 60
_SECURITY_ID_SOURCE = 22
_CXL_REJ_REASON = 102
_ORD_REJ_REASON = 103
_EXEC_TYPE = 150
_LEAVES_QTY = 151
_MD_REQ_ID = 262
_SUBSCRIPTION_REQUEST_TYPE = 263
_MARKET_DEPTH = 264
_MD_ENTRY_TYPE = 269
_MD_ENTRY_PX = 270
_MD_ENTRY_SIZE = 271
_MD_REQ_REJ_REASON = 281
_NO_RELATED_SYM = 146
_NO_MD_ENTRY_TYPES = 267
_MD_ENTRY_POSITION_NO = 290
_NUMBER_OF_ORDERS = 346
_REF_MSG_TYPE = 372
_BUSINESS_REJECT_REASON = 380
_CXL_REJ_RESPONSE_TO = 434

_ISIN = "4"  # SecurityIDSource (22)
_COMM_TYPE_ABSOLUTE = "3"
_BIZ_REJECT_OTHER = "0"
_BIZ_REJECT_UNSUPPORTED_MSG_TYPE = "3"
# MDReqRejReason (281), FIX 4.4.
_MD_REJ_UNKNOWN_SYMBOL = "0"
_MD_REJ_DUPLICATE_ID = "1"
_MD_REJ_UNSUPPORTED_SUBSCRIPTION = "4"
_MD_REJ_UNSUPPORTED_DEPTH = "5"
_MD_REJ_UNSUPPORTED_ENTRY_TYPE = "8"
_BID = "0"
_OFFER = "1"


def _optional(message: fix.Message, tag: int) -> str | None:
    return message.getField(tag) if message.isSetField(tag) else None


def _required(message: fix.Message, tag: int, name: str) -> str:
    value = _optional(message, tag)
    if value is None or value == "":
        raise ValidationError(f"missing {name} ({tag})")
    return value


def _decimal(text: str, name: str, tag: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{name} ({tag}) {text!r} is not a number") from None
    if not value.is_finite():
        raise ValidationError(f"{name} ({tag}) {text!r} is not a number")
    return value


_E = TypeVar("_E", Side, OrdType, TimeInForce)


def _enum(kind: type[_E], text: str, name: str, tag: int) -> _E:
    try:
        return kind(text)
    except ValueError:
        allowed = "/".join(m.value for m in kind)
        raise ValidationError(
            f"unsupported {name} ({tag}) {text!r} (accepted: {allowed})"
        ) from None


def _check_mifid_order_data(message: fix.Message) -> None:
    """An EU venue takes an order only with the member's MiFID II order data (RTS 24):
    OrderCapacity (528), the client as a numeric short code (PartyRole 3, PartyIDSource P)
    and the execution within the firm (PartyRole 12); the investment decision (122) is
    optional (absent when the client decided). ValidationError names what is missing."""
    roles: dict[str, tuple[str, str | None]] = {}
    party_id: str | None = None
    source: str | None = None
    for tag, value in wire.split(message.toString()):
        if tag == 448:
            party_id, source = value, None
        elif tag == 447:
            source = value
        elif tag == 452 and party_id is not None:
            roles[value] = (party_id, source)
    missing = []
    if _optional(message, _ORDER_CAPACITY) not in ("A", "P", "R"):
        missing.append("OrderCapacity (528) A, P or R")
    client = roles.get("3")
    if client is None or client[1] != "P" or not client[0].isdigit():
        missing.append("the client's short code (PartyRole 3, PartyIDSource P, numeric)")
    if "12" not in roles:
        missing.append("the execution within the firm (PartyRole 12)")
    if missing:
        raise ValidationError("MiFID II order data missing: " + "; ".join(missing))


def decode_new_order(message: fix.Message, owner: str) -> NewOrder:
    """NewOrderSingle (D) into a venue command; ValidationError says what is wrong."""
    cl_ord_id = _required(message, _CL_ORD_ID, "ClOrdID")
    security_id = _optional(message, _SECURITY_ID)
    if security_id is not None:
        source = _optional(message, _SECURITY_ID_SOURCE)
        if source != _ISIN:
            raise ValidationError(f"SecurityIDSource (22) must be 4 (ISIN), got {source!r}")
    price = _optional(message, _PRICE)
    tif = _optional(message, _TIME_IN_FORCE)
    _check_mifid_order_data(message)
    return NewOrder(
        owner=owner,
        cl_ord_id=cl_ord_id,
        symbol=_required(message, _SYMBOL, "Symbol"),
        side=_enum(Side, _required(message, _SIDE, "Side"), "Side", _SIDE),
        quantity=_decimal(_required(message, _ORDER_QTY, "OrderQty"), "OrderQty", _ORDER_QTY),
        ord_type=_enum(OrdType, _required(message, _ORD_TYPE, "OrdType"), "OrdType", _ORD_TYPE),
        price=None if price is None else _decimal(price, "Price", _PRICE),
        time_in_force=TimeInForce.DAY
        if tif is None
        else _enum(TimeInForce, tif, "TimeInForce", _TIME_IN_FORCE),
        security_id=security_id,
    )


def decode_cancel(message: fix.Message, owner: str) -> CancelOrder:
    """OrderCancelRequest (F) into a venue command."""
    return CancelOrder(
        owner=owner,
        cl_ord_id=_required(message, _CL_ORD_ID, "ClOrdID"),
        orig_cl_ord_id=_required(message, _ORIG_CL_ORD_ID, "OrigClOrdID"),
        symbol=_required(message, _SYMBOL, "Symbol"),
        side=_enum(Side, _required(message, _SIDE, "Side"), "Side", _SIDE),
        order_id=_optional(message, _ORDER_ID),
    )


def decode_replace(message: fix.Message, owner: str) -> ReplaceOrder:
    """OrderCancelReplaceRequest (G) into a venue command."""
    price = _optional(message, _PRICE)
    tif = _optional(message, _TIME_IN_FORCE)
    return ReplaceOrder(
        owner=owner,
        cl_ord_id=_required(message, _CL_ORD_ID, "ClOrdID"),
        orig_cl_ord_id=_required(message, _ORIG_CL_ORD_ID, "OrigClOrdID"),
        symbol=_required(message, _SYMBOL, "Symbol"),
        side=_enum(Side, _required(message, _SIDE, "Side"), "Side", _SIDE),
        quantity=_decimal(_required(message, _ORDER_QTY, "OrderQty"), "OrderQty", _ORDER_QTY),
        ord_type=_enum(OrdType, _required(message, _ORD_TYPE, "OrdType"), "OrdType", _ORD_TYPE),
        price=None if price is None else _decimal(price, "Price", _PRICE),
        time_in_force=None if tif is None else _enum(TimeInForce, tif, "TimeInForce", 59),
        order_id=_optional(message, _ORDER_ID),
    )


def decode_status_request(message: fix.Message, owner: str) -> StatusRequest:
    """OrderStatusRequest (H) into a venue command."""
    return StatusRequest(
        owner=owner,
        cl_ord_id=_required(message, _CL_ORD_ID, "ClOrdID"),
        symbol=_required(message, _SYMBOL, "Symbol"),
        side=_enum(Side, _required(message, _SIDE, "Side"), "Side", _SIDE),
    )


def encode_execution_report(report: ExecReport) -> fix.Message:
    msg = fix44.ExecutionReport()
    msg.setField(_ORDER_ID, report.order_id)
    msg.setField(_CL_ORD_ID, report.cl_ord_id)
    if report.orig_cl_ord_id is not None:
        msg.setField(_ORIG_CL_ORD_ID, report.orig_cl_ord_id)
    msg.setField(_EXEC_ID, report.exec_id)
    msg.setField(_EXEC_TYPE, report.exec_type.value)
    msg.setField(_ORD_STATUS, report.ord_status.value)
    if report.ord_rej_reason is not None:
        msg.setField(_ORD_REJ_REASON, ord_rej_reason(report.ord_rej_reason.value, fix44=True))
    msg.setField(_SYMBOL, report.symbol)
    if report.security_id is not None:
        msg.setField(_SECURITY_ID, report.security_id)
        msg.setField(_SECURITY_ID_SOURCE, _ISIN)
    msg.setField(_SIDE, report.side.value)
    if report.order_qty is not None:
        msg.setField(_ORDER_QTY, fmt_decimal(report.order_qty))
    if report.ord_type is not None:
        msg.setField(_ORD_TYPE, report.ord_type.value)
    if report.price is not None:
        msg.setField(_PRICE, fmt_decimal(report.price))
    if report.time_in_force is not None:
        msg.setField(_TIME_IN_FORCE, report.time_in_force.value)
    if report.last_qty is not None and report.last_px is not None:
        msg.setField(_LAST_QTY, fmt_decimal(report.last_qty))
        msg.setField(_LAST_PX, fmt_decimal(report.last_px))
        if report.last_mkt is not None:
            msg.setField(_LAST_MKT, report.last_mkt)
        if report.commission is not None:
            msg.setField(_COMMISSION, fmt_decimal(report.commission))
            msg.setField(_COMM_TYPE, _COMM_TYPE_ABSOLUTE)
        if report.trade_id is not None:
            msg.setField(_TRD_MATCH_ID, report.trade_id)
        if report.liquidity is not None:
            msg.setField(_LAST_LIQUIDITY_IND, report.liquidity)
    msg.setField(_LEAVES_QTY, fmt_decimal(report.leaves_qty))
    msg.setField(_CUM_QTY, fmt_decimal(report.cum_qty))
    msg.setField(_AVG_PX, fmt_decimal(report.avg_px))
    msg.setField(_TRANSACT_TIME, fmt_time(report.transact_time))
    if report.text is not None:
        msg.setField(_TEXT, report.text)
    return msg


def encode_cancel_reject(report: CancelReject) -> fix.Message:
    msg = fix44.OrderCancelReject()
    msg.setField(_ORDER_ID, report.order_id)
    msg.setField(_CL_ORD_ID, report.cl_ord_id)
    msg.setField(_ORIG_CL_ORD_ID, report.orig_cl_ord_id)
    msg.setField(_ORD_STATUS, report.ord_status.value)
    msg.setField(_TRANSACT_TIME, fmt_time(report.transact_time))
    msg.setField(_CXL_REJ_RESPONSE_TO, report.response_to.value)
    msg.setField(_CXL_REJ_REASON, report.reason.value)
    msg.setField(_TEXT, report.text)
    return msg


def encode_snapshot(
    md_req_id: str, symbol: str, isin: str, depth: Depth, bids: bool, offers: bool
) -> fix.Message:
    """MarketDataSnapshotFullRefresh (W): bids then offers, best first, positions from 1."""
    msg = fix44.MarketDataSnapshotFullRefresh()
    msg.setField(_MD_REQ_ID, md_req_id)
    msg.setField(_SYMBOL, symbol)
    msg.setField(_SECURITY_ID, isin)
    msg.setField(_SECURITY_ID_SOURCE, _ISIN)
    sides = ((_BID, depth.bids if bids else ()), (_OFFER, depth.asks if offers else ()))
    for entry_type, levels in sides:
        for position, level in enumerate(levels, 1):
            group = fix44.MarketDataSnapshotFullRefresh.NoMDEntries()
            group.setField(_MD_ENTRY_TYPE, entry_type)
            group.setField(_MD_ENTRY_PX, fmt_decimal(level.price))
            group.setField(_MD_ENTRY_SIZE, fmt_decimal(level.quantity))
            group.setField(_NUMBER_OF_ORDERS, str(level.order_count))
            group.setField(_MD_ENTRY_POSITION_NO, str(position))
            msg.addGroup(group)
    return msg


@dataclass
class _Subscription:
    owner: str
    md_req_id: str
    symbols: tuple[str, ...]
    depth: int
    bids: bool
    offers: bool
    last_sent: dict[str, Depth] = field(default_factory=dict)


class VenueApplication(fix.Application):  # type: ignore[misc]
    """The quickfix.Application of one venue simulator process."""

    def __init__(self, venue: VenueConfig, engine: VenueEngine) -> None:
        super().__init__()
        self.venue = venue
        self._sessions: dict[str, fix.SessionID] = {}
        self._sequencer = VenueSequencer(engine, self._send_reports, venue.latency_ms)
        self._isins = {s: b.instrument.isin for s, b in engine.books.items()}
        self._subscriptions: dict[tuple[str, str], _Subscription] = {}
        self._md_stop = threading.Event()
        self._md_thread: threading.Thread | None = None
        self._adhoc_ids = itertools.count(1)
        self._handlers: dict[str, Callable[[fix.Message, str, fix.SessionID], None]] = {
            "D": self._on_new_order,
            "F": self._on_cancel,
            "G": self._on_replace,
            "H": self._on_status,
            "V": self._on_market_data_request,
            "AD": self._on_trade_query,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._sequencer.start()
        self._md_stop.clear()
        self._md_thread = threading.Thread(
            target=self._market_data_loop, name=f"venue-{self.venue.name}-md", daemon=True
        )
        self._md_thread.start()

    def stop(self) -> None:
        self._md_stop.set()
        if self._md_thread is not None:
            self._md_thread.join(timeout=5)
            self._md_thread = None
        self._sequencer.stop()

    # -- quickfix.Application --------------------------------------------------------------

    def onCreate(self, sessionID: fix.SessionID) -> None:
        try:
            self._sessions[sessionID.toString()] = sessionID
        except Exception:
            log.exception("venue onCreate failed", venue=self.venue.name)

    def onLogon(self, sessionID: fix.SessionID) -> None:
        with contextlib.suppress(Exception):
            log.info("venue session logged on", venue=self.venue.name, session=sessionID.toString())

    def onLogout(self, sessionID: fix.SessionID) -> None:
        try:
            owner = sessionID.toString()
            with self._sequencer.locked():
                for key in [k for k in self._subscriptions if k[0] == owner]:
                    del self._subscriptions[key]
            log.info("venue session logged out", venue=self.venue.name, session=owner)
        except Exception:
            log.exception("venue onLogout failed", venue=self.venue.name)

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        msg_type = ""
        try:
            msg_type = message.getHeader().getField(_MSG_TYPE)
            handler = self._handlers.get(msg_type)
            if handler is None:
                self._business_reject(
                    message,
                    sessionID,
                    msg_type,
                    _BIZ_REJECT_UNSUPPORTED_MSG_TYPE,
                    f"{self.venue.name} does not support MsgType {msg_type}",
                )
                return
            handler(message, sessionID.toString(), sessionID)
        except Exception as exc:
            log.exception("venue fromApp failed", venue=self.venue.name, msg_type=msg_type)
            self._answer_failure(message, sessionID, msg_type, exc)

    # -- inbound ---------------------------------------------------------------------------

    def _on_new_order(self, message: fix.Message, owner: str, session: fix.SessionID) -> None:
        try:
            command: VenueCommand = decode_new_order(message, owner)
        except ValidationError as exc:
            self._reject_order(message, session, str(exc))
            return
        self._sequencer.submit(command)

    def _on_cancel(self, message: fix.Message, owner: str, session: fix.SessionID) -> None:
        try:
            command: VenueCommand = decode_cancel(message, owner)
        except ValidationError as exc:
            self._reject_cancel(message, session, "1", str(exc))
            return
        self._sequencer.submit(command)

    def _on_replace(self, message: fix.Message, owner: str, session: fix.SessionID) -> None:
        try:
            command: VenueCommand = decode_replace(message, owner)
        except ValidationError as exc:
            self._reject_cancel(message, session, "2", str(exc))
            return
        self._sequencer.submit(command)

    def _on_status(self, message: fix.Message, owner: str, session: fix.SessionID) -> None:
        try:
            command: VenueCommand = decode_status_request(message, owner)
        except ValidationError as exc:
            self._business_reject(message, session, "H", _BIZ_REJECT_OTHER, str(exc))
            return
        self._sequencer.submit(command)

    def _on_trade_query(self, message: fix.Message, owner: str, session: fix.SessionID) -> None:
        try:
            command: VenueCommand = trade_capture.decode_trade_query(message, owner)
        except trade_capture.UnsupportedQuery as refusal:
            symbol = _optional(message, _SYMBOL)
            self._send(session, trade_capture.encode_unsupported(refusal, symbol))
            return
        except ValidationError as exc:
            self._business_reject(message, session, "AD", _BIZ_REJECT_OTHER, str(exc))
            return
        self._sequencer.submit(command)

    def _on_market_data_request(
        self, message: fix.Message, owner: str, session: fix.SessionID
    ) -> None:
        md_req_id = _required(message, _MD_REQ_ID, "MDReqID")
        request_type = _required(message, _SUBSCRIPTION_REQUEST_TYPE, "SubscriptionRequestType")
        if request_type == "2":
            with self._sequencer.locked():
                self._subscriptions.pop((owner, md_req_id), None)
            return
        if request_type not in ("0", "1"):
            self._md_reject(
                session,
                md_req_id,
                _MD_REJ_UNSUPPORTED_SUBSCRIPTION,
                f"unsupported SubscriptionRequestType {request_type}",
            )
            return
        depth_text = _optional(message, _MARKET_DEPTH) or "0"
        if not depth_text.isdigit():
            self._md_reject(
                session, md_req_id, _MD_REJ_UNSUPPORTED_DEPTH, f"bad MarketDepth {depth_text}"
            )
            return
        entry_types: set[str] = set()
        types_group = fix44.MarketDataRequest.NoMDEntryTypes()
        for i in range(1, message.groupCount(_NO_MD_ENTRY_TYPES) + 1):
            message.getGroup(i, types_group)
            entry_types.add(types_group.getField(_MD_ENTRY_TYPE))
        if not entry_types & {_BID, _OFFER}:
            self._md_reject(
                session,
                md_req_id,
                _MD_REJ_UNSUPPORTED_ENTRY_TYPE,
                "only MDEntryType 0 (bid) and 1 (offer) are supported",
            )
            return
        symbols: list[str] = []
        sym_group = fix44.MarketDataRequest.NoRelatedSym()
        for i in range(1, message.groupCount(_NO_RELATED_SYM) + 1):
            message.getGroup(i, sym_group)
            symbols.append(sym_group.getField(_SYMBOL) if sym_group.isSetField(_SYMBOL) else "")
        unknown = [s for s in symbols if s not in self._isins]
        if unknown or not symbols:
            self._md_reject(
                session,
                md_req_id,
                _MD_REJ_UNKNOWN_SYMBOL,
                f"unknown symbol {', '.join(unknown) or '(none given)'}: "
                f"{self.venue.name} trades {', '.join(sorted(self._isins))}",
            )
            return
        sub = _Subscription(
            owner,
            md_req_id,
            tuple(symbols),
            int(depth_text),
            _BID in entry_types,
            _OFFER in entry_types,
        )
        key = (owner, md_req_id)
        snapshots: list[tuple[str, Depth]] | None = None
        with self._sequencer.locked() as engine:
            if request_type == "0" or key not in self._subscriptions:
                snapshots = [(s, engine.depth(s, sub.depth)) for s in sub.symbols]
                if request_type == "1":
                    sub.last_sent = dict(snapshots)
                    self._subscriptions[key] = sub
        if snapshots is None:
            self._md_reject(
                session, md_req_id, _MD_REJ_DUPLICATE_ID, f"MDReqID {md_req_id} already in use"
            )
            return
        for symbol, depth in snapshots:
            self._send(session, self._snapshot(sub, symbol, depth))

    # -- outbound --------------------------------------------------------------------------

    def _send(self, session: fix.SessionID, message: fix.Message) -> None:
        fix.Session.sendToTarget(message, session)

    def _send_reports(self, reports: Iterable[VenueReport]) -> None:
        for report in reports:
            session = self._sessions.get(report.owner)
            if session is None:
                log.warning("report for unknown session dropped", owner=report.owner)
                continue
            if isinstance(report, ExecReport):
                self._send(session, encode_execution_report(report))
            elif isinstance(report, CancelReject):
                self._send(session, encode_cancel_reject(report))
            elif isinstance(report, TradeQueryAck):
                self._send(session, trade_capture.encode_ack(report))
            else:
                self._send(session, trade_capture.encode_report(report))

    def _snapshot(self, sub: _Subscription, symbol: str, depth: Depth) -> fix.Message:
        return encode_snapshot(
            sub.md_req_id, symbol, self._isins[symbol], depth, sub.bids, sub.offers
        )

    def _market_data_loop(self) -> None:
        """Every 50 ms, one snapshot per subscribed symbol whose top levels changed."""
        while not self._md_stop.wait(MARKET_DATA_INTERVAL):
            try:
                outgoing: list[tuple[fix.SessionID, fix.Message]] = []
                with self._sequencer.locked() as engine:
                    changed = engine.take_changed()
                    if not changed or not self._subscriptions:
                        continue
                    for sub in self._subscriptions.values():
                        session = self._sessions.get(sub.owner)
                        for symbol in sub.symbols:
                            if symbol not in changed or session is None:
                                continue
                            depth = engine.depth(symbol, sub.depth)
                            if sub.last_sent.get(symbol) == depth:
                                continue
                            sub.last_sent[symbol] = depth
                            outgoing.append((session, self._snapshot(sub, symbol, depth)))
                for session, message in outgoing:
                    self._send(session, message)
            except Exception:
                log.exception("market data publication failed", venue=self.venue.name)

    def _reject_order(self, message: fix.Message, session: fix.SessionID, text: str) -> None:
        """ER Rejected for a D that could not be decoded, echoing what it carried."""
        msg = fix44.ExecutionReport()
        msg.setField(_ORDER_ID, "NONE")
        msg.setField(_CL_ORD_ID, _optional(message, _CL_ORD_ID) or "NONE")
        msg.setField(_EXEC_ID, self._adhoc_exec_id())
        msg.setField(_EXEC_TYPE, "8")
        msg.setField(_ORD_STATUS, "8")
        msg.setField(_ORD_REJ_REASON, "99")
        msg.setField(_SYMBOL, _optional(message, _SYMBOL) or "NONE")
        msg.setField(_SIDE, _optional(message, _SIDE) or "1")
        for tag in (_ORDER_QTY, _ORD_TYPE, _PRICE, _TIME_IN_FORCE):
            value = _optional(message, tag)
            if value is not None:
                msg.setField(tag, value)
        msg.setField(_LEAVES_QTY, "0")
        msg.setField(_CUM_QTY, "0")
        msg.setField(_AVG_PX, "0")
        msg.setField(_TRANSACT_TIME, fmt_time(utc_now()))
        msg.setField(_TEXT, text)
        self._send(session, msg)

    def _reject_cancel(
        self, message: fix.Message, session: fix.SessionID, response_to: str, text: str
    ) -> None:
        msg = fix44.OrderCancelReject()
        msg.setField(_ORDER_ID, _optional(message, _ORDER_ID) or "NONE")
        msg.setField(_CL_ORD_ID, _optional(message, _CL_ORD_ID) or "NONE")
        msg.setField(_ORIG_CL_ORD_ID, _optional(message, _ORIG_CL_ORD_ID) or "NONE")
        msg.setField(_ORD_STATUS, "8")
        msg.setField(_TRANSACT_TIME, fmt_time(utc_now()))
        msg.setField(_CXL_REJ_RESPONSE_TO, response_to)
        msg.setField(_CXL_REJ_REASON, "99")
        msg.setField(_TEXT, text)
        self._send(session, msg)

    def _business_reject(
        self, message: fix.Message, session: fix.SessionID, msg_type: str, reason: str, text: str
    ) -> None:
        msg = fix44.BusinessMessageReject()
        seq = _optional(message.getHeader(), _MSG_SEQ_NUM)
        if seq is not None:
            msg.setField(_REF_SEQ_NUM, seq)
        msg.setField(_REF_MSG_TYPE, msg_type or "?")
        msg.setField(_BUSINESS_REJECT_REASON, reason)
        msg.setField(_TEXT, text)
        self._send(session, msg)

    def _md_reject(self, session: fix.SessionID, md_req_id: str, reason: str, text: str) -> None:
        msg = fix44.MarketDataRequestReject()
        msg.setField(_MD_REQ_ID, md_req_id)
        msg.setField(_MD_REQ_REJ_REASON, reason)
        msg.setField(_TEXT, text)
        self._send(session, msg)

    def _answer_failure(
        self, message: fix.Message, session: fix.SessionID, msg_type: str, exc: Exception
    ) -> None:
        """Answer a message whose handling failed, so the counterparty is never left waiting."""
        text = str(exc) if isinstance(exc, QtinfraError) else f"venue internal error: {exc!r}"
        try:
            if msg_type == "D":
                self._reject_order(message, session, text)
            elif msg_type in ("F", "G"):
                self._reject_cancel(message, session, "1" if msg_type == "F" else "2", text)
            elif msg_type == "V" and message.isSetField(_MD_REQ_ID):
                self._md_reject(session, message.getField(_MD_REQ_ID), "0", text)
            else:
                self._business_reject(message, session, msg_type, _BIZ_REJECT_OTHER, text)
        except Exception:
            log.exception("venue could not answer a failed message", venue=self.venue.name)

    def _adhoc_exec_id(self) -> str:
        """ExecID of a reject made outside the engine (undecodable message)."""
        return f"{self.venue.name}-X{utc_now():%Y%m%d%H%M%S%f}-{next(self._adhoc_ids)}"


def write_venue_settings(config: QtinfraConfig, name: str) -> Path:
    """Render the venue's acceptor settings to var/run/venue-NAME.cfg and return the path.

    The [DEFAULT] block comes from gateway.venue_simulator_sessions; stores resolve under
    var/venues/NAME. One session for the gateway, one per further member (venues.toml
    members), all on the venue's port. QuickFIX 1.16 ignores SocketAcceptHost (it binds
    every interface); it is written so the file documents the intended address.
    """
    venue = config.venue(name)
    settings = SettingsFile.parse(config.path(config.gateway.venue_simulator_sessions))
    settings.resolve_paths(config.root, config.var_dir / "venues" / name)
    for member in (config.gateway.comp_id, *venue.members):
        settings.sessions.append(
            {
                "BeginString": "FIX.4.4",
                "SenderCompID": venue.name,
                "TargetCompID": member,
                "SocketAcceptPort": str(venue.port),
                "SocketAcceptHost": venue.host,
            }
        )
    return settings.write(config.var_dir / "run" / f"venue-{name}.cfg")


def run_venue(config: QtinfraConfig, name: str, stop: threading.Event) -> None:
    """Run the venue simulator NAME until stop is set, then log its sessions out and return."""
    venue = config.venue(name)
    engine = VenueEngine(venue, config.instrument_map().values())
    path = write_venue_settings(config, name)
    settings = fix.SessionSettings(str(path))
    app = VenueApplication(venue, engine)
    store = fix.FileStoreFactory(settings)
    acceptor = fix.SocketAcceptor(app, store, settings)
    app.start()
    try:
        acceptor.start()
        log.info(
            "venue started",
            venue=name,
            mic=venue.mic,
            port=venue.port,
            instruments=len(engine.books),
            latency_ms=venue.latency_ms,
        )
        try:
            while not stop.wait(0.5):
                pass
        finally:
            acceptor.stop()  # sends Logout to every session and waits for the answers
    finally:
        app.stop()
        log.info("venue stopped", venue=name)


def main(argv: list[str] | None = None) -> int:
    """`python -m qtinfra.venues.acceptor NAME`: one venue process, stopped by SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m qtinfra.venues.acceptor")
    parser.add_argument("name", help="venue name from venues.toml")
    parser.add_argument("--config-dir", type=Path, default=None)
    parser.add_argument(
        "--root", type=Path, default=None, help="project root (sessions/, fix_specs/)"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config_dir, args.root)
        config.venue(args.name)
    except QtinfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_venue(config, args.name, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
