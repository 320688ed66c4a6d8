"""The order manager with its pre-trade check chain: what the client and the venues see when
a check refuses, and the kill switch.

Driven with commands as the FIX codec builds them, read from the outbox as the gateway reads
it (helpers from test_manager.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

import pytest

from qtinfra.domain.commands import (
    NewOrder,
    Party,
    ReplaceOrder,
    VenueCancelReject,
    VenueQuote,
    VenueSessionStatus,
)
from qtinfra.domain.events import TradingStateChanged
from qtinfra.domain.values import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    Instrument,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from qtinfra.oms.manager import NONE_ID, OrderManager, Outbox
from qtinfra.risk.engine import Check, RiskEngine, Scope, TradingState
from qtinfra.risk.exposure import Exposure
from qtinfra.risk.limits import (
    AccountRecord,
    ClientLimits,
    FirmLimits,
    PartyDefault,
    RiskConfig,
)
from tests.unit.test_manager import (
    AAPL,
    FEES,
    JPM,
    MICS,
    NOW,
    S1,
    S2,
    SHEL,
    VENUES,
    cancel,
    cancel_rejects,
    cancels_sent,
    fill,
    new,
    one_report,
    placed,
    quote,
    reports,
    sent,
    venue_canceled,
    venue_rejected,
)

D = Decimal
FX = {"EUR": D(1), "USD": D("0.92"), "GBP": D("1.17")}
NOREF = Instrument("NOREF", "US0000000001", "USD", D("0.01"), D("1"), None, VENUES)
DECISION = Party("1001", "P", 122, 24)
TRADER = Party("2001", "P", 12, 22)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def record(account: str, capacity: Literal["A", "P", "R"] = "A") -> AccountRecord:
    return AccountRecord(
        account=account,
        kind="natural",
        national_id=f"GB{account}",
        decision_maker=PartyDefault(id="1001", source="P", qualifier=24),
        executing_trader=PartyDefault(id="2001", source="P", qualifier=22),
        order_capacity=capacity,
    )


ACCOUNTS = {"ACC1": record("ACC1"), "ACC2": record("ACC2", "P")}


def make(
    firm: FirmLimits | None = None,
    *,
    client: tuple[ClientLimits, ...] = (),
    positions: Mapping[tuple[str, str], Decimal] | None = None,
    clock: Clock | None = None,
    up: tuple[str, ...] = VENUES,
    on_risk: Callable[[Check | None, int | None], None] | None = None,
) -> OrderManager:
    risk = RiskEngine(
        RiskConfig(firm=firm or FirmLimits(), fx=FX, client=client),
        ACCOUNTS,
        {},
        MICS,
        Exposure(NOW.date(), positions),
        session_accounts={S1: "ACC1", S2: "ACC2"},
    )
    m = OrderManager(
        [AAPL, JPM, SHEL, NOREF],
        FEES,
        MICS,
        clock or Clock(),
        "QT",
        default_accounts={S1: "ACC1", S2: "ACC2"},
        risk=risk,
        on_risk=on_risk,
    )
    for venue in up:
        m.handle(VenueSessionStatus(venue, True))
    m.take_outbox()
    return m


def exposure(m: OrderManager) -> Exposure:
    assert m.risk is not None
    return m.risk.exposure


def replace_order(
    quantity: str,
    price: str | None,
    cl_ord_id: str = "C2",
    orig: str = "C1",
    *,
    session: str = S1,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    ord_type: OrdType = OrdType.LIMIT,
) -> ReplaceOrder:
    return ReplaceOrder(
        session,
        cl_ord_id,
        orig,
        None,
        symbol,
        side,
        ord_type,
        TimeInForce.DAY,
        D(quantity),
        D(price) if price is not None else None,
    )


def state_changes(out: Outbox) -> list[TradingStateChanged]:
    return [e for e in out.events if isinstance(e, TradingStateChanged)]


def directed(cl_ord_id: str = "C1", mic: str = "TRQX", quantity: str = "100") -> NewOrder:
    cmd = new(cl_ord_id, quantity)
    return dataclasses.replace(cmd, ex_destination=mic)


# -- refused new orders ------------------------------------------------------------------------


def test_new_order_refused_by_a_check_is_rejected_with_its_reason_and_text_and_not_booked() -> None:
    m = make(client=(ClientLimits(account="ACC1", max_order_quantity=D(1000)),))
    m.handle(new("C1", quantity="1001"))
    out = m.take_outbox()
    er = one_report(out)
    assert (er.exec_type, er.ord_status, er.ord_rej_reason) == (
        ExecType.REJECTED,
        OrdStatus.REJECTED,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert er.text == "order quantity 1,001 exceeds max_order_quantity 1,000 for client ACC1"
    assert (er.order_id, er.cl_ord_id, er.order_qty, er.cum_qty, er.leaves_qty) == (
        NONE_ID,
        "C1",
        D(1001),
        D(0),
        D(0),
    )
    assert (er.symbol, er.isin, er.account) == ("AAPL", "US0378331005", "ACC1")
    assert sent(out) == []
    assert not out.orders and not out.new_orders and not out.cl_ord_ids
    assert m.orders == {} and m.done_orders == {}
    assert exposure(m).firm_open_notional == 0
    # Nothing was booked under the ClOrdID: the client may send it again.
    out, _ = placed(m, new("C1", quantity="1000"))
    assert one_report(out).ord_status is OrdStatus.NEW


def test_refused_new_order_for_a_missing_account_gets_unknown_account() -> None:
    m = make()
    m.handle(new("C1", session="FIX.4.4:QTGW->OTHER", account=None))
    er = one_report(m.take_outbox())
    assert er.ord_rej_reason is OrdRejReason.UNKNOWN_ACCOUNT
    assert er.text == (
        "MiFID II order data: Account (1) is required (this session has no default account)"
    )


def test_collar_reference_is_the_venues_mid_else_the_configured_price() -> None:
    m = make(FirmLimits(price_collar_pct=D(1)))
    m.handle(new("C1", price="192.00"))  # 1.05% from the configured 190.00
    er = one_report(m.take_outbox())
    assert er.ord_rej_reason is OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND
    assert er.text == (
        "price collar: limit price 192.00 is 1.06% from the reference price 190.00 "
        "(configured reference price), beyond price_collar_pct 1% firm-wide"
    )
    m.handle(quote("CBOE", asks=(("191.00", "10"),), bids=(("190.00", "10"),)))
    m.handle(quote("TRQ", asks=(("191.20", "10"),), bids=(("190.80", "10"),)))
    out, _ = placed(m, new("C2", price="192.00"))  # best bid 190.80, best ask 191.00: 190.90
    assert one_report(out).ord_status is OrdStatus.NEW
    m.handle(new("C3", price="188.98"))
    er = one_report(m.take_outbox())
    assert er.text is not None and er.text.startswith(
        "price collar: limit price 188.98 is 1.01% from the reference price 190.90 (venues' mid)"
    )


def test_market_order_without_any_reference_price_is_rejected() -> None:
    m = make()
    m.handle(new("C1", price=None, symbol="NOREF"))
    er = one_report(m.take_outbox())
    assert (er.ord_status, er.ord_rej_reason) == (
        OrdStatus.REJECTED,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert er.text == (
        "price collar: market order rejected, no reference price for NOREF "
        "(no venue quotes it and none is configured)"
    )


def test_market_order_counts_in_exposure_at_the_reference_price() -> None:
    m = make()
    placed(m, new("C1", quantity="100", price=None))
    assert m.orders["QT1"].exposure_price == D("190.00") * D("0.92")
    assert exposure(m).open_notional["ACC1"] == D("17480.0000")


# -- accepted orders ---------------------------------------------------------------------------


def test_accepted_order_carries_the_mifid_order_data_from_the_defaults() -> None:
    m = make()
    out, _ = placed(m)
    row = out.orders["QT1"]
    assert (row.decision_maker, row.executing_trader, row.order_capacity) == (
        DECISION,
        TRADER,
        "A",
    )
    assert row.exposure_price == D("174.8000")
    assert exposure(m).order("QT1") == (D(100), D("17480.0000"))


def test_accepted_order_carries_the_mifid_order_data_of_the_message() -> None:
    m = make()
    algo = Party("ALGO1", "P", 12, 22)
    cmd = dataclasses.replace(new(), parties=(algo,), order_capacity="R")
    out, _ = placed(m, cmd)
    row = out.orders["QT1"]
    assert (row.decision_maker, row.executing_trader, row.order_capacity) == (
        DECISION,
        algo,
        "R",
    )


def test_on_risk_is_told_each_outcome_and_its_duration() -> None:
    seen: list[tuple[Check | None, int | None]] = []
    m = make(
        client=(ClientLimits(account="ACC1", max_order_quantity=D(100)),),
        on_risk=lambda check, ns: seen.append((check, ns)),
    )
    placed(m, new("C1", quantity="100"))
    m.handle(new("C2", quantity="101"))
    m.take_outbox()
    assert [check for check, _ in seen] == [None, Check.MAX_QUANTITY]
    assert all(isinstance(ns, int) and ns >= 0 for _, ns in seen)


# -- replaces ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "text"),
    [
        ("1001", "190.00", "order quantity 1,001 exceeds max_order_quantity 1,000 for client ACC1"),
        (
            "100",
            "210.00",
            "price collar: limit price 210.00 is 10.53% from the reference price 190.00 "
            "(configured reference price), beyond price_collar_pct 10% firm-wide",
        ),
    ],
)
def test_replace_that_would_breach_a_limit_is_refused_and_the_order_works_on(
    quantity: str, price: str, text: str
) -> None:
    m = make(
        FirmLimits(price_collar_pct=D(10)),
        client=(ClientLimits(account="ACC1", max_order_quantity=D(1000)),),
    )
    _, [child] = placed(m)
    before = exposure(m).order("QT1")
    m.handle(replace_order(quantity, price))
    out = m.take_outbox()
    [rej] = cancel_rejects(out)
    assert (rej.response_to, rej.reason, rej.text) == (
        CxlRejResponseTo.REPLACE,
        CxlRejReason.BROKER_OPTION,
        text,
    )
    assert (rej.cl_ord_id, rej.orig_cl_ord_id, rej.order_id, rej.ord_status) == (
        "C2",
        "C1",
        "QT1",
        OrdStatus.NEW,
    )
    assert reports(out) == [] and cancels_sent(out) == [] and sent(out) == []
    assert not out.cl_ord_ids
    order = m.orders["QT1"]
    assert (order.status, order.quantity, order.price, order.pending) == (
        OrdStatus.NEW,
        D(100),
        D("190.00"),
        None,
    )
    assert not m.children[child.child_id].cancel_requested
    assert exposure(m).order("QT1") == before


def test_replace_is_checked_net_of_the_orders_own_exposure() -> None:
    # 100 x 190.00 x 0.92 = 17,480.00 open; the credit limit is 110 shares' worth.
    m = make(client=(ClientLimits(account="ACC1", credit_limit=D("19228")),))
    _, [child] = placed(m)
    m.handle(replace_order("110", "190.00"))
    out = m.take_outbox()
    assert cancel_rejects(out) == []
    assert one_report(out).exec_type is ExecType.PENDING_REPLACE
    # While pending it counts at the larger of the old and the new terms.
    assert exposure(m).order("QT1") == (D(110), D("19228.0000"))
    er = one_report(venue_canceled(m, child.child_id))
    assert (er.exec_type, er.order_qty) == (ExecType.REPLACED, D(110))
    m.handle(replace_order("111", "190.00", "C3", "C2"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.text == (
        "credit limit: open orders and today's executions 19,228.00 EUR plus this order "
        "174.80 EUR exceed credit_limit 19,228.00 EUR for client ACC1"
    )


def test_replace_under_the_kill_switch_is_refused_with_its_text() -> None:
    m = make()
    placed(m)
    m.set_trading_state(Scope.SESSION, S1, TradingState.REDUCING, "review", "ops")
    m.take_outbox()
    m.handle(replace_order("110", "190.00"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.BROKER_OPTION
    assert rej.text.startswith(f"kill switch: trading is REDUCING for session {S1} (review)")
    # A replace that does not add to the order's open quantity passes under REDUCING.
    m.handle(replace_order("90", "190.00", "C4"))
    out = m.take_outbox()
    assert cancel_rejects(out) == []
    assert one_report(out).exec_type is ExecType.PENDING_REPLACE
    m.set_trading_state(Scope.SESSION, S1, TradingState.HALTED, "stop", "ops")
    m.take_outbox()
    m.handle(replace_order("90", "190.00", "C3"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.text == (
        f"kill switch: trading is HALTED for session {S1} (stop); only cancels are accepted"
    )


def test_confirmed_replace_at_a_new_price_counts_the_new_price_in_exposure() -> None:
    m = make()
    _, [child] = placed(m)
    m.handle(replace_order("100", "180.00"))
    m.take_outbox()
    er = one_report(venue_canceled(m, child.child_id))
    assert (er.exec_type, er.price) == (ExecType.REPLACED, D("180.00"))
    assert exposure(m).order("QT1") == (D(100), D(100) * D("180.00") * D("0.92"))


def test_replace_with_an_invalid_party_qualifier_is_refused_with_the_order_data_text() -> None:
    m = make()
    placed(m)
    bad = Party("X1", "P", 12, 23)
    cmd = dataclasses.replace(replace_order("100", "190.00"), parties=(bad,))
    m.handle(cmd)
    [rej] = cancel_rejects(m.take_outbox())
    assert (rej.reason, rej.text) == (
        CxlRejReason.BROKER_OPTION,
        "MiFID II order data: PartyRoleQualifier (2376) 23 is not valid for PartyRole 12; "
        "use 24 (natural person) or 22 (algorithm)",
    )
    assert m.orders["QT1"].executing_trader == TRADER


def test_replace_carrying_new_order_data_updates_the_orders_mifid_data() -> None:
    m = make()
    _, [child] = placed(m)
    algo = Party("ALGO2", "P", 12, 22)
    cmd = dataclasses.replace(replace_order("100", "190.00"), parties=(algo,), order_capacity="P")
    m.handle(cmd)
    assert cancel_rejects(m.take_outbox()) == []
    assert one_report(venue_canceled(m, child.child_id)).exec_type is ExecType.REPLACED
    order = m.orders["QT1"]
    assert (order.decision_maker, order.executing_trader, order.order_capacity) == (
        DECISION,
        algo,
        "P",
    )


# -- throttled cancels -------------------------------------------------------------------------


def test_throttled_cancel_is_refused_and_the_order_works_on() -> None:
    seen: list[tuple[Check | None, int | None]] = []
    clock = Clock()
    m = make(
        client=(ClientLimits(account="ACC1", messages_per_second=1),),
        clock=clock,
        on_risk=lambda check, ns: seen.append((check, ns)),
    )
    _, [child] = placed(m)
    clock.advance(0.5)
    m.handle(cancel())
    out = m.take_outbox()
    [rej] = cancel_rejects(out)
    assert (rej.response_to, rej.reason, rej.ord_status) == (
        CxlRejResponseTo.CANCEL,
        CxlRejReason.BROKER_OPTION,
        OrdStatus.NEW,
    )
    assert rej.text == (
        "throttle: more than 1 order messages per second on this session "
        "(messages_per_second); send it again later"
    )
    assert cancels_sent(out) == [] and reports(out) == [] and not out.cl_ord_ids
    assert m.orders["QT1"].status is OrdStatus.NEW
    assert seen[-1] == (Check.THROTTLE, None)
    # A second later the same ClOrdID goes through.
    clock.advance(0.6)
    m.handle(cancel())
    out = m.take_outbox()
    assert one_report(out).exec_type is ExecType.PENDING_CANCEL
    assert [c.orig_child_id for c in cancels_sent(out)] == [child.child_id]


def test_throttle_counts_the_new_orders_and_replaces_of_a_session() -> None:
    clock = Clock()
    m = make(FirmLimits(session_messages_per_second=3), clock=clock)
    placed(m)  # 1
    m.handle(replace_order("90", "190.00"))  # 2
    m.take_outbox()
    placed(m, new("C3", session=S2, account="ACC2"))  # another session
    m.handle(new("C4"))  # 3
    m.take_outbox()
    m.handle(new("C5"))
    er = one_report(m.take_outbox())
    assert er.ord_rej_reason is OrdRejReason.OTHER
    assert er.text is not None and er.text.startswith("throttle: more than 3 order messages")


# -- kill switch -------------------------------------------------------------------------------


def _two_clients(m: OrderManager) -> tuple[str, str]:
    """ACC1's order QT1 (on S1) and ACC2's order QT2 (on S2); their children."""
    _, [a] = placed(m, new("C1"))
    _, [b] = placed(m, new("K1", session=S2, account="ACC2"))
    return a.child_id, b.child_id


def test_halting_a_client_cancels_its_open_orders_and_leaves_others_alone() -> None:
    m = make()
    a, b = _two_clients(m)
    fill(m, a, "30", "190.00")
    count = m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "margin call", "ops:al")
    out = m.take_outbox()
    assert count == 1
    assert [c.orig_child_id for c in cancels_sent(out)] == [a]
    assert reports(out) == []  # Canceled once the venue confirms
    assert state_changes(out) == [
        TradingStateChanged(
            scope="client",
            target="ACC1",
            state="HALTED",
            reason="margin call",
            actor="ops:al",
            orders_canceled=1,
            transact_time=NOW,
        )
    ]
    er = one_report(venue_canceled(m, a))
    assert (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty) == (
        ExecType.CANCELED,
        OrdStatus.CANCELED,
        D(30),
        D(0),
    )
    assert er.text == "kill switch: margin call"
    assert er.cl_ord_id == "C1"
    assert "QT1" not in m.orders
    assert exposure(m).order("QT1") == (D(0), D(0))
    assert m.orders["QT2"].status is OrdStatus.NEW
    assert not m.children[b].cancel_requested
    # New orders of the halted client are refused; the other client trades on.
    m.handle(new("C9"))
    er = one_report(m.take_outbox())
    assert (er.ord_rej_reason, er.text) == (
        OrdRejReason.BROKER_OPTION,
        "kill switch: trading is HALTED for client ACC1 (margin call); only cancels are accepted",
    )
    out, _ = placed(m, new("K2", session=S2, account="ACC2"))
    assert one_report(out).ord_status is OrdStatus.NEW


def test_halted_client_may_still_cancel() -> None:
    m = make()
    _, [child] = placed(m)
    m.set_trading_state(Scope.CLIENT, "ACC2", TradingState.HALTED, "x", "ops")
    m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.REDUCING, "x", "ops")
    m.take_outbox()
    m.handle(cancel())
    assert one_report(m.take_outbox()).exec_type is ExecType.PENDING_CANCEL
    assert one_report(venue_canceled(m, child.child_id)).ord_status is OrdStatus.CANCELED


def test_halting_refuses_a_pending_replace_and_cancels_the_order() -> None:
    m = make()
    _, [child] = placed(m)
    m.handle(replace_order("150", "190.05"))
    m.take_outbox()
    count = m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "limit breach", "ops")
    out = m.take_outbox()
    assert count == 1
    [rej] = cancel_rejects(out)
    assert (rej.response_to, rej.reason, rej.text) == (
        CxlRejResponseTo.REPLACE,
        CxlRejReason.BROKER_OPTION,
        "kill switch: limit breach; replace refused",
    )
    assert (rej.cl_ord_id, rej.orig_cl_ord_id) == ("C2", "C1")
    assert cancels_sent(out) == []  # the replace already asked the venue to cancel
    # The refused replace no longer counts in exposure at its larger terms.
    assert exposure(m).order("QT1") == (D(100), D("17480.0000"))
    out = venue_canceled(m, child.child_id)
    er = one_report(out)
    assert (er.exec_type, er.order_qty, er.price, er.text) == (
        ExecType.CANCELED,
        D(100),
        D("190.00"),
        "kill switch: limit breach",
    )
    assert sent(out) == []


def test_a_pending_cancel_completes_as_the_clients_cancel_under_the_kill_switch() -> None:
    m = make()
    _, [child] = placed(m)
    m.handle(cancel())
    m.take_outbox()
    assert m.set_trading_state(Scope.FIRM, "", TradingState.HALTED, "x", "ops") == 1
    out = m.take_outbox()
    assert cancel_rejects(out) == [] and cancels_sent(out) == []
    er = one_report(venue_canceled(m, child.child_id))
    assert (er.ord_status, er.cl_ord_id, er.orig_cl_ord_id) == (OrdStatus.CANCELED, "C2", "C1")


@pytest.mark.parametrize(
    ("scope", "target", "killed"),
    [(Scope.SESSION, S2, ["QT2"]), (Scope.FIRM, "", ["QT1", "QT2"])],
)
def test_halting_a_session_or_the_firm_cancels_the_orders_in_scope(
    scope: Scope, target: str, killed: list[str]
) -> None:
    m = make()
    _two_clients(m)
    count = m.set_trading_state(scope, target, TradingState.HALTED, "venue outage", "ops")
    out = m.take_outbox()
    assert count == len(killed)
    assert sorted(c.order_id for c in cancels_sent(out)) == killed
    [change] = state_changes(out)
    assert (change.scope, change.target, change.orders_canceled) == (
        scope.value,
        target,
        len(killed),
    )


def test_reducing_and_active_cancel_nothing() -> None:
    m = make()
    _two_clients(m)
    assert m.set_trading_state(Scope.FIRM, "", TradingState.REDUCING, "close out", "ops") == 0
    out = m.take_outbox()
    assert cancels_sent(out) == []
    assert state_changes(out)[0].state == "REDUCING"
    m.set_trading_state(Scope.FIRM, "", TradingState.HALTED, "stop", "ops")
    m.take_outbox()
    assert m.set_trading_state(Scope.FIRM, "", TradingState.ACTIVE, "resume", "ops") == 0
    out = m.take_outbox()
    assert [(c.state, c.orders_canceled) for c in state_changes(out)] == [("ACTIVE", 0)]
    out, _ = placed(m, new("C7"))
    assert one_report(out).ord_status is OrdStatus.NEW


def test_halting_twice_does_not_cancel_twice() -> None:
    m = make()
    _two_clients(m)
    assert m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "a", "ops") == 1
    m.take_outbox()
    # Halting again includes the order being killed (a refused cancel would be sent
    # again) but does not send a second cancel while one is outstanding.
    assert m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "b", "ops") == 1
    assert cancels_sent(m.take_outbox()) == []


def test_kill_switch_needs_a_risk_engine() -> None:
    m = OrderManager([AAPL], FEES, MICS, Clock(), "QT")
    with pytest.raises(ValueError, match="no risk engine"):
        m.set_trading_state(Scope.FIRM, "", TradingState.HALTED, "x", "ops")


def test_halting_again_retries_a_cancel_the_venue_refused() -> None:
    m = make()
    _, [child] = placed(m)
    m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "stop", "ops")
    m.take_outbox()
    m.handle(
        VenueCancelReject(child.venue, f"{child.child_id}.X", child.child_id, OrdStatus.NEW, "busy")
    )
    m.take_outbox()
    assert m.orders["QT1"].is_live
    m.set_trading_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "stop again", "ops")
    assert [c.orig_child_id for c in cancels_sent(m.take_outbox())] == [child.child_id]


# -- directed orders ---------------------------------------------------------------------------


def test_directed_order_routes_only_to_its_venue() -> None:
    m = make()
    m.handle(quote("CBOE", asks=(("190.00", "1000"),)))
    m.handle(quote("AQX", asks=(("190.00", "1000"),)))
    out, _ = placed(m, directed("C1", "TRQX", "500"))
    assert [(c.venue, c.quantity) for c in sent(out)] == [("TRQ", D(500))]
    assert m.orders["QT1"].ex_destination == "TRQX"
    # Undirected, the same order goes where the liquidity is.
    out, _ = placed(m, new("C2", quantity="500"))
    assert {c.venue for c in sent(out)} <= {"CBOE", "AQX"}


def test_directed_order_is_not_rerouted_when_its_venue_rejects_it() -> None:
    m = make()
    _, [child] = placed(m, directed())
    out = venue_rejected(m, child.child_id)
    assert sent(out) == []
    er = one_report(out)
    assert er.ord_status is OrdStatus.CANCELED
    assert er.text is not None and er.text.startswith("remainder canceled: no venue session")


def test_directed_order_for_a_venue_that_is_down_is_rejected() -> None:
    m = make(up=("CBOE", "AQX"))
    m.handle(directed())
    er = one_report(m.take_outbox())
    assert (er.ord_status, er.ord_rej_reason) == (OrdStatus.REJECTED, OrdRejReason.EXCHANGE_CLOSED)


def test_directed_order_to_a_venue_not_trading_the_instrument_is_refused() -> None:
    m = make()
    cmd = dataclasses.replace(new(symbol="JPM", price="200.00"), ex_destination="CEUX")
    m.handle(cmd)
    er = one_report(m.take_outbox())
    assert (er.order_id, er.ord_rej_reason, er.text) == (
        NONE_ID,
        OrdRejReason.OTHER,
        "ExDestination (100) CEUX does not trade JPM",
    )


# -- end of day --------------------------------------------------------------------------------


def test_expire_day_orders_filters_by_symbol_and_order_id() -> None:
    m = make()
    _, [aapl] = placed(m, new("C1"))
    _, [jpm] = placed(m, new("C2", symbol="JPM", price="200.00"))
    _, [aapl2] = placed(m, new("C3"))
    placed(m, new("C4", tif=TimeInForce.GTC))

    assert m.expire_day_orders(symbols=["JPM"]) == 1
    out = m.take_outbox()
    assert [c.orig_child_id for c in cancels_sent(out)] == [jpm.child_id]
    er = one_report(venue_canceled(m, jpm.child_id))
    assert (er.exec_type, er.ord_status, er.text) == (
        ExecType.EXPIRED,
        OrdStatus.EXPIRED,
        "DAY order expired at the venue's close",
    )

    assert m.expire_day_orders(symbols=["AAPL"], order_ids=["QT3", "QT4"]) == 1
    out = m.take_outbox()
    assert [c.orig_child_id for c in cancels_sent(out)] == [aapl2.child_id]
    assert (
        m.orders["QT1"].status is OrdStatus.NEW and not m.children[aapl.child_id].cancel_requested
    )

    assert m.expire_day_orders(order_ids=["QT1"]) == 1
    assert [c.orig_child_id for c in cancels_sent(m.take_outbox())] == [aapl.child_id]
    assert m.orders["QT4"].status is OrdStatus.NEW  # GTC never expires here


def test_new_order_routed_nowhere_leaves_no_exposure() -> None:
    m = make(up=())
    m.handle(new())
    er = one_report(m.take_outbox())
    assert er.ord_rej_reason is OrdRejReason.EXCHANGE_CLOSED
    assert exposure(m).firm_open_notional == 0 and exposure(m).order("QT1") == (D(0), D(0))


def test_fills_reach_positions_and_todays_executions_in_the_base_currency() -> None:
    m = make(positions={("ACC1", "AAPL"): D(50)})
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "189.50")
    x = exposure(m)
    assert x.position("ACC1", "AAPL") == D(90)
    assert x.executed["ACC1"] == D(40) * D("189.50") * D("0.92")
    assert x.order("QT1") == (D(60), D(60) * D("174.80"))


def test_reference_price_is_the_venues_mid_else_the_configured_one() -> None:
    m = make()
    m.handle(VenueQuote("CBOE", "AAPL", ((D("189.00"), D(1)),), ((D("189.02"), D(1)),)))
    assert m.market.reference_price(AAPL) == (D("189.01"), "venues' mid")
    assert m.market.reference_price(NOREF) == (None, "none")
    assert m.market.reference_price(JPM) == (D("200.00"), "configured reference price")
