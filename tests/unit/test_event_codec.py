"""Journaled events come back from their payloads exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from qtinfra.domain.commands import Party
from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    ChildCancelSent,
    ChildOrderSent,
    ChildStatusSent,
    ExecutionReport,
    SessionRejected,
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
from qtinfra.store.event_codec import event_from_payload
from qtinfra.store.journal import event_payload

NOW = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
D = Decimal

EVENTS = [
    ExecutionReport(
        session="FIX.4.4:QTGW->CLIENT1",
        order_id="O1",
        cl_ord_id="C1",
        orig_cl_ord_id=None,
        exec_id="E1",
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        symbol="AAPL",
        isin="US0378331005",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        time_in_force=TimeInForce.DAY,
        order_qty=D("100"),
        price=D("190.05"),
        cum_qty=D("30"),
        leaves_qty=D("70"),
        avg_px=D("190.00666667"),
        transact_time=NOW,
        last_qty=D("30"),
        last_px=D("190.00"),
        ord_rej_reason=OrdRejReason.OTHER,
        decision_maker=Party("1001", "P", 122, 24),
        executing_trader=Party("2001", "P", 12, 22),
    ),
    CancelRejected(
        "FIX.4.4:QTGW->CLIENT1",
        "O1",
        "C2",
        "C1",
        OrdStatus.FILLED,
        CxlRejResponseTo.CANCEL,
        CxlRejReason.TOO_LATE_TO_CANCEL,
        "too late",
        NOW,
    ),
    BusinessRejected("FIX.4.4:QTGW->CLIENT1", "AE", "3", "unsupported", 7, None),
    SessionRejected("FIX.4.4:QTGW->CLIENT1", 7, "D", 58, "6", "tag 58 holds byte 0xff"),
    ChildOrderSent(
        "CBOE", "K1", "O1", "AAPL", "US0378331005", Side.BUY, OrdType.LIMIT, TimeInForce.DAY,
        D("10"), D("190.1"), NOW,
    ),
    ChildCancelSent("CBOE", "K2", "K1", "O1", "AAPL", Side.BUY, D("10"), NOW),
    ChildStatusSent("CBOE", "K1", "AAPL", Side.BUY),
]  # fmt: skip


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_released_event_round_trips_through_its_payload(event: object) -> None:
    assert event_from_payload(type(event).__name__, event_payload(event)) == event  # type: ignore[arg-type]


def test_a_kind_that_is_not_sent_to_a_session_is_refused() -> None:
    with pytest.raises(KeyError):
        event_from_payload("TradingStateChanged", "{}")


def test_an_event_with_a_byte_that_is_not_utf8_is_journaled_readably_and_losslessly() -> None:
    import orjson

    from qtinfra.store.journal_text import unescape

    event = CancelRejected(
        "FIX.4.4:QTGW->CLIENT1", "O1", "C2", "C1", OrdStatus.NEW, CxlRejResponseTo.CANCEL,
        CxlRejReason.BROKER_OPTION, "venue CBOE refused: caf\udce9", NOW,
    )  # fmt: skip
    payload = event_payload(event)
    assert orjson.loads(payload)["text"] == "venue CBOE refused: caf\\xe9"
    back = event_from_payload("CancelRejected", payload)
    assert isinstance(back, CancelRejected) and unescape(back.text) == event.text
