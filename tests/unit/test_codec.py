"""The FIX codec: quickfix.Message objects in, commands out; events in, messages out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as fix
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.domain.commands import (
    CancelOrder,
    NewOrder,
    Party,
    RejectInput,
    ReplaceOrder,
    StatusRequest,
)
from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    ChildCancelSent,
    ChildOrderSent,
    ExecutionReport,
)
from qtinfra.domain.values import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from qtinfra.fix import codec, venue_codec, wire

D = Decimal
SESSION = "FIX.4.4:QTGW->CLIENT1"
NOW = datetime(2025, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)


def message(msg_type: str, fields: dict[int, str], *, poss_dup: bool = False) -> fix.Message:
    msg = fix.Message()
    header = msg.getHeader()
    header.setField(35, msg_type)
    header.setField(34, "12")
    if poss_dup:
        header.setField(43, "Y")
    for tag, value in fields.items():
        msg.setField(tag, value)
    return msg


NEW_ORDER = {
    11: "C1",
    1: "ACC1",
    55: "AAPL",
    48: "US0378331005",
    22: "4",
    54: "1",
    38: "100",
    40: "2",
    44: "190.05",
    59: "0",
    60: "20250102-09:30:00.123456",
}


def new_order(**changes: str | None) -> fix.Message:
    fields = dict(NEW_ORDER)
    for key, value in changes.items():
        tag = int(key.lstrip("t"))
        if value is None:
            fields.pop(tag, None)
        else:
            fields[tag] = value
    return message("D", fields)


# -- inbound from clients ----------------------------------------------------------------------


def test_valid_new_order_single_decodes_to_new_order() -> None:
    cmd = codec.decode_new_order(new_order(), SESSION)
    assert cmd == NewOrder(
        session=SESSION,
        cl_ord_id="C1",
        symbol="AAPL",
        isin="US0378331005",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        time_in_force=TimeInForce.DAY,
        quantity=D("100"),
        price=D("190.05"),
        account="ACC1",
        poss_dup=False,
    )
    assert isinstance(cmd.quantity, Decimal) and isinstance(cmd.price, Decimal)


def test_prices_keep_every_digit_the_client_sent() -> None:
    cmd = codec.decode_new_order(new_order(t44="190.123456789012345678"), SESSION)
    assert isinstance(cmd, NewOrder)
    assert cmd.price == D("190.123456789012345678")


def test_market_order_without_price_or_tif_defaults_to_day() -> None:
    cmd = codec.decode_new_order(new_order(t40="1", t44=None, t59=None), SESSION)
    assert isinstance(cmd, NewOrder)
    assert (cmd.ord_type, cmd.price, cmd.time_in_force) == (OrdType.MARKET, None, TimeInForce.DAY)


def test_poss_dup_flag_is_read_from_the_header() -> None:
    msg = message("D", NEW_ORDER, poss_dup=True)
    cmd = codec.decode_new_order(msg, SESSION)
    assert isinstance(cmd, NewOrder) and cmd.poss_dup


def test_symbol_only_order_has_no_isin() -> None:
    cmd = codec.decode_new_order(new_order(t48=None, t22=None), SESSION)
    assert isinstance(cmd, NewOrder)
    assert (cmd.symbol, cmd.isin) == ("AAPL", None)


def test_missing_order_qty_becomes_a_reject_with_text() -> None:
    cmd = codec.decode_new_order(new_order(t38=None), SESSION)
    assert cmd == RejectInput(
        session=SESSION,
        kind="order",
        text="OrderQty (38) is required",
        cl_ord_id="C1",
        orig_cl_ord_id=None,
        symbol="AAPL",
        side=Side.BUY,
        quantity=None,
        ord_type=OrdType.LIMIT,  # what the message said, echoed on the reject
        time_in_force=TimeInForce.DAY,
        price=Decimal("190.05"),
        ref_msg_type="D",
        ref_seq_num=12,
        reason=None,
    )


def test_missing_clordid_becomes_a_reject() -> None:
    cmd = codec.decode_new_order(new_order(t11=None), SESSION)
    assert isinstance(cmd, RejectInput)
    assert (cmd.kind, cmd.text, cmd.cl_ord_id) == ("order", "ClOrdID (11) is required", None)


@pytest.mark.parametrize("source", ["1", "2", "8"])
def test_security_id_source_other_than_isin_is_rejected(source: str) -> None:
    cmd = codec.decode_new_order(new_order(t22=source), SESSION)
    assert isinstance(cmd, RejectInput)
    assert cmd.text == (
        f"SecurityIDSource (22) must be 4 (ISIN) with SecurityID (48), got {source!r}"
    )
    assert cmd.quantity == D(100)


def test_security_id_without_source_is_rejected() -> None:
    cmd = codec.decode_new_order(new_order(t22=None), SESSION)
    assert isinstance(cmd, RejectInput)
    assert "got None" in cmd.text


@pytest.mark.parametrize("ord_type", ["3", "4", "P"])
def test_unsupported_ord_type_is_rejected_naming_what_is_supported(ord_type: str) -> None:
    cmd = codec.decode_new_order(new_order(t40=ord_type), SESSION)
    assert isinstance(cmd, RejectInput)
    assert cmd.text == (
        f"OrdType (40) value {ord_type!r} is not supported; use 1 (market), 2 (limit)"
    )


def test_unsupported_time_in_force_is_rejected() -> None:
    cmd = codec.decode_new_order(new_order(t59="6"), SESSION)
    assert isinstance(cmd, RejectInput)
    assert cmd.text.startswith("TimeInForce (59) value '6' is not supported")


def test_unsupported_side_is_rejected() -> None:
    cmd = codec.decode_new_order(new_order(t54="7"), SESSION)
    assert isinstance(cmd, RejectInput)
    assert cmd.text.startswith("Side (54) value '7' is not supported")
    assert cmd.side is None


@pytest.mark.parametrize(("text", "why"), [("abc", "is not a number"), ("NaN", "not a finite")])
def test_non_numeric_quantity_is_rejected(text: str, why: str) -> None:
    cmd = codec.decode_new_order(new_order(t38=text), SESSION)
    assert isinstance(cmd, RejectInput)
    assert why in cmd.text
    assert cmd.quantity is None or not cmd.quantity.is_finite()


@pytest.mark.parametrize(
    ("tag", "value", "named"),
    [
        (167, "OPT", "SecurityType (167)"),  # an option, not the stock
        (152, "10000", "CashOrderQty (152)"),  # an amount, not a quantity
        (423, "1", "PriceType (423)"),  # a percentage, not a price
        (847, "1", "TargetStrategy (847)"),
        (210, "10", "MaxShow (210)"),
        (65, "WI", "SymbolSfx (65)"),
        (18, "G", "ExecInst (18)"),
        (110, "500", "MinQty (110)"),
    ],
)
def test_a_field_the_gateway_does_not_carry_out_refuses_the_order_naming_it(
    tag: int, value: str, named: str
) -> None:
    cmd = codec.decode_new_order(new_order(**{f"t{tag}": value}), SESSION)
    assert isinstance(cmd, RejectInput), cmd
    assert cmd.reason == "11" and cmd.text.startswith(named), cmd.text
    replace = message("G", {**NEW_ORDER, 11: "C9", 41: "C1", tag: value})
    refused = codec.decode_replace(replace, SESSION)
    assert isinstance(refused, RejectInput) and refused.text.startswith(named)


def test_fields_that_change_nothing_asked_are_accepted() -> None:
    msg = new_order(t58="note", t526="MY-REF", t376="COMP-1", t107="Apple Inc.")
    msg.getHeader().setField(50, "DESK1")  # SenderSubID
    assert isinstance(codec.decode_new_order(msg, SESSION), NewOrder)


def test_cancel_request_decodes() -> None:
    msg = message("F", {11: "C2", 41: "C1", 37: "QT1", 55: "AAPL", 54: "2"})
    assert codec.decode_cancel(msg, SESSION) == CancelOrder(
        SESSION, "C2", "C1", "QT1", "AAPL", Side.SELL, False
    )


def test_cancel_without_orig_clordid_becomes_a_cancel_reject_input() -> None:
    msg = message("F", {11: "C2", 55: "AAPL", 54: "1"})
    cmd = codec.decode_cancel(msg, SESSION)
    assert isinstance(cmd, RejectInput)
    assert (cmd.kind, cmd.text, cmd.cl_ord_id) == (
        "cancel",
        "OrigClOrdID (41) or OrderID (37) is required",
        "C2",
    )


def test_replace_request_decodes() -> None:
    msg = message(
        "G",
        {11: "C3", 41: "C1", 55: "AAPL", 54: "1", 40: "2", 59: "1", 38: "150", 44: "190.10"},
    )
    assert codec.decode_replace(msg, SESSION) == ReplaceOrder(
        SESSION,
        "C3",
        "C1",
        None,
        "AAPL",
        Side.BUY,
        OrdType.LIMIT,
        TimeInForce.GTC,
        D("150"),
        D("190.10"),
        False,
    )


def test_replace_without_quantity_becomes_a_replace_reject_input() -> None:
    msg = message("G", {11: "C3", 41: "C1", 55: "AAPL", 54: "1", 40: "2"})
    cmd = codec.decode_replace(msg, SESSION)
    assert isinstance(cmd, RejectInput)
    assert (cmd.kind, cmd.text, cmd.orig_cl_ord_id) == (
        "replace",
        "OrderQty (38) is required",
        "C1",
    )


def test_status_request_decodes() -> None:
    msg = message("H", {11: "C1", 55: "AAPL", 54: "1"})
    assert codec.decode_status(msg, SESSION) == StatusRequest(SESSION, "C1", None, "AAPL", Side.BUY)


def test_status_request_without_side_becomes_a_business_reject() -> None:
    cmd = codec.decode_status(message("H", {11: "C1", 55: "AAPL"}), SESSION)
    assert isinstance(cmd, RejectInput)
    assert (cmd.kind, cmd.reason, cmd.text) == ("business", "0", "Side (54) is required")


def test_unsupported_message_type_gets_business_reject_reason_3() -> None:
    cmd = codec.unsupported(message("AE", {}), SESSION)
    assert (cmd.kind, cmd.reason, cmd.ref_msg_type, cmd.ref_seq_num) == ("business", "3", "AE", 12)
    assert "MsgType AE is not supported" in cmd.text


# -- outbound to clients -----------------------------------------------------------------------


def report(**changes: object) -> ExecutionReport:
    fields: dict[str, object] = {
        "session": SESSION,
        "order_id": "QT1",
        "cl_ord_id": "C1",
        "orig_cl_ord_id": None,
        "exec_id": "QTE7",
        "exec_type": ExecType.TRADE,
        "ord_status": OrdStatus.PARTIALLY_FILLED,
        "symbol": "AAPL",
        "isin": "US0378331005",
        "side": Side.BUY,
        "ord_type": OrdType.LIMIT,
        "time_in_force": TimeInForce.DAY,
        "order_qty": D("100"),
        "price": D("190.05"),
        "cum_qty": D("30"),
        "leaves_qty": D("70"),
        "avg_px": D("190.00666667"),
        "transact_time": NOW,
        "account": "ACC1",
        "last_qty": D("30"),
        "last_px": D("190.00"),
        "last_mkt": "CEUX",
        "currency": "USD",
    }
    fields.update(changes)
    return ExecutionReport(**fields)  # type: ignore[arg-type]


def tags(msg: fix.Message) -> dict[int, str]:
    """Every body field of msg, by tag."""
    out: dict[int, str] = {}
    for part in msg.toString().split("\x01"):
        if part:
            tag, _, value = part.partition("=")
            out[int(tag)] = value
    return out


def test_fill_report_carries_every_field_the_client_needs() -> None:
    msg = codec.encode_execution_report(report())
    assert msg.getHeader().getField(35) == "8"
    t = tags(msg)
    assert {k: t[k] for k in (37, 11, 17, 150, 39, 55, 48, 22, 54, 38, 44, 151, 14, 6, 60)} == {
        37: "QT1",
        11: "C1",
        17: "QTE7",
        150: "F",
        39: "1",
        55: "AAPL",
        48: "US0378331005",
        22: "4",
        54: "1",
        38: "100",
        44: "190.05",
        151: "70",
        14: "30",
        6: "190.00666667",
        60: "20250102-09:30:00.123456",
    }
    assert (t[32], t[31], t[30], t[1], t[15], t[40], t[59]) == (
        "30",
        "190",
        "CEUX",
        "ACC1",
        "USD",
        "2",
        "0",
    )
    assert 103 not in t and 58 not in t and 41 not in t


def test_transact_time_has_microseconds_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    msg = codec.encode_execution_report(
        report(transact_time=datetime(2025, 1, 2, 10, 30, 0, 7, tzinfo=paris))
    )
    assert msg.getField(60) == "20250102-09:30:00.000007"


def test_reject_report_carries_ord_rej_reason_and_text() -> None:
    msg = codec.encode_execution_report(
        report(
            exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED,
            ord_rej_reason=OrdRejReason.DUPLICATE_ORDER,
            text="duplicate ClOrdID C1 on this session",
            isin=None,
            last_qty=None,
            last_px=None,
            last_mkt=None,
        )
    )
    t = tags(msg)
    assert (t[150], t[39], t[103], t[58]) == (
        "8",
        "8",
        "6",
        "duplicate ClOrdID C1 on this session",
    )
    assert 48 not in t and 22 not in t and 32 not in t


def test_ord_rej_reason_is_only_sent_on_rejects() -> None:
    msg = codec.encode_execution_report(report(ord_rej_reason=OrdRejReason.OTHER))
    assert not msg.isSetField(103)


def test_replace_report_carries_orig_clordid() -> None:
    msg = codec.encode_execution_report(
        report(exec_type=ExecType.REPLACED, ord_status=OrdStatus.NEW, orig_cl_ord_id="C0")
    )
    assert (msg.getField(41), msg.getField(150)) == ("C0", "5")


def test_market_order_report_has_no_price() -> None:
    msg = codec.encode_execution_report(report(price=None, ord_type=OrdType.MARKET))
    assert not msg.isSetField(44)


def test_decimals_with_exponents_are_sent_in_plain_notation() -> None:
    msg = codec.encode_execution_report(report(avg_px=D("1.9E+2"), order_qty=D("1E+2")))
    assert (msg.getField(6), msg.getField(38)) == ("190", "100")


def test_cancel_reject_encodes() -> None:
    ev = CancelRejected(
        SESSION,
        "QT1",
        "C2",
        "C1",
        OrdStatus.FILLED,
        CxlRejResponseTo.CANCEL,
        CxlRejReason.TOO_LATE_TO_CANCEL,
        "too late to cancel: order is FILLED",
        NOW,
    )
    t = tags(codec.encode_cancel_reject(ev))
    assert (t[35], t[37], t[11], t[41], t[39], t[434], t[102], t[58], t[60]) == (
        "9",
        "QT1",
        "C2",
        "C1",
        "2",
        "1",
        "0",
        "too late to cancel: order is FILLED",
        "20250102-09:30:00.123456",
    )


def test_business_reject_encodes() -> None:
    t = tags(codec.encode_business_reject(BusinessRejected(SESSION, "AE", "3", "nope", 12, "C1")))
    assert (t[35], t[45], t[372], t[379], t[380], t[58]) == ("j", "12", "AE", "C1", "3", "nope")


def test_child_order_and_cancel_encode_for_the_venue() -> None:
    t = tags(
        venue_codec.encode_child_new(
            ChildOrderSent(
                "CBOE",
                "QT1.1",
                "QT1",
                "AAPL",
                "US0378331005",
                Side.SELL,
                OrdType.LIMIT,
                TimeInForce.IOC,
                D("30"),
                D("190.10"),
                NOW,
            )
        )
    )
    assert (t[35], t[11], t[48], t[22], t[54], t[38], t[44], t[59]) == (
        "D",
        "QT1.1",
        "US0378331005",
        "4",
        "2",
        "30",
        "190.1",
        "3",
    )
    t = tags(
        venue_codec.encode_child_cancel(
            ChildCancelSent("CBOE", "QT1.1.X", "QT1.1", "QT1", "AAPL", Side.SELL, D(30), NOW)
        )
    )
    assert (t[35], t[11], t[41], t[38]) == ("F", "QT1.1.X", "QT1.1", "30")


# -- fmt_decimal, fmt_time, parse_time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "0"),
        ("0.000", "0"),
        ("0E-10", "0"),
        ("100", "100"),
        ("1E+2", "100"),
        ("100.50", "100.5"),
        ("0.00000001", "0.00000001"),
        ("1E-8", "0.00000001"),
        ("-2.50", "-2.5"),
        ("123456789012345678.123456789", "123456789012345678.123456789"),
    ],
)
def test_fmt_decimal_examples(value: str, text: str) -> None:
    assert wire.fmt_decimal(D(value)) == text


@given(
    sign=st.integers(0, 1),
    digits=st.lists(st.integers(0, 9), min_size=1, max_size=30),
    exponent=st.integers(-30, 30),
)
def test_fmt_decimal_never_emits_an_exponent_and_round_trips(
    sign: int, digits: list[int], exponent: int
) -> None:
    value = Decimal((sign, tuple(digits), exponent))
    text = wire.fmt_decimal(value)
    assert "e" not in text.lower()
    assert Decimal(text) == value
    if "." in text:
        assert not text.endswith("0") and not text.endswith(".")


def test_parse_time_reads_milli_micro_and_nano_seconds() -> None:
    assert wire.parse_time("20250102-09:30:00") == datetime(2025, 1, 2, 9, 30, tzinfo=UTC)
    assert wire.parse_time("20250102-09:30:00.123") == datetime(
        2025, 1, 2, 9, 30, 0, 123000, tzinfo=UTC
    )
    assert wire.parse_time("20250102-09:30:00.123456789") == NOW


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_fmt_time_and_parse_time_round_trip_to_the_microsecond(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    assert wire.parse_time(wire.fmt_time(aware)) == aware


# -- from venues -------------------------------------------------------------------------------


def test_venue_fill_report_decodes() -> None:
    msg = message(
        "8",
        {
            37: "V-9",
            11: "QT1.1",
            17: "CBOE-E5",
            150: "F",
            39: "1",
            55: "AAPL",
            54: "1",
            32: "30",
            31: "190.01",
            14: "30",
            151: "70",
            12: "0.17",
            60: "20250102-09:30:00.5",
        },
    )
    cmd = venue_codec.decode_venue_execution(msg, "CBOE", "CEUX")
    assert (cmd.venue, cmd.mic, cmd.child_id, cmd.orig_child_id, cmd.venue_order_id) == (
        "CBOE",
        "CEUX",
        "QT1.1",
        None,
        "V-9",
    )
    assert (cmd.exec_id, cmd.exec_type, cmd.ord_status) == (
        "CBOE-E5",
        ExecType.TRADE,
        OrdStatus.PARTIALLY_FILLED,
    )
    assert (cmd.last_qty, cmd.last_px, cmd.cum_qty, cmd.leaves_qty, cmd.commission) == (
        D(30),
        D("190.01"),
        D(30),
        D(70),
        D("0.17"),
    )
    assert cmd.transact_time == datetime(2025, 1, 2, 9, 30, 0, 500000, tzinfo=UTC)


def test_venue_status_answer_takes_avg_px_as_the_price() -> None:
    msg = message(
        "8",
        {37: "V-9", 11: "QT1.1", 17: "S1", 150: "I", 39: "1", 14: "50", 151: "50", 6: "190.02"},
    )
    cmd = venue_codec.decode_venue_execution(msg, "CBOE", "CEUX")
    assert (cmd.exec_type, cmd.last_px, cmd.cum_qty, cmd.last_qty) == (
        ExecType.ORDER_STATUS,
        D("190.02"),
        D(50),
        D(0),
    )


def test_venue_cancel_reject_for_an_unknown_order_has_no_status() -> None:
    msg = message("9", {11: "QT1.1.X", 41: "QT1.1", 39: "8", 102: "1", 58: "unknown"})
    cmd = venue_codec.decode_venue_cancel_reject(msg, "CBOE")
    assert (cmd.child_id, cmd.orig_child_id, cmd.ord_status, cmd.text) == (
        "QT1.1.X",
        "QT1.1",
        None,
        "unknown",
    )


def test_venue_cancel_reject_too_late_keeps_the_status() -> None:
    msg = message("9", {11: "QT1.1.X", 41: "QT1.1", 39: "2", 102: "0"})
    assert venue_codec.decode_venue_cancel_reject(msg, "CBOE").ord_status is OrdStatus.FILLED


def snapshot(entries: list[tuple[str, str, str]]) -> fix.Message:
    msg = message("W", {262: "MD1", 55: "AAPL"})
    group = fix.Group(268, 269)
    for entry_type, price, size in entries:
        group.setField(269, entry_type)
        group.setField(270, price)
        group.setField(271, size)
        msg.addGroup(group)
    return msg


def test_market_data_snapshot_decodes_to_sorted_book() -> None:
    msg = snapshot(
        [
            ("0", "189.98", "20"),
            ("1", "190.02", "15"),
            ("0", "189.99", "10"),
            ("1", "190.01", "5"),
        ]
    )
    q = venue_codec.decode_market_data(msg, "CBOE")
    assert (q.venue, q.symbol) == ("CBOE", "AAPL")
    assert q.bids == ((D("189.99"), D(10)), (D("189.98"), D(20)))
    assert q.asks == ((D("190.01"), D(5)), (D("190.02"), D(15)))


def test_empty_market_data_snapshot_is_an_empty_book() -> None:
    q = venue_codec.decode_market_data(message("W", {262: "MD1", 55: "AAPL"}), "TRQ")
    assert (q.bids, q.asks) == ((), ())


def test_market_data_trade_entries_are_not_taken_as_asks() -> None:
    msg = snapshot([("0", "189.99", "10"), ("1", "190.01", "20"), ("2", "190.00", "5")])
    q = venue_codec.decode_market_data(msg, "CBOE")
    assert q.asks == ((D("190.01"), D(20)),)


def test_market_data_request_asks_for_bids_and_offers_of_every_symbol() -> None:
    msg = venue_codec.encode_market_data_request("MD1", ["AAPL", "MSFT"], depth=3)
    raw = codec.raw(msg)
    assert "\x01262=MD1\x01" in raw and "\x01264=3\x01" in raw
    assert raw.count("\x01269=") == 2 and raw.count("\x0155=") == 2


# -- MiFID II order data: Parties (453), OrderCapacity (528), ExDestination (100) --------------

SPECS = Path(__file__).resolve().parents[2] / "fix_specs"
CLIENT_LEI = "5299000J2N45DDNE4Y28"
DECISION_MAKER = ("448", "DM4711", "447", "P", "452", "122", "2376", "24")
ALGO = ("448", "ALGO7", "447", "D", "452", "12", "2376", "22")
CLIENT = ("448", CLIENT_LEI, "447", "N", "452", "3", "2376", "23")

REPLACE = {11: "C3", 41: "C1", 55: "AAPL", 54: "1", 40: "2", 59: "1", 38: "150", 44: "190.10"}


def with_parties(
    msg: fix.Message, *entries: tuple[str, ...], count: str | None = None, delim: int = 448
) -> fix.Message:
    """msg with a Parties group, each entry given as tag, value, tag, value...; count
    overrides NoPartyIDs (453) after the entries are added, to send a wrong count."""
    for entry in entries:
        group = fix.Group(453, delim)
        for i in range(0, len(entry), 2):
            group.setField(int(entry[i]), entry[i + 1])
        msg.addGroup(group)
    if count is not None:
        msg.setField(453, count)
    return msg


def test_new_order_carries_parties_in_the_order_sent() -> None:
    msg = with_parties(new_order(t528="A", t100="XPAR"), DECISION_MAKER, ALGO)
    cmd = codec.decode_new_order(msg, SESSION)
    assert isinstance(cmd, NewOrder)
    assert cmd.parties == (Party("DM4711", "P", 122, 24), Party("ALGO7", "D", 12, 22))
    assert (cmd.order_capacity, cmd.ex_destination) == ("A", "XPAR")
    assert (cmd.cl_ord_id, cmd.quantity, cmd.price) == ("C1", D(100), D("190.05"))


def test_replace_carries_parties_capacity_and_destination() -> None:
    msg = with_parties(
        message("G", {**REPLACE, 528: "R", 100: "XETR"}), DECISION_MAKER, ALGO, CLIENT
    )
    cmd = codec.decode_replace(msg, SESSION)
    assert isinstance(cmd, ReplaceOrder)
    assert cmd.parties == (
        Party("DM4711", "P", 122, 24),
        Party("ALGO7", "D", 12, 22),
        Party(CLIENT_LEI, "N", 3, 23),
    )
    assert (cmd.order_capacity, cmd.ex_destination) == ("R", "XETR")
    assert (cmd.cl_ord_id, cmd.orig_cl_ord_id, cmd.quantity) == ("C3", "C1", D(150))


def test_party_without_source_or_qualifier_keeps_them_empty() -> None:
    cmd = codec.decode_new_order(
        with_parties(new_order(), ("448", "TRADER1", "452", "12")), SESSION
    )
    assert isinstance(cmd, NewOrder)
    assert cmd.parties == (Party("TRADER1", None, 12, None),)


def test_party_sub_ids_are_read_past() -> None:
    entry = fix.Group(453, 448)
    entry.setField(448, "DM4711")
    entry.setField(447, "P")
    entry.setField(452, "122")
    sub = fix.Group(802, 523)
    sub.setField(523, "desk 4")
    sub.setField(803, "9")
    entry.addGroup(sub)
    msg = new_order(t100="XPAR")
    msg.addGroup(entry)
    assert "\x01802=1\x01523=desk 4\x01803=9\x01" in msg.toString()
    cmd = codec.decode_new_order(msg, SESSION)
    assert isinstance(cmd, NewOrder)
    assert (cmd.parties, cmd.ex_destination) == ((Party("DM4711", "P", 122),), "XPAR")


@pytest.mark.parametrize("capacity", ["A", "P", "R"])
def test_supported_order_capacities_decode(capacity: str) -> None:
    cmd = codec.decode_new_order(new_order(t528=capacity), SESSION)
    assert isinstance(cmd, NewOrder) and cmd.order_capacity == capacity


def test_order_without_mifid_fields_has_no_parties_capacity_or_destination() -> None:
    cmd = codec.decode_new_order(new_order(), SESSION)
    assert isinstance(cmd, NewOrder)
    assert (cmd.parties, cmd.order_capacity, cmd.ex_destination) == ((), None, None)
    replace = codec.decode_replace(message("G", REPLACE), SESSION)
    assert isinstance(replace, ReplaceOrder)
    assert (replace.parties, replace.order_capacity, replace.ex_destination) == ((), None, None)


def test_empty_parties_group_is_no_parties() -> None:
    cmd = codec.decode_new_order(new_order(t453="0"), SESSION)
    assert isinstance(cmd, NewOrder) and cmd.parties == ()


MIFID_REJECTS = [
    (
        "fewer entries than NoPartyIDs",
        {},
        (DECISION_MAKER,),
        "2",
        "NoPartyIDs (453) says 2 but 1 PartyID (448) entries follow",
    ),
    (
        "more entries than NoPartyIDs",
        {},
        (DECISION_MAKER, ALGO),
        "1",
        "NoPartyIDs (453) says 1 but 2 PartyID (448) entries follow",
    ),
    (
        "entry without PartyRole",
        {},
        (DECISION_MAKER, ("448", "ALGO7", "447", "D", "2376", "22")),
        None,
        "PartyRole (452) is required in each Parties (453) entry",
    ),
    (
        "PartyRole not an integer",
        {},
        (("448", "ALGO7", "447", "D", "452", "trader"),),
        None,
        "PartyRole (452) is not an integer: 'trader'",
    ),
    (
        "PartyRoleQualifier not an integer",
        {},
        (("448", "ALGO7", "447", "D", "452", "12", "2376", "2.5"),),
        None,
        "PartyRoleQualifier (2376) is not an integer: '2.5'",
    ),
    (
        "LEI with wrong check digits",
        {},
        (("448", "5299000J2N45DDNE4Y29", "447", "N", "452", "3"),),
        None,
        "PartyID 5299000J2N45DDNE4Y29 with PartyIDSource N is not a valid LEI "
        "(ISO 17442 check digits)",
    ),
    (
        "unsupported OrderCapacity",
        {528: "G"},
        (),
        None,
        "OrderCapacity (528) value 'G' is not supported; "
        "use A (agency), P (principal), R (riskless principal)",
    ),
    (
        "ExDestination not a MIC",
        {100: "xx"},
        (),
        None,
        "ExDestination (100) 'xx' is not an ISO 10383 MIC",
    ),
    (
        "ExDestination in lower case",
        {100: "xpar"},
        (),
        None,
        "ExDestination (100) 'xpar' is not an ISO 10383 MIC",
    ),
    (
        "ISIN with wrong check digit",
        {48: "US0378331006", 22: "4"},
        (),
        None,
        "SecurityID (48) US0378331006 is not a valid ISIN (ISO 6166 check digit)",
    ),
]


@pytest.mark.parametrize(
    ("what", "changes", "entries", "count", "text"),
    MIFID_REJECTS,
    ids=[r[0] for r in MIFID_REJECTS],
)
def test_invalid_mifid_order_data_rejects_the_new_order_with_text(
    what: str,
    changes: dict[int, str],
    entries: tuple[tuple[str, ...], ...],
    count: str | None,
    text: str,
) -> None:
    msg = with_parties(message("D", {**NEW_ORDER, **changes}), *entries, count=count)
    cmd = codec.decode_new_order(msg, SESSION)
    assert isinstance(cmd, RejectInput), what
    assert (cmd.kind, cmd.text, cmd.cl_ord_id, cmd.quantity) == ("order", text, "C1", D(100))


@pytest.mark.parametrize(
    ("what", "changes", "entries", "count", "text"),
    MIFID_REJECTS,
    ids=[r[0] for r in MIFID_REJECTS],
)
def test_invalid_mifid_order_data_rejects_the_replace_with_text(
    what: str,
    changes: dict[int, str],
    entries: tuple[tuple[str, ...], ...],
    count: str | None,
    text: str,
) -> None:
    msg = with_parties(message("G", {**REPLACE, **changes}), *entries, count=count)
    cmd = codec.decode_replace(msg, SESSION)
    assert isinstance(cmd, RejectInput), what
    assert (cmd.kind, cmd.text, cmd.cl_ord_id, cmd.orig_cl_ord_id) == ("replace", text, "C3", "C1")


def test_parties_entry_not_opened_by_party_id_is_rejected() -> None:
    msg = with_parties(new_order(), ("447", "D", "448", "ALGO7", "452", "12"), delim=447)
    assert "\x01453=1\x01447=D\x01448=ALGO7\x01" in msg.toString()
    cmd = codec.decode_new_order(msg, SESSION)
    assert isinstance(cmd, RejectInput)
    assert cmd.text == "PartyID (448) must open each Parties (453) entry"


def test_non_numeric_party_count_is_rejected() -> None:
    cmd = codec.decode_new_order(new_order(t453="two"), SESSION)
    assert isinstance(cmd, RejectInput)
    assert cmd.text == "NoPartyIDs (453) is not a count: 'two'"


def test_cancel_naming_an_invalid_isin_is_rejected() -> None:
    msg = message("F", {11: "C2", 41: "C1", 55: "AAPL", 54: "2", 48: "US0378331006", 22: "4"})
    cmd = codec.decode_cancel(msg, SESSION)
    assert isinstance(cmd, RejectInput)
    assert (cmd.kind, cmd.text) == (
        "cancel",
        "SecurityID (48) US0378331006 is not a valid ISIN (ISO 6166 check digit)",
    )


def initiator_order(msg_type: str, begin_string: str, body: dict[int, str]) -> fix.Message:
    """A message built as a client's QuickFIX initiator builds it: header, body fields, and
    the Parties group added entry by entry through quickfix.Group."""
    msg = fix.Message()
    header = msg.getHeader()
    header.setField(8, begin_string)
    header.setField(35, msg_type)
    header.setField(49, "CLIENT1")
    header.setField(56, "QTGW")
    header.setField(34, "7")
    header.setField(52, "20250102-09:30:00.000123")
    if begin_string == "FIXT.1.1":
        header.setField(1128, "9")
    for tag, value in body.items():
        msg.setField(tag, value)
    for party_id, source, role, qualifier in (
        ("DM4711", "P", "122", "24"),
        ("ALGO7", "D", "12", "22"),
        (CLIENT_LEI, "N", "3", "23"),
    ):
        group = fix.Group(453, 448)
        group.setField(448, party_id)
        group.setField(447, source)
        group.setField(452, role)
        group.setField(2376, qualifier)
        msg.addGroup(group)
    return msg


INITIATOR_PARTIES = (
    Party("DM4711", "P", 122, 24),
    Party("ALGO7", "D", 12, 22),
    Party(CLIENT_LEI, "N", 3, 23),
)


@pytest.mark.parametrize(("msg_type", "body"), [("D", NEW_ORDER), ("G", REPLACE)])
def test_fix44_initiator_order_passes_the_dictionary_and_decodes_with_parties(
    msg_type: str, body: dict[int, str]
) -> None:
    sent = initiator_order(msg_type, "FIX.4.4", {**body, 60: NEW_ORDER[60], 528: "A", 100: "XPAR"})
    dd = fix.DataDictionary(str(SPECS / "FIX44.xml"))
    received = fix.Message(sent.toString(), dd, True)
    dd.validate(received)  # PartyRole 122, PartyIDSource N/P and 2376 are in our FIX 4.4
    assert received.groupCount(453) == 3
    decode = codec.decode_new_order if msg_type == "D" else codec.decode_replace
    cmd = decode(received, SESSION)
    assert isinstance(cmd, NewOrder | ReplaceOrder), cmd
    assert cmd.parties == INITIATOR_PARTIES
    assert (cmd.order_capacity, cmd.ex_destination) == ("A", "XPAR")


def test_fix50sp2_initiator_order_decodes_with_parties() -> None:
    sent = initiator_order("D", "FIXT.1.1", {**NEW_ORDER, 528: "P", 100: "XLON"})
    transport = fix.DataDictionary(str(SPECS / "FIXT11.xml"))
    app = fix.DataDictionary(str(SPECS / "FIX50SP2.xml"))
    received = fix.Message(sent.toString(), transport, app, True)
    assert received.groupCount(453) == 3
    cmd = codec.decode_new_order(received, SESSION)
    assert isinstance(cmd, NewOrder), cmd
    assert cmd.parties == INITIATOR_PARTIES
    assert (cmd.order_capacity, cmd.ex_destination) == ("P", "XLON")


# -- text that reaches outbound fields -------------------------------------------------------


def test_operator_text_with_fix_tags_cannot_inject_fields_into_a_report() -> None:
    msg = codec.encode_execution_report(
        report(exec_type=ExecType.CANCELED, text="kill\x01150=F\x0139=2\x0132=10\x0110=000\x01")
    )
    t = tags(msg)
    assert t[150] == "4" and t[58] == "kill?150=F?39=2?32=10?10=000?"
    assert codec.raw(msg).count("\x0139=") == 1


def test_a_report_whose_identifier_holds_soh_is_refused_not_sent() -> None:
    with pytest.raises(ValueError, match="SOH"):
        codec.encode_execution_report(report(cl_ord_id="C1\x0138=5"))


def test_session_reject_names_the_tag_the_reason_and_why() -> None:
    from qtinfra.domain.events import SessionRejected

    msg = codec.encode_session_reject(
        SessionRejected(SESSION, 7, "D", 58, "6", "tag 58 holds byte 0xff (not UTF-8)")
    )
    t = tags(msg)
    assert (t[35], t[45], t[371], t[372], t[373]) == ("3", "7", "58", "D", "6")
    assert "0xff" in t[58]


def test_one_event_that_cannot_be_encoded_does_not_stop_the_others() -> None:
    from qtinfra.fix.dispatch import Dispatcher

    class Registry:
        def session_id(self, key: str) -> str:
            return key

    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    dispatcher = Dispatcher(
        Registry(),  # type: ignore[arg-type]
        {},
        on_failed=lambda session, text: failed.append((session, text)),
    )
    dispatcher._send = lambda msg, session: sent.append(tags(msg)[11])  # type: ignore[method-assign]
    dispatcher.dispatch(
        [report(cl_ord_id="A1"), report(cl_ord_id="BAD\x0138=5"), report(cl_ord_id="A3")]
    )
    assert sent == ["A1", "A3"]
    assert (
        len(failed) == 1 and failed[0][0] == SESSION and "ExecutionReport not sent" in failed[0][1]
    )


def test_a_report_that_cannot_be_sent_is_stood_in_for_by_the_orders_status() -> None:
    from qtinfra.fix.dispatch import Dispatcher

    class Registry:
        def session_id(self, key: str) -> str:
            return key

    def fault(event: object) -> None:
        raise RuntimeError("an encoding bug")

    sent: list[dict[int, str]] = []
    failed: list[str] = []
    dispatcher = Dispatcher(
        Registry(),  # type: ignore[arg-type]
        {},
        on_failed=lambda session, text: failed.append(text),
        fault=fault,
    )
    dispatcher._send = lambda msg, session: sent.append(tags(msg))  # type: ignore[method-assign]
    fill = report(exec_id="QTE9", last_qty=D("30"), last_px=D("190"), last_mkt="CEUX")
    duplicate = report(  # a refused duplicate ClOrdID: it names another order
        exec_id="QTE10", exec_type=ExecType.REJECTED, ord_status=OrdStatus.NEW, cl_ord_id="DUP"
    )
    dispatcher.dispatch([fill, duplicate])

    [stand_in] = sent
    assert (stand_in[150], stand_in[39], stand_in[17], stand_in[14], stand_in[151]) == (
        "I",
        "1",
        "QTE9S",
        "30",
        "70",
    )
    assert 32 not in stand_in and 31 not in stand_in and 790 not in stand_in
    assert "ExecutionReport QTE9 (ExecType F) could not be sent" in stand_in[58]
    assert "the client was sent the order's status (150=I) instead" in failed[0]
    assert "instead" not in failed[1]  # no stand-in for the duplicate's refusal


def test_a_child_order_carries_the_mifid_order_data_as_a_parties_group() -> None:
    from qtinfra.domain.events import ChildOrderSent

    ev = ChildOrderSent(
        "CBOE", "C1", "O1", "AAPL", "US0378331005", Side.BUY, OrdType.LIMIT,
        TimeInForce.DAY, Decimal(10), Decimal("190"), NOW,
        (Party("123", "P", 3), Party("1001", "P", 122, 24), Party("2001", "P", 12, 22)), "A",
    )  # fmt: skip
    raw = venue_codec.encode_child_new(ev).toString().split("\x01")
    at = raw.index("453=3")
    assert raw[at + 1 : at + 12] == [
        "448=123", "447=P", "452=3",
        "448=1001", "447=P", "452=122", "2376=24",
        "448=2001", "447=P", "452=12", "2376=22",
    ]  # fmt: skip
    assert "528=A" in raw
