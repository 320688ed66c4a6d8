"""The FIX codec: quickfix.Message objects in, commands out; events in, messages out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import quickfix as fix
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.domain.commands import (
    CancelOrder,
    NewOrder,
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
from qtinfra.fix import codec

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


def test_cancel_request_decodes() -> None:
    msg = message("F", {11: "C2", 41: "C1", 37: "QT1", 55: "AAPL", 54: "2"})
    assert codec.decode_cancel(msg, SESSION) == CancelOrder(
        SESSION, "C2", "C1", "QT1", "AAPL", Side.SELL, False
    )


def test_cancel_without_orig_clordid_becomes_a_cancel_reject_input() -> None:
    msg = message("F", {11: "C2", 55: "AAPL", 54: "1"})
    cmd = codec.decode_cancel(msg, SESSION)
    assert isinstance(cmd, RejectInput)
    assert (cmd.kind, cmd.text, cmd.cl_ord_id) == ("cancel", "OrigClOrdID (41) is required", "C2")


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
        codec.encode_child_new(
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
        codec.encode_child_cancel(
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
    assert codec.fmt_decimal(D(value)) == text


@given(
    sign=st.integers(0, 1),
    digits=st.lists(st.integers(0, 9), min_size=1, max_size=30),
    exponent=st.integers(-30, 30),
)
def test_fmt_decimal_never_emits_an_exponent_and_round_trips(
    sign: int, digits: list[int], exponent: int
) -> None:
    value = Decimal((sign, tuple(digits), exponent))
    text = codec.fmt_decimal(value)
    assert "e" not in text.lower()
    assert Decimal(text) == value
    if "." in text:
        assert not text.endswith("0") and not text.endswith(".")


def test_parse_time_reads_milli_micro_and_nano_seconds() -> None:
    assert codec.parse_time("20250102-09:30:00") == datetime(2025, 1, 2, 9, 30, tzinfo=UTC)
    assert codec.parse_time("20250102-09:30:00.123") == datetime(
        2025, 1, 2, 9, 30, 0, 123000, tzinfo=UTC
    )
    assert codec.parse_time("20250102-09:30:00.123456789") == NOW


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_fmt_time_and_parse_time_round_trip_to_the_microsecond(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    assert codec.parse_time(codec.fmt_time(aware)) == aware


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
    cmd = codec.decode_venue_execution(msg, "CBOE", "CEUX")
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
    cmd = codec.decode_venue_execution(msg, "CBOE", "CEUX")
    assert (cmd.exec_type, cmd.last_px, cmd.cum_qty, cmd.last_qty) == (
        ExecType.ORDER_STATUS,
        D("190.02"),
        D(50),
        D(0),
    )


def test_venue_cancel_reject_for_an_unknown_order_has_no_status() -> None:
    msg = message("9", {11: "QT1.1.X", 41: "QT1.1", 39: "8", 102: "1", 58: "unknown"})
    cmd = codec.decode_venue_cancel_reject(msg, "CBOE")
    assert (cmd.child_id, cmd.orig_child_id, cmd.ord_status, cmd.text) == (
        "QT1.1.X",
        "QT1.1",
        None,
        "unknown",
    )


def test_venue_cancel_reject_too_late_keeps_the_status() -> None:
    msg = message("9", {11: "QT1.1.X", 41: "QT1.1", 39: "2", 102: "0"})
    assert codec.decode_venue_cancel_reject(msg, "CBOE").ord_status is OrdStatus.FILLED


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
    q = codec.decode_market_data(msg, "CBOE")
    assert (q.venue, q.symbol) == ("CBOE", "AAPL")
    assert q.bids == ((D("189.99"), D(10)), (D("189.98"), D(20)))
    assert q.asks == ((D("190.01"), D(5)), (D("190.02"), D(15)))


def test_empty_market_data_snapshot_is_an_empty_book() -> None:
    q = codec.decode_market_data(message("W", {262: "MD1", 55: "AAPL"}), "TRQ")
    assert (q.bids, q.asks) == ((), ())


def test_market_data_trade_entries_are_not_taken_as_asks() -> None:
    msg = snapshot([("0", "189.99", "10"), ("1", "190.01", "20"), ("2", "190.00", "5")])
    q = codec.decode_market_data(msg, "CBOE")
    assert q.asks == ((D("190.01"), D(20)),)


def test_market_data_request_asks_for_bids_and_offers_of_every_symbol() -> None:
    msg = codec.encode_market_data_request("MD1", ["AAPL", "MSFT"], depth=3)
    raw = codec.raw(msg)
    assert "\x01262=MD1\x01" in raw and "\x01264=3\x01" in raw
    assert raw.count("\x01269=") == 2 and raw.count("\x0155=") == 2
