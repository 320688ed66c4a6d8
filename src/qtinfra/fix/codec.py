"""The codec between FIX messages and domain commands/events.

Inbound messages have passed QuickFIX's data dictionary (tag types, enumerations, required
fields), so the codec checks only what the dictionary cannot: business-required fields and
the values this gateway supports. What it cannot accept becomes a RejectInput whose Text
says why. Outbound, events become messages by tag number, so one codec serves FIX 4.4 and
FIX 5.0SP2 sessions alike (the session fills in BeginString and the header).
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TypeVar

import quickfix as fix

from qtinfra.config import PROJECT_ROOT
from qtinfra.domain.commands import (
    CancelOrder,
    Command,
    NewOrder,
    Party,
    RejectInput,
    ReplaceOrder,
    StatusRequest,
)
from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    Event,
    ExecutionReport,
    SessionRejected,
)
from qtinfra.domain.identifiers import isin_is_valid, lei_is_valid, mic_is_valid
from qtinfra.domain.values import ExecType, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.fix import wire
from qtinfra.fix.wire import SOH, Field, fmt_decimal, fmt_time

T = TypeVar("T")
ISIN_SOURCE = "4"

_SIDES = {s.value: s for s in Side}
_ORD_TYPES = {t.value: t for t in OrdType}
_TIFS = {t.value: t for t in TimeInForce}
_EXEC_TYPES = {t.value: t for t in ExecType}
_ORD_STATUSES = {s.value: s for s in OrdStatus}
_ORDER_CAPACITIES = {c: c for c in ("A", "P", "R")}
LEI_SOURCE = "N"
# The fields of a Parties (453) entry: PartyID (448) opens it, then PartyIDSource (447),
# PartyRole (452), PartyRoleQualifier (2376) and the PtysSubGrp (802, 523, 803), read past.
_PARTY_TAGS = frozenset({448, 447, 452, 2376, 802, 523, 803})
# Check digits cost microseconds per order; clients send the same few ISINs and LEIs over
# and over, and a bounded cache keeps a client sending endless new ones from growing it.
_isin_ok = lru_cache(maxsize=4096)(isin_is_valid)
_lei_ok = lru_cache(maxsize=4096)(lei_is_valid)


# The longest value accepted per tag (characters); every other field: DEFAULT_FIELD_LIMIT.
# Identifiers a client sends come back in every report, the journal and the MiFID II files,
# so they are bounded at the session edge (rules of engagement, "Field limits").
FIELD_LIMITS: dict[int, int] = {
    1: 32,  # Account
    11: 64,  # ClOrdID
    37: 64,  # OrderID
    41: 64,  # OrigClOrdID
    55: 32,  # Symbol
    58: 512,  # Text
    448: 64,  # PartyID
}
DEFAULT_FIELD_LIMIT = 128
# Quantities and prices beyond these are refused at decode, before any arithmetic: a
# sane global bound far above any instrument's own limits (risk checks those), and small
# enough that every product and quotient the gateway computes is exact.
MAX_QUANTITY = Decimal("1000000000")  # 1e9 units
MAX_PRICE = Decimal("1000000000")
MAX_DECIMALS = 18  # with 10 integer digits: within Decimal's 28 significant digits


# What a NewOrderSingle (D) or an OrderCancelReplaceRequest (G) may carry (rules of
# engagement, "Instructions: honoured, refused, ignored"): the standard header and trailer,
# the fields the gateway carries out, and fields that change nothing the client asks for.
# Any other tag the dictionary allows there (it defines some 230: ExecInst, MinQty, StopPx,
# SecurityType, CashOrderQty, TargetStrategy...) is refused, OrdRejReason 11 (unsupported
# order characteristic) with a Text naming it, never accepted and worked otherwise.
_HEADER_TAGS = frozenset(
    {
        8, 9, 35, 49, 56, 34, 52, 43, 97, 122,  # the session's own
        50, 57, 142, 143,  # SenderSubID, TargetSubID, Sender/TargetLocationID: journaled
        369, 627, 628, 629, 630,  # LastMsgSeqNumProcessed, hops
        1128, 1129, 1156,  # ApplVerID, CstmApplVerID, ApplExtID (FIXT.1.1)
        347, 90, 91, 212, 213,  # MessageEncoding, SecureData, XmlData
        10, 93, 89,  # CheckSum, SignatureLength, Signature
    }
)  # fmt: skip
_PARTY_GROUP_TAGS = frozenset({453, 448, 447, 452, 2376})
_HONOURED_ORDER_TAGS = frozenset(
    {11, 1, 55, 48, 22, 54, 38, 40, 44, 59, 15, 21, 528, 100} | _PARTY_GROUP_TAGS
)
_HARMLESS_ORDER_TAGS = frozenset(
    {
        60, 58, 354, 355,  # TransactTime, Text, EncodedText
        802, 523, 803,  # PartySubIDs: read past
        526, 376,  # SecondaryClOrdID, ComplianceID: the client's own references
        106, 107, 348, 349, 350, 351,  # Issuer, SecurityDesc (and encoded): descriptions
    }
)  # fmt: skip
_NEW_ORDER_TAGS = _HEADER_TAGS | _HONOURED_ORDER_TAGS | _HARMLESS_ORDER_TAGS
_REPLACE_TAGS = _NEW_ORDER_TAGS | {41, 37}
_HANDL_INST_AUTOMATED = frozenset({"1", "2"})
UNSUPPORTED_CHARACTERISTIC = "11"


@lru_cache(maxsize=1)
def _tag_names() -> dict[int, str]:
    """Field names by tag from the data dictionaries in fix_specs/ (for reject Texts)."""
    names: dict[int, str] = {}
    for spec in ("FIX50SP2.xml", "FIXT11.xml", "FIX44.xml"):
        path = PROJECT_ROOT / "fix_specs" / spec
        if path.is_file():
            for fld in ET.parse(path).getroot().iterfind("./fields/field"):
                number, name = fld.get("number", ""), fld.get("name")
                if number.isdigit() and name:
                    names[int(number)] = name
    return names


def _instructions(f: Fields, allowed: frozenset[int]) -> None:
    """Refuse what would change the order but is not honoured (issue 10: nothing accepted
    and ignored): the first tag, in the order sent, that `allowed` does not hold."""
    for tag in f:
        if tag not in allowed:
            name = _tag_names().get(tag, f"tag {tag}")
            raise DecodeError(
                f"{name} ({tag}) is not supported: the order would not be worked as asked",
                reason=UNSUPPORTED_CHARACTERISTIC,
            )
    handl = f.get(21)
    if handl is not None and handl not in _HANDL_INST_AUTOMATED:
        raise DecodeError(
            f"HandlInst (21) {handl} is not supported: orders are worked automatically (1 or 2)",
            reason=UNSUPPORTED_CHARACTERISTIC,
        )


class DecodeError(Exception):
    """A business-level problem with an inbound message; the text goes to the client.
    reason: the OrdRejReason (103) to give on a rejected order, when not 99 (other)."""

    def __init__(self, text: str, reason: str | None = None) -> None:
        super().__init__(text)
        self.reason = reason


Fields = dict[int, str]


def fields(msg: fix.Message) -> Fields:
    """Every field of a message by tag, from one serialisation (one call into QuickFIX
    instead of one per field), split as QuickFIX parsed it (fix/wire.py: data fields keep
    their SOH bytes). Repeating groups are flattened; the first instance of a tag wins."""
    return wire.by_tag(wire.split(msg.toString()))


def _get(f: Fields, tag: int) -> str | None:
    return f.get(tag)


def _need(f: Fields, tag: int, name: str) -> str:
    value = f.get(tag)
    if value is None:
        raise DecodeError(f"{name} ({tag}) is required")
    return value


def _decimal(text: str, tag: int, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DecodeError(f"{name} ({tag}) is not a number: {text!r}") from None
    if not value.is_finite():
        raise DecodeError(f"{name} ({tag}) is not a finite number: {text!r}")
    return value


def _quantity(text: str) -> Decimal:
    return _bounded(text, 38, "OrderQty", MAX_QUANTITY, reason="13")  # incorrect quantity


def _price(text: str) -> Decimal:
    return _bounded(text, 44, "Price", MAX_PRICE)


def _bounded(text: str, tag: int, name: str, limit: Decimal, reason: str | None = None) -> Decimal:
    """A number no larger than limit in absolute value, with at most MAX_DECIMALS."""
    value = _decimal(text, tag, name)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: _decimal refused the others
    if abs(value) > limit or exponent < -MAX_DECIMALS:
        raise DecodeError(
            f"{name} ({tag}) {text} is out of range: at most {fmt_decimal(limit)} with "
            f"{MAX_DECIMALS} decimals",
            reason=reason,
        )
    return value


def _enum(table: dict[str, T], text: str, tag: int, name: str, supported: str) -> T:
    try:
        return table[text]
    except KeyError:
        raise DecodeError(
            f"{name} ({tag}) value {text!r} is not supported; use {supported}"
        ) from None


def _side(f: Fields) -> Side:
    return _enum(_SIDES, _need(f, 54, "Side"), 54, "Side", "1 (buy), 2 (sell), 5 (sell short)")


def _ord_type(f: Fields) -> OrdType:
    return _enum(_ORD_TYPES, _need(f, 40, "OrdType"), 40, "OrdType", "1 (market), 2 (limit)")


def _tif(f: Fields) -> TimeInForce:
    text = _get(f, 59)
    if text is None:
        return TimeInForce.DAY
    return _enum(_TIFS, text, 59, "TimeInForce", "0 (day), 1 (GTC), 3 (IOC), 4 (FOK)")


def _int(text: str, tag: int, name: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise DecodeError(f"{name} ({tag}) is not an integer: {text!r}")
    return int(text)


def _instrument(f: Fields) -> tuple[str | None, str | None]:
    symbol = _get(f, 55)
    security_id = _get(f, 48)
    if security_id is not None:
        source = _get(f, 22)
        if source != ISIN_SOURCE:
            raise DecodeError(
                f"SecurityIDSource (22) must be 4 (ISIN) with SecurityID (48), got {source!r}"
            )
        if not _isin_ok(security_id):
            raise DecodeError(
                f"SecurityID (48) {security_id} is not a valid ISIN (ISO 6166 check digit)"
            )
    return symbol, security_id


def _order_capacity(f: Fields) -> str | None:
    text = _get(f, 528)
    if text is None:
        return None
    return _enum(
        _ORDER_CAPACITIES,
        text,
        528,
        "OrderCapacity",
        "A (agency), P (principal), R (riskless principal)",
    )


def _ex_destination(f: Fields) -> str | None:
    mic = _get(f, 100)
    if mic is not None and not mic_is_valid(mic):
        raise DecodeError(f"ExDestination (100) {mic!r} is not an ISO 10383 MIC")
    return mic


def _parties(pairs: list[Field], count_text: str) -> tuple[Party, ...]:
    """The Parties group (453) read from a message's fields, in the order sent.

    QuickFIX writes a group as its count followed by the entries, each opened by the
    group's first field, PartyID (448); the group ends at the first tag outside it.
    """
    if not (count_text.isascii() and count_text.isdigit()):
        raise DecodeError(f"NoPartyIDs (453) is not a count: {count_text!r}")
    count = int(count_text)
    entries: list[Fields] = []
    entry: Fields | None = None
    start = next(i for i, (tag, _) in enumerate(pairs) if tag == 453)
    for tag, value in pairs[start + 1 :]:
        if tag == 448:
            entry = {448: value}
            entries.append(entry)
        elif tag in _PARTY_TAGS:
            if entry is None:
                raise DecodeError("PartyID (448) must open each Parties (453) entry")
            entry[tag] = value
        else:
            break
    if len(entries) != count:
        raise DecodeError(
            f"NoPartyIDs (453) says {count} but {len(entries)} PartyID (448) entries follow"
        )
    return tuple(_party(e) for e in entries)


def _party(entry: Fields) -> Party:
    party_id = entry[448]
    source = entry.get(447)
    role_text = entry.get(452)
    if role_text is None:
        raise DecodeError("PartyRole (452) is required in each Parties (453) entry")
    qualifier_text = entry.get(2376)
    if source == LEI_SOURCE and not _lei_ok(party_id):
        raise DecodeError(
            f"PartyID {party_id} with PartyIDSource N is not a valid LEI (ISO 17442 check digits)"
        )
    return Party(
        party_id=party_id,
        source=source,
        role=_int(role_text, 452, "PartyRole"),
        qualifier=None
        if qualifier_text is None
        else _int(qualifier_text, 2376, "PartyRoleQualifier"),
    )


def poss_dup(f: Fields) -> bool:
    """A possible duplicate: a session retransmission (PossDupFlag 43) or an
    application-level resend (PossResend 97, FIX 4.4 Vol 2); either is answered with the
    order's current state when its ClOrdID is known, never booked twice."""
    return f.get(43) == "Y" or f.get(97) == "Y"


def decode_client(msg: fix.Message, session: str) -> Command:
    """The command an inbound client business message asks for. A field that is not
    printable ASCII or longer than its limit becomes a session-level reject (35=3) naming
    the tag, before anything else reads the message."""
    raw = msg.toString()
    pairs = wire.split(raw)
    f = wire.by_tag(pairs)
    bad = wire.check_fields(raw, pairs, FIELD_LIMITS, DEFAULT_FIELD_LIMIT)
    if bad is not None:
        return session_reject(f, session, bad)
    msg_type = f.get(35)
    if msg_type == "D":
        return _decode_new_order(f, pairs, session)
    if msg_type == "F":
        return _decode_cancel(f, session)
    if msg_type == "G":
        return _decode_replace(f, pairs, session)
    if msg_type == "H":
        return _decode_status(f, session)
    return _unsupported(f, session)


def session_reject(f: Fields, session: str, bad: wire.BadField) -> RejectInput:
    """A session-level Reject (35=3) of the message whose fields are f."""
    seq = f.get(34)
    return RejectInput(
        session=session,
        kind="session",
        text=bad.text,
        ref_msg_type=f.get(35),
        ref_seq_num=int(seq) if seq is not None and seq.isdigit() else None,
        reason=bad.reason,
        ref_tag=bad.tag,
    )


def decode_new_order(msg: fix.Message, session: str) -> NewOrder | RejectInput:
    pairs = wire.split(msg.toString())
    return _decode_new_order(wire.by_tag(pairs), pairs, session)


def _decode_new_order(f: Fields, pairs: list[Field], session: str) -> NewOrder | RejectInput:
    cl_ord_id = _get(f, 11)
    try:
        if cl_ord_id is None:
            raise DecodeError("ClOrdID (11) is required")
        side = _side(f)
        ord_type = _ord_type(f)
        tif = _tif(f)
        symbol, isin = _instrument(f)
        _instructions(f, _NEW_ORDER_TAGS)
        quantity = _quantity(_need(f, 38, "OrderQty"))
        price_text = _get(f, 44)
        price = _price(price_text) if price_text is not None else None
        parties = _parties(pairs, f[453]) if 453 in f else ()
        return NewOrder(
            session=session,
            cl_ord_id=cl_ord_id,
            symbol=symbol,
            isin=isin,
            side=side,
            ord_type=ord_type,
            time_in_force=tif,
            quantity=quantity,
            price=price,
            account=_get(f, 1),
            poss_dup=poss_dup(f),
            parties=parties,
            order_capacity=_order_capacity(f),
            ex_destination=_ex_destination(f),
            currency=_get(f, 15),
        )
    except DecodeError as exc:
        return _reject_input(f, session, "order", str(exc), cl_ord_id, exc.reason)


def decode_cancel(msg: fix.Message, session: str) -> CancelOrder | RejectInput:
    return _decode_cancel(fields(msg), session)


def _decode_cancel(f: Fields, session: str) -> CancelOrder | RejectInput:
    cl_ord_id = _get(f, 11)
    try:
        if cl_ord_id is None:
            raise DecodeError("ClOrdID (11) is required")
        return CancelOrder(
            session=session,
            cl_ord_id=cl_ord_id,
            orig_cl_ord_id=_orig_cl_ord_id(f),
            order_id=_get(f, 37),
            symbol=_instrument(f)[0],
            side=_side(f),
            poss_dup=poss_dup(f),
        )
    except DecodeError as exc:
        return _reject_input(f, session, "cancel", str(exc), cl_ord_id)


def decode_replace(msg: fix.Message, session: str) -> ReplaceOrder | RejectInput:
    pairs = wire.split(msg.toString())
    return _decode_replace(wire.by_tag(pairs), pairs, session)


def _decode_replace(f: Fields, pairs: list[Field], session: str) -> ReplaceOrder | RejectInput:
    cl_ord_id = _get(f, 11)
    try:
        if cl_ord_id is None:
            raise DecodeError("ClOrdID (11) is required")
        price_text = _get(f, 44)
        _instructions(f, _REPLACE_TAGS)
        return ReplaceOrder(
            session=session,
            cl_ord_id=cl_ord_id,
            orig_cl_ord_id=_orig_cl_ord_id(f),
            order_id=_get(f, 37),
            symbol=_instrument(f)[0],
            side=_side(f),
            ord_type=_ord_type(f),
            time_in_force=_tif(f),
            quantity=_quantity(_need(f, 38, "OrderQty")),
            price=_price(price_text) if price_text is not None else None,
            poss_dup=poss_dup(f),
            parties=_parties(pairs, f[453]) if 453 in f else (),
            order_capacity=_order_capacity(f),
            ex_destination=_ex_destination(f),
            currency=_get(f, 15),
        )
    except DecodeError as exc:
        return _reject_input(f, session, "replace", str(exc), cl_ord_id)


def decode_status(msg: fix.Message, session: str) -> StatusRequest | RejectInput:
    return _decode_status(fields(msg), session)


def _orig_cl_ord_id(f: Fields) -> str | None:
    """OrigClOrdID (41); FIX 5.0SP2 lets a cancel or replace name the order by OrderID (37)
    alone (the FIX 4.4 dictionary requires 41, so QuickFIX refuses it missing there)."""
    orig = _get(f, 41)
    if orig is None and _get(f, 37) is None:
        raise DecodeError("OrigClOrdID (41) or OrderID (37) is required")
    return orig


def _decode_status(f: Fields, session: str) -> StatusRequest | RejectInput:
    cl_ord_id = _get(f, 11)
    try:
        if cl_ord_id is None and _get(f, 37) is None:
            raise DecodeError("ClOrdID (11) or OrderID (37) is required")
        return StatusRequest(
            session=session,
            cl_ord_id=cl_ord_id,
            order_id=_get(f, 37),
            symbol=_instrument(f)[0],
            side=_side(f),
            status_req_id=_get(f, 790),
        )
    except DecodeError as exc:
        return _reject_input(f, session, "business", str(exc), cl_ord_id, reason="0")


def _reject_input(
    f: Fields,
    session: str,
    kind: str,
    text: str,
    cl_ord_id: str | None,
    reason: str | None = None,
) -> RejectInput:
    side_text = _get(f, 54)
    qty_text = _get(f, 38)
    try:
        quantity = Decimal(qty_text) if qty_text is not None else None
    except InvalidOperation:
        quantity = None
    if quantity is not None and not (quantity.is_finite() and abs(quantity) <= MAX_QUANTITY):
        quantity = None  # echoed in OrderQty (38) only when it is a sane number
    price_text = _get(f, 44)
    try:
        price = Decimal(price_text) if price_text is not None else None
    except InvalidOperation:
        price = None
    if price is not None and not (price.is_finite() and abs(price) <= MAX_PRICE):
        price = None
    seq = f.get(34)
    return RejectInput(
        session=session,
        kind=kind,
        text=text,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=_get(f, 41),
        symbol=_get(f, 55),
        side=_SIDES.get(side_text) if side_text else None,
        quantity=quantity,
        ord_type=_ORD_TYPES.get(_get(f, 40) or ""),
        time_in_force=_TIFS.get(_get(f, 59) or ""),
        price=price,
        ref_msg_type=f.get(35),
        ref_seq_num=int(seq) if seq is not None and seq.isdigit() else None,
        reason=reason,
    )


def unsupported(msg: fix.Message, session: str) -> RejectInput:
    """BusinessMessageReject (j) with BusinessRejectReason 3, unsupported message type."""
    return _unsupported(fields(msg), session)


def _unsupported(f: Fields, session: str) -> RejectInput:
    msg_type = f.get(35, "")
    seq = f.get(34)
    return RejectInput(
        session=session,
        kind="business",
        text=f"MsgType {msg_type} is not supported by this gateway; see the rules of engagement",
        ref_msg_type=msg_type,
        ref_seq_num=int(seq) if seq is not None and seq.isdigit() else None,
        reason="3",
    )


# -- outbound to clients ---------------------------------------------------------------------


def new_message(msg_type: str) -> fix.Message:
    msg = fix.Message()
    msg.getHeader().setField(35, msg_type)
    return msg


def build_message(msg_type: str, body: list[str]) -> fix.Message:
    """A message from its body fields, parsed once by QuickFIX (one call instead of one
    per field). The session fills in BeginString, the CompIDs, MsgSeqNum and SendingTime.

    Every value is printable ASCII by the time it gets here (inbound fields are checked at
    the session edge, free text goes through `wire.printable`); a SOH inside a value would
    add fields of its own, so one scan refuses the message rather than send it."""
    joined = SOH.join(body)
    if joined.count(SOH) != len(body) - 1 or not joined.isascii():
        raise ValueError(f"a field of this {msg_type} message holds SOH or non-ASCII text")
    msg = fix.Message()
    msg.setString(f"8=FIX.4.4{SOH}9=0{SOH}35={msg_type}{SOH}{joined}{SOH}10=000{SOH}", False)
    return msg


TEXT_LIMIT = FIELD_LIMITS[58]


def _text(text: str) -> str:
    """Free text (a reject reason, an operator's kill-switch reason, a venue's Text) as
    it may go into Text (58): printable ASCII, bounded."""
    return wire.printable(text, TEXT_LIMIT)


def encode_execution_report(
    ev: ExecutionReport, fix44: bool = False, micros: bool = True
) -> fix.Message:
    """ExecutionReport (8). fix44: the session is FIX 4.4, whose OrdRejReason (103) stops
    at 15. micros: TransactTime (60) with microseconds, else milliseconds."""
    body: list[str] = []
    add = body.append
    add(f"37={ev.order_id}")
    add(f"11={ev.cl_ord_id}")
    if ev.orig_cl_ord_id is not None:
        add(f"41={ev.orig_cl_ord_id}")
    add(f"17={ev.exec_id}")
    add(f"150={ev.exec_type.value}")
    add(f"39={ev.ord_status.value}")
    if ev.account is not None:
        add(f"1={ev.account}")
    add(f"55={ev.symbol}")
    if ev.isin is not None:
        add(f"48={ev.isin}")
        add(f"22={ISIN_SOURCE}")
    add(f"54={ev.side.value}")
    if ev.order_qty is not None:
        add(f"38={fmt_decimal(ev.order_qty)}")
    if ev.ord_type is not None:
        add(f"40={ev.ord_type.value}")
    if ev.price is not None:
        add(f"44={fmt_decimal(ev.price)}")
    if ev.time_in_force is not None:
        add(f"59={ev.time_in_force.value}")
    if ev.currency is not None:
        add(f"15={ev.currency}")
    if ev.last_qty is not None:
        add(f"32={fmt_decimal(ev.last_qty)}")
    if ev.last_px is not None:
        add(f"31={fmt_decimal(ev.last_px)}")
    if ev.last_mkt is not None:
        add(f"30={ev.last_mkt}")
    if ev.last_liquidity_ind is not None:
        add(f"851={ev.last_liquidity_ind}")
    add(f"151={fmt_decimal(ev.leaves_qty)}")
    add(f"14={fmt_decimal(ev.cum_qty)}")
    add(f"6={fmt_decimal(ev.avg_px)}")
    add(f"60={fmt_time(ev.transact_time, micros)}")
    if ev.exec_restatement_reason is not None:
        add(f"378={ev.exec_restatement_reason}")
    if ev.ord_status_req_id is not None:
        add(f"790={ev.ord_status_req_id}")
    if ev.ord_rej_reason is not None and (
        ev.ord_status is OrdStatus.REJECTED or ev.exec_type is ExecType.REJECTED
    ):
        add(f"103={wire.ord_rej_reason(ev.ord_rej_reason.value, fix44)}")
    if ev.text:
        add(f"58={_text(ev.text)}")
    return build_message("8", body)


def encode_status_instead(
    ev: ExecutionReport, fix44: bool = False, micros: bool = True
) -> fix.Message:
    """An unsolicited order-status report (150=I) standing in for `ev`, which could not be
    sent: the order's state after it (OrdStatus, CumQty, LeavesQty, AvgPx) without what
    was particular to it (the fill's LastQty/LastPx, the restatement, the request id), a
    Text saying so, and an ExecID of its own."""
    stand_in = dataclasses.replace(
        ev,
        exec_id=f"{ev.exec_id}S",
        exec_type=ExecType.ORDER_STATUS,
        last_qty=None,
        last_px=None,
        last_mkt=None,
        last_liquidity_ind=None,
        exec_restatement_reason=None,
        ord_status_req_id=None,
        text=f"the ExecutionReport {ev.exec_id} (ExecType {ev.exec_type.value}) could not be "
        "sent; this is the order's status after it",
    )
    return encode_execution_report(stand_in, fix44, micros)


def encode_cancel_reject(ev: CancelRejected, micros: bool = True) -> fix.Message:
    body: list[str] = []
    add = body.append
    add(f"37={ev.order_id}")
    add(f"11={ev.cl_ord_id}")
    add(f"41={ev.orig_cl_ord_id}")
    add(f"39={ev.ord_status.value}")
    add(f"434={ev.response_to.value}")
    add(f"102={ev.reason.value}")
    add(f"58={_text(ev.text)}")
    add(f"60={fmt_time(ev.transact_time, micros)}")
    return build_message("9", body)


def encode_business_reject(ev: BusinessRejected) -> fix.Message:
    body: list[str] = []
    add = body.append
    if ev.ref_seq_num is not None:
        add(f"45={ev.ref_seq_num}")
    add(f"372={ev.ref_msg_type or '?'}")
    if ev.ref_id:
        add(f"379={ev.ref_id}")
    add(f"380={ev.reason}")
    add(f"58={_text(ev.text)}")
    return build_message("j", body)


def encode_session_reject(ev: SessionRejected) -> fix.Message:
    """Reject (3): RefSeqNum (45), RefTagID (371), RefMsgType (372), SessionRejectReason
    (373) and a Text saying why."""
    body: list[str] = []
    add = body.append
    add(f"45={ev.ref_seq_num if ev.ref_seq_num is not None else 0}")
    if ev.ref_tag is not None:
        add(f"371={ev.ref_tag}")
    if ev.ref_msg_type:
        add(f"372={wire.printable(ev.ref_msg_type, 8)}")
    add(f"373={ev.reason}")
    add(f"58={_text(ev.text)}")
    return build_message("3", body)


def encode_client_event(event: Event, session: str, micros: bool = True) -> fix.Message | None:
    """The FIX message a client event becomes on `session` (None: the event is not one the
    clients get). micros: the session takes timestamps with microseconds (else
    milliseconds)."""
    if isinstance(event, ExecutionReport):
        return encode_execution_report(event, session.startswith("FIX.4.4"), micros)
    if isinstance(event, CancelRejected):
        return encode_cancel_reject(event, micros)
    if isinstance(event, BusinessRejected):
        return encode_business_reject(event)
    if isinstance(event, SessionRejected):
        return encode_session_reject(event)
    return None


def raw(msg: fix.Message) -> str:
    """The message as sent on the wire (SOH-delimited)."""
    return msg.toString()  # type: ignore[no-any-return]
