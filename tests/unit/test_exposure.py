"""Exposure: open notional, today's executions, positions and open quantity per side.

Unit tests for each rule, then two property tests: random sequences of order changes and
fills applied to Exposure directly and checked against a simple model after every step, and
random client and venue traffic through the OrderManager checked against the manager's own
live orders. Every comparison is exact Decimal equality.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from qtinfra.domain.commands import (
    CancelOrder,
    NewOrder,
    ReplaceOrder,
    VenueQuote,
    VenueSessionStatus,
)
from qtinfra.domain.orders import ChangeKind, Order
from qtinfra.domain.values import OrdStatus, OrdType, Side, TimeInForce
from qtinfra.oms.manager import OrderManager
from qtinfra.risk.engine import RiskEngine
from qtinfra.risk.exposure import ZERO, Exposure
from qtinfra.risk.limits import AccountRecord, ClientLimits, PartyDefault, RiskConfig
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
    ack,
    fill,
    venue_canceled,
)

D = Decimal
DAY = date(2025, 1, 2)
FX = {"EUR": D(1), "USD": D("0.92"), "GBP": D("1.17")}


# -- unit tests --------------------------------------------------------------------------------


def test_set_order_counts_open_notional_per_client_side_and_firm() -> None:
    x = Exposure(DAY)
    x.set_order("O1", "ACC1", "AAPL", True, D(100), D("17480.00"))
    x.set_order("O2", "ACC1", "AAPL", False, D(40), D("6992.00"))
    x.set_order("O3", "ACC2", "SHEL", True, D(10), D("31590.00"))
    assert x.open_notional == {"ACC1": D("24472.00"), "ACC2": D("31590.00")}
    assert x.firm_open_notional == D("56062.00")
    assert x.open_quantity("ACC1", "AAPL", True) == D(100)
    assert x.open_quantity("ACC1", "AAPL", False) == D(40)
    assert x.open_quantity("ACC2", "AAPL", True) == ZERO
    assert x.order("O1") == (D(100), D("17480.00"))
    assert x.credit_used("ACC1") == D("24472.00")
    assert x.firm_credit_used == D("56062.00")


def test_set_order_replaces_the_orders_previous_contribution() -> None:
    x = Exposure(DAY)
    x.set_order("O1", "ACC1", "AAPL", True, D(100), D("17480.00"))
    x.set_order("O1", "ACC1", "AAPL", True, D(60), D("10488.00"))
    assert x.open_notional["ACC1"] == D("10488.00")
    assert x.open_quantity("ACC1", "AAPL", True) == D(60)
    # The same values again change nothing.
    x.set_order("O1", "ACC1", "AAPL", True, D(60), D("10488.00"))
    assert (x.open_notional["ACC1"], x.firm_open_notional) == (D("10488.00"), D("10488.00"))


def test_set_order_with_zero_leaves_forgets_the_order() -> None:
    x = Exposure(DAY)
    x.set_order("O1", "ACC1", "AAPL", True, D(100), D("17480.00"))
    x.set_order("O1", "ACC1", "AAPL", True, ZERO, ZERO)
    assert x.order("O1") == (ZERO, ZERO)
    assert x.open_notional["ACC1"] == ZERO and x.firm_open_notional == ZERO
    assert x.open_quantity("ACC1", "AAPL", True) == ZERO
    # An order never seen that is done at once leaves no trace.
    x.set_order("O2", "ACC1", "AAPL", True, ZERO, ZERO)
    assert x.order("O2") == (ZERO, ZERO) and x.firm_open_notional == ZERO


def test_fill_moves_the_position_and_todays_executions() -> None:
    x = Exposure(DAY, {("ACC1", "AAPL"): D(500)})
    x.fill("ACC1", "AAPL", False, D(200), D("34960.00"), DAY)
    x.fill("ACC1", "AAPL", True, D(50), D("8740.00"), DAY)
    assert x.position("ACC1", "AAPL") == D(350)
    assert x.executed == {"ACC1": D("43700.00")}
    assert x.firm_executed == D("43700.00")
    assert x.credit_used("ACC1") == D("43700.00")
    assert x.position("ACC2", "AAPL") == ZERO


def test_fill_of_an_earlier_day_moves_the_position_only() -> None:
    x = Exposure(DAY)
    x.fill("ACC1", "AAPL", True, D(100), D("17480.00"), DAY - timedelta(days=1))
    assert x.position("ACC1", "AAPL") == D(100)
    assert x.executed == {} and x.firm_executed == ZERO
    assert x.day == DAY


def test_fill_of_a_later_day_starts_a_new_day_of_executions() -> None:
    x = Exposure(DAY)
    x.set_order("O1", "ACC1", "AAPL", True, D(100), D("17480.00"))
    x.fill("ACC1", "AAPL", True, D(10), D("1748.00"), DAY)
    x.fill("ACC2", "AAPL", True, D(10), D("1748.00"), DAY)
    x.fill("ACC1", "AAPL", True, D(5), D("874.00"), DAY + timedelta(days=1))
    assert x.day == DAY + timedelta(days=1)
    assert x.executed == {"ACC1": D("874.00")}
    assert x.firm_executed == D("874.00")
    assert x.position("ACC1", "AAPL") == D(15)
    # Open orders carry over the day boundary.
    assert x.credit_used("ACC1") == D("17480.00") + D("874.00")


def test_roll_resets_executions_only_when_the_day_advances() -> None:
    x = Exposure(DAY)
    x.fill("ACC1", "AAPL", True, D(10), D("1748.00"), DAY)
    x.roll(DAY)
    x.roll(DAY - timedelta(days=3))
    assert x.executed == {"ACC1": D("1748.00")} and x.day == DAY
    x.roll(DAY + timedelta(days=1))
    assert x.executed == {} and x.firm_executed == ZERO
    assert x.position("ACC1", "AAPL") == D(10)


def test_snapshot_gives_a_clients_usage_as_strings() -> None:
    x = Exposure(DAY, {("ACC1", "SHEL"): D(-5), ("ACC2", "AAPL"): D(7)})
    x.set_order("O1", "ACC1", "AAPL", True, D(100), D("17480.00"))
    x.fill("ACC1", "AAPL", True, D(10), D("1748.00"), DAY)
    assert x.snapshot("ACC1") == {
        "account": "ACC1",
        "day": "2025-01-02",
        "open_notional": "17480.00",
        "executed_today": "1748.00",
        "credit_used": "19228.00",
        "positions": {"AAPL": "10", "SHEL": "-5"},
    }
    assert x.snapshot("ACC9")["credit_used"] == "0"


# -- property test: Exposure against a model ---------------------------------------------------


ACCOUNTS = ("ACC1", "ACC2", "ACC3")
SYMBOL_FX = {"AAPL": D("0.92"), "SAP": D(1), "SHEL": D("1.17")}
ORDER_IDS = tuple(f"O{n}" for n in range(1, 6))
START = {("ACC1", "AAPL"): D(1000), ("ACC2", "SHEL"): D(-250), ("ACC3", "SAP"): D("0.5")}

quantities = st.integers(1, 5000).map(D)
prices = st.integers(1, 500_000).map(lambda n: D(n) / 100)  # 0.01 .. 5,000.00


@dataclass
class _ModelOrder:
    account: str
    symbol: str
    buy: bool
    quantity: Decimal
    price: Decimal
    cum: Decimal = ZERO
    live: bool = True

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.cum if self.live else ZERO


@dataclass(frozen=True)
class _ModelFill:
    account: str
    symbol: str
    signed: Decimal
    notional: Decimal
    day: date


class ExposureModel(RuleBasedStateMachine):
    """Orders open, fill in part, get cancelled and replaced; fills arrive for today,
    earlier days and later days."""

    def __init__(self) -> None:
        super().__init__()
        self.exposure = Exposure(DAY, START)
        self.day = DAY
        self.orders: dict[str, _ModelOrder] = {}
        self.fills: list[_ModelFill] = []

    def _push(self, order_id: str) -> None:
        o = self.orders[order_id]
        unit = o.price * SYMBOL_FX[o.symbol]
        self.exposure.set_order(order_id, o.account, o.symbol, o.buy, o.leaves, o.leaves * unit)
        if not o.leaves:
            o.live = False

    def _live(self) -> list[str]:
        return sorted(k for k, o in self.orders.items() if o.live)

    @rule(
        order_id=st.sampled_from(ORDER_IDS),
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(SYMBOL_FX)),
        buy=st.booleans(),
        quantity=quantities,
        price=prices,
    )
    def open(
        self,
        order_id: str,
        account: str,
        symbol: str,
        buy: bool,
        quantity: Decimal,
        price: Decimal,
    ) -> None:
        if order_id in self.orders and self.orders[order_id].live:
            return
        self.orders[order_id] = _ModelOrder(account, symbol, buy, quantity, price)
        self._push(order_id)

    @rule(data=st.data(), day_offset=st.sampled_from((0, 0, 0, -1, -3, 1)), fill_px=prices)
    def fill(self, data: st.DataObject, day_offset: int, fill_px: Decimal) -> None:
        live = self._live()
        if not live:
            return
        order_id = data.draw(st.sampled_from(live))
        o = self.orders[order_id]
        qty = data.draw(st.integers(1, int(o.leaves)).map(D)) if o.leaves >= 1 else o.leaves
        day = self.day + timedelta(days=day_offset)
        notional = qty * fill_px * SYMBOL_FX[o.symbol]
        self.exposure.fill(o.account, o.symbol, o.buy, qty, notional, day)
        self.fills.append(_ModelFill(o.account, o.symbol, qty if o.buy else -qty, notional, day))
        self.day = max(self.day, day)
        o.cum += qty
        self._push(order_id)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        live = self._live()
        if live:
            order_id = data.draw(st.sampled_from(live))
            self.orders[order_id].live = False
            self._push(order_id)

    @rule(data=st.data(), extra=st.integers(0, 5000).map(D), price=prices)
    def replace(self, data: st.DataObject, extra: Decimal, price: Decimal) -> None:
        live = self._live()
        if live:
            order_id = data.draw(st.sampled_from(live))
            o = self.orders[order_id]
            o.quantity, o.price = o.cum + extra, price  # never below CumQty
            self._push(order_id)

    @rule(data=st.data(), price=prices)
    def reprice(self, data: st.DataObject, price: Decimal) -> None:
        """A replace of the price only: same open quantity, new notional."""
        live = self._live()
        if live:
            order_id = data.draw(st.sampled_from(live))
            self.orders[order_id].price = price
            self._push(order_id)

    @rule(days=st.integers(0, 2))
    def roll(self, days: int) -> None:
        self.day += timedelta(days=days)
        self.exposure.roll(self.day)

    @invariant()
    def matches_the_model(self) -> None:
        x = self.exposure
        assert x.day == self.day
        notional: dict[str, Decimal] = defaultdict(Decimal)
        buys: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        sells: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for order_id, o in self.orders.items():
            leaves = o.leaves
            assert x.order(order_id) == (leaves, leaves * o.price * SYMBOL_FX[o.symbol])
            notional[o.account] += leaves * o.price * SYMBOL_FX[o.symbol]
            (buys if o.buy else sells)[(o.account, o.symbol)] += leaves
        positions: dict[tuple[str, str], Decimal] = defaultdict(Decimal, START)
        executed: dict[str, Decimal] = defaultdict(Decimal)
        for f in self.fills:
            positions[(f.account, f.symbol)] += f.signed
            if f.day == self.day:
                executed[f.account] += f.notional
        for account in ACCOUNTS:
            assert x.open_notional.get(account, ZERO) == notional[account]
            assert x.executed.get(account, ZERO) == executed[account]
            assert x.credit_used(account) == notional[account] + executed[account]
            for symbol in SYMBOL_FX:
                key = (account, symbol)
                assert x.position(account, symbol) == positions[key]
                assert x.open_quantity(account, symbol, True) == buys[key]
                assert x.open_quantity(account, symbol, False) == sells[key]
        assert x.firm_open_notional == sum(notional.values(), ZERO)
        assert x.firm_open_notional == sum(x.open_notional.values(), ZERO)
        assert x.firm_executed == sum(executed.values(), ZERO)
        assert x.firm_credit_used == x.firm_open_notional + x.firm_executed


ExposureModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_exposure_matches_a_model_of_its_orders_and_fills = ExposureModel.TestCase


# -- property test: through the OrderManager ---------------------------------------------------


SESSION_OF = {"ACC1": S1, "ACC2": S2}
START_OF_DAY = {(a, s): D(100_000) for a in SESSION_OF for s in ("AAPL", "SHEL")}
TICKS = {"AAPL": D("0.01"), "SHEL": D("0.5")}
MIDS = {"AAPL": D("190.00"), "SHEL": D("2700.0")}


def _account(name: str) -> AccountRecord:
    return AccountRecord(
        account=name,
        kind="natural",
        national_id=f"GB{name}",
        decision_maker=PartyDefault(id="1001", qualifier=24),
        executing_trader=PartyDefault(id="2001", qualifier=22),
        order_capacity="A",
    )


def _book(venue: str, symbol: str, depth: str) -> VenueQuote:
    tick, mid = TICKS[symbol], MIDS[symbol]
    return VenueQuote(
        venue,
        symbol,
        tuple((mid - tick * n, D(depth)) for n in range(1, 4)),
        tuple((mid + tick * n, D(depth)) for n in range(1, 4)),
    )


def make_risk_manager() -> OrderManager:
    risk = RiskEngine(
        RiskConfig(
            fx=FX,
            client=tuple(ClientLimits(account=a, short_selling=True) for a in SESSION_OF),
        ),
        {a: _account(a) for a in SESSION_OF},
        {},
        MICS,
        Exposure(NOW.date(), START_OF_DAY),
        session_accounts={s: a for a, s in SESSION_OF.items()},
    )
    m = OrderManager([AAPL, JPM, SHEL], FEES, MICS, lambda: NOW, "QT", risk=risk)
    for venue in VENUES:
        m.handle(VenueSessionStatus(venue, True))
    # Shallow books on two venues, so that larger orders are split.
    for venue, depth in (("CBOE", "60"), ("TRQ", "90")):
        for symbol in ("AAPL", "SHEL"):
            m.handle(_book(venue, symbol, depth))
    m.take_outbox()
    return m


def _price(data: st.DataObject, symbol: str) -> Decimal:
    return MIDS[symbol] + TICKS[symbol] * data.draw(st.integers(-5, 5), label="ticks")


def _open_terms(order: Order) -> tuple[Decimal, Decimal]:
    """(leaves, notional) the exposure should count for a live manager order, computed from
    the order itself: leaves x price x fx, a pending replace at the larger of old and new."""
    assert order.price is not None
    fx = FX[order.instrument.currency]
    leaves = order.leaves_qty
    notional = leaves * order.price * fx
    change = order.pending
    if change is not None and change.kind is ChangeKind.REPLACE and not order.status.is_done:
        assert change.quantity is not None and change.price is not None
        new_leaves = max(change.quantity - order.cum_qty, ZERO)
        leaves = max(leaves, new_leaves)
        notional = max(notional, new_leaves * change.price * fx)
    return leaves, notional


def _check_manager_exposure(
    m: OrderManager, fills: dict[tuple[str, str], Decimal], executed: dict[str, Decimal]
) -> None:
    assert m.risk is not None
    x = m.risk.exposure
    notional: dict[str, Decimal] = defaultdict(Decimal)
    buys: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    sells: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for order in m.orders.values():
        if order.status.is_done:
            continue
        leaves, amount = _open_terms(order)
        assert order.account is not None
        notional[order.account] += amount
        key = (order.account, order.instrument.symbol)
        (buys if order.side is Side.BUY else sells)[key] += leaves
    for account in SESSION_OF:
        assert x.open_notional.get(account, ZERO) == notional[account], account
        assert x.executed.get(account, ZERO) == executed[account], account
        for symbol in ("AAPL", "SHEL"):
            key = (account, symbol)
            assert x.position(account, symbol) == START_OF_DAY[key] + fills[key], key
            assert x.open_quantity(account, symbol, True) == buys[key], key
            assert x.open_quantity(account, symbol, False) == sells[key], key
    assert x.firm_open_notional == sum(notional.values(), ZERO)
    assert x.firm_executed == sum(executed.values(), ZERO)


ACTIONS = ("new", "new", "ack", "fill", "fill", "cancel", "replace", "venue_cancel", "venue_cancel")


def _run_manager_sequence(data: st.DataObject, reprice: bool) -> None:
    m = make_risk_manager()
    assert m.risk is not None
    fills: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    executed: dict[str, Decimal] = defaultdict(Decimal)
    ids = itertools.count(1)
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        action = data.draw(st.sampled_from(ACTIONS), label="action")
        live_orders = sorted(
            (o for o in m.orders.values() if o.is_live and o.pending is None),
            key=lambda o: o.order_id,
        )
        live_children = sorted(
            (c for c in m.children.values() if not c.status.is_done), key=lambda c: c.child_id
        )
        if action == "new":
            account = data.draw(st.sampled_from(sorted(SESSION_OF)), label="account")
            symbol = data.draw(st.sampled_from(("AAPL", "SHEL")), label="symbol")
            m.handle(
                NewOrder(
                    session=SESSION_OF[account],
                    cl_ord_id=f"C{next(ids)}",
                    symbol=symbol,
                    isin=None,
                    side=data.draw(st.sampled_from(tuple(Side)), label="side"),
                    ord_type=OrdType.LIMIT,
                    time_in_force=TimeInForce.DAY,
                    quantity=D(data.draw(st.integers(1, 300), label="qty")),
                    price=_price(data, symbol),
                    account=account,
                )
            )
            m.take_outbox()
        elif action == "ack":
            pending_new = [c for c in live_children if c.status is OrdStatus.PENDING_NEW]
            if pending_new:
                ack(m, data.draw(st.sampled_from(pending_new), label="child").child_id)
        elif action == "fill" and live_children:
            child = data.draw(st.sampled_from(live_children), label="child")
            order = m.orders[child.order_id]
            assert child.price is not None and order.account is not None
            qty = D(data.draw(st.integers(1, int(child.leaves_qty)), label="fill qty"))
            px = child.price
            fill(m, child.child_id, str(qty), str(px))
            key = (order.account, order.instrument.symbol)
            fills[key] += qty if order.side is Side.BUY else -qty
            executed[order.account] += qty * px * FX[order.instrument.currency]
        elif action == "cancel" and live_orders:
            order = data.draw(st.sampled_from(live_orders), label="order")
            m.handle(
                CancelOrder(
                    order.session,
                    f"C{next(ids)}",
                    order.cl_ord_id,
                    None,
                    order.instrument.symbol,
                    order.side,
                )
            )
            m.take_outbox()
        elif action == "replace" and live_orders:
            order = data.draw(st.sampled_from(live_orders), label="order")
            symbol = order.instrument.symbol
            low = max(int(order.cum_qty), 1)
            quantity = D(data.draw(st.integers(low, low + 300), label="new qty"))
            price = _price(data, symbol) if reprice else order.price
            m.handle(
                ReplaceOrder(
                    order.session,
                    f"C{next(ids)}",
                    order.cl_ord_id,
                    None,
                    symbol,
                    order.side,
                    OrdType.LIMIT,
                    TimeInForce.DAY,
                    quantity,
                    price,
                )
            )
            m.take_outbox()
        elif action == "venue_cancel":
            asked = [c for c in live_children if c.cancel_requested]
            if asked:
                venue_canceled(m, data.draw(st.sampled_from(asked), label="child").child_id)
        _check_manager_exposure(m, fills, executed)


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_manager_traffic_keeps_exposure_equal_to_its_live_orders_and_fills(
    data: st.DataObject,
) -> None:
    """New orders, venue acks, partial fills, cancels and replaces (of the quantity) in
    random order: after every step the exposure's open notional per client is leaves x price
    x fx of the manager's live orders, and positions are start of day plus the fills."""
    _run_manager_sequence(data, reprice=False)


# No shrinking: the failure is known, and shrinking it costs seconds on every run.
@settings(max_examples=120, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(data=st.data())
def test_manager_traffic_with_repriced_replaces_keeps_exposure_equal_to_live_orders(
    data: st.DataObject,
) -> None:
    _run_manager_sequence(data, reprice=True)
