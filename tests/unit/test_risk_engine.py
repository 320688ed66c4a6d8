"""The pre-trade check chain (RiskEngine.check_new) at the edge of every limit.

Each check is driven to its limit (which passes) and one tick or one lot beyond it (which is
refused), and the refusal's Check, OrdRejReason and Text are asserted: the Text is what the
client reads in Text (58). Configurations are built directly; every instant is a fixed UTC
datetime.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from qtinfra.domain.commands import Party
from qtinfra.domain.values import Instrument, OrdRejReason, OrdType, Side
from qtinfra.risk.calendar import TradingCalendar
from qtinfra.risk.engine import (
    Approval,
    Check,
    OrderData,
    OrderTerms,
    RiskEngine,
    RiskRejection,
    Scope,
    TradingState,
)
from qtinfra.risk.exposure import Exposure
from qtinfra.risk.limits import (
    AccountRecord,
    ClientInstrumentLimits,
    ClientLimits,
    FirmLimits,
    InstrumentLimits,
    PartyDefault,
    RiskConfig,
)

D = Decimal
NOW = datetime(2025, 1, 2, 9, 30, tzinfo=UTC)  # a Thursday, London in GMT
TODAY = NOW.date()
S1 = "FIX.4.4:QTGW->CLIENT1"
S2 = "FIX.4.4:QTGW->CLIENT2"
MICS = {"CBOE": "CEUX", "TRQ": "TRQX", "AQX": "AQXE"}
FX = {"EUR": D(1), "USD": D("0.92"), "GBP": D("1.17")}
VENUES = ("CBOE", "TRQ", "AQX")
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), VENUES)
JPM = Instrument("JPM", "US46625H1005", "USD", D("0.01"), D("1"), D("200.00"), ("TRQ", "AQX"))
SAP = Instrument("SAP", "DE0007164600", "EUR", D("0.01"), D("1"), D("200.00"), VENUES)

MID = "venues' mid"
CONFIGURED = "configured reference price"

DECISION = Party("1001", "P", 122, 24)
TRADER = Party("2001", "P", 12, 22)


# -- helpers -----------------------------------------------------------------------------------


DECISION_DEFAULT = PartyDefault(id="1001", source="P", qualifier=24)
TRADER_DEFAULT = PartyDefault(id="2001", source="P", qualifier=22)


def record(
    account: str = "ACC1",
    *,
    decision_maker: PartyDefault | None = DECISION_DEFAULT,
    executing_trader: PartyDefault | None = TRADER_DEFAULT,
    order_capacity: Any = "A",
    decides: Any = "client",
) -> AccountRecord:
    """A client's static data (a natural person, so no LEI is needed)."""
    return AccountRecord(
        account=account,
        kind="natural",
        national_id=f"GB{account}",
        decision_maker=decision_maker,
        executing_trader=executing_trader,
        order_capacity=order_capacity,
        decides=decides,
    )


ACCOUNTS = {a: record(a) for a in ("ACC1", "ACC2")}


def config(
    firm: FirmLimits | None = None,
    *,
    instrument: tuple[InstrumentLimits, ...] = (),
    client: tuple[ClientLimits, ...] = (),
) -> RiskConfig:
    return RiskConfig(firm=firm or FirmLimits(), fx=FX, instrument=instrument, client=client)


LABELS = {
    "firm": "firm-wide",
    "instrument": "for instrument AAPL",
    "client": "for client ACC1",
    "client_instrument": "for client ACC1 in AAPL",
}


def at_level(level: str, symbol: str = "AAPL", **limits: Any) -> RiskConfig:
    """A configuration setting `limits` at one level only (for ACC1 where it is a client's)."""
    if level == "firm":
        return config(FirmLimits(**limits))
    if level == "instrument":
        return config(instrument=(InstrumentLimits(symbol=symbol, **limits),))
    if level == "client":
        return config(client=(ClientLimits(account="ACC1", **limits),))
    assert level == "client_instrument"
    return config(
        client=(
            ClientLimits(
                account="ACC1", instrument=(ClientInstrumentLimits(symbol=symbol, **limits),)
            ),
        )
    )


def engine(
    cfg: RiskConfig | None = None,
    *,
    accounts: Mapping[str, AccountRecord] = ACCOUNTS,
    calendars: Mapping[str, TradingCalendar] | None = None,
    positions: Mapping[tuple[str, str], Decimal] | None = None,
    session_accounts: Mapping[str, str] | None = None,
) -> RiskEngine:
    return RiskEngine(
        cfg or config(),
        accounts,
        calendars or {},
        MICS,
        Exposure(TODAY, positions),
        session_accounts=session_accounts if session_accounts is not None else {S1: "ACC1"},
    )


def terms(
    quantity: str = "100",
    price: str | None = "190.00",
    *,
    side: Side = Side.BUY,
    instrument: Instrument = AAPL,
    account: str | None = "ACC1",
    session: str = S1,
    parties: tuple[Party, ...] = (),
    order_capacity: str | None = None,
    ex_destination: str | None = None,
    replaces: str | None = None,
    cum_qty: str = "0",
) -> OrderTerms:
    return OrderTerms(
        session=session,
        account=account,
        instrument=instrument,
        side=side,
        ord_type=OrdType.LIMIT if price is not None else OrdType.MARKET,
        quantity=D(quantity),
        price=D(price) if price is not None else None,
        parties=parties,
        order_capacity=order_capacity,
        ex_destination=ex_destination,
        replaces=replaces,
        cum_qty=D(cum_qty),
    )


def check(
    eng: RiskEngine,
    order: OrderTerms,
    *,
    at: datetime = NOW,
    reference: str | None = "190.00",
    source: str = MID,
) -> Approval | RiskRejection:
    return eng.check_new(order, at, D(reference) if reference is not None else None, source)


def passes(result: Approval | RiskRejection) -> Approval:
    assert isinstance(result, Approval), result
    return result


def refused(result: Approval | RiskRejection, check_: Check, reason: OrdRejReason) -> RiskRejection:
    assert isinstance(result, RiskRejection), result
    assert (result.check, result.reason) == (check_, reason), result
    return result


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


# -- price collar ------------------------------------------------------------------------------


@pytest.mark.parametrize(("side"), [Side.BUY, Side.SELL_SHORT])
def test_price_collar_pct_passes_at_the_band_and_refuses_one_tick_beyond(side: Side) -> None:
    eng = engine(config(FirmLimits(price_collar_pct=D(5)), client=(_shorter(),)))
    # 5% of 190.00 is 9.50: the band is 180.50 .. 199.50.
    for price in ("199.50", "180.50", "190.00"):
        passes(check(eng, terms(price=price, side=side)))
    for price, away in (("199.51", "5.01"), ("180.49", "5.01")):
        r = refused(
            check(eng, terms(price=price, side=side)),
            Check.PRICE_COLLAR,
            OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
        )
        assert r.text == (
            f"price collar: limit price {price} is {away}% from the reference price 190.00 "
            "(venues' mid), beyond price_collar_pct 5% firm-wide"
        )


def _shorter(account: str = "ACC1") -> ClientLimits:
    return ClientLimits(account=account, short_selling=True)


def test_price_collar_ticks_passes_at_the_band_and_refuses_one_tick_beyond() -> None:
    eng = engine(at_level("instrument", price_collar_ticks=10))
    passes(check(eng, terms(price="190.10"), source=CONFIGURED))
    passes(check(eng, terms(price="189.90"), source=CONFIGURED))
    r = refused(
        check(eng, terms(price="190.11"), source=CONFIGURED),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert r.text == (
        "price collar: limit price 190.11 is 11 ticks from the reference price 190.00 "
        "(configured reference price), beyond price_collar_ticks 10 for instrument AAPL"
    )
    r = refused(
        check(eng, terms(price="189.89"), source=CONFIGURED),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert "limit price 189.89 is 11 ticks" in r.text


def test_price_collar_reference_and_its_source_are_named_in_the_text() -> None:
    eng = engine(config(FirmLimits(price_collar_pct=D(1))))
    passes(check(eng, terms(price="192.00"), reference="190.10"))  # 0.9995% away
    r = refused(
        check(eng, terms(price="188.00"), reference="190.10", source=CONFIGURED),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert r.text == (
        "price collar: limit price 188.00 is 1.11% from the reference price 190.10 "
        "(configured reference price), beyond price_collar_pct 1% firm-wide"
    )


def test_price_collar_pct_and_ticks_both_apply() -> None:
    eng = engine(config(FirmLimits(price_collar_pct=D(5), price_collar_ticks=100)))
    passes(check(eng, terms(price="191.00")))
    # 1.50 is within 5% but 150 ticks.
    r = refused(
        check(eng, terms(price="191.50")),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert "150 ticks" in r.text and "price_collar_ticks 100 firm-wide" in r.text


def test_every_level_of_the_collar_applies_and_the_tightest_refuses() -> None:
    cfg = config(
        FirmLimits(price_collar_pct=D(10)),
        client=(
            ClientLimits(
                account="ACC1",
                instrument=(ClientInstrumentLimits(symbol="AAPL", price_collar_pct=D(2)),),
            ),
        ),
    )
    eng = engine(cfg)
    passes(check(eng, terms(price="193.80")))  # exactly 2%
    r = refused(
        check(eng, terms(price="193.81")),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert r.text.endswith("beyond price_collar_pct 2% for client ACC1 in AAPL")
    # Another client has only the firm's 10%.
    passes(check(eng, terms(price="193.81", account="ACC2", session=S2)))


def test_limit_order_without_a_reference_price_is_not_collared() -> None:
    eng = engine(config(FirmLimits(price_collar_pct=D(1))))
    passes(check(eng, terms(price="500.00"), reference=None, source="none"))


def test_market_order_without_a_reference_price_is_rejected() -> None:
    eng = engine()
    r = refused(
        check(eng, terms(price=None), reference=None, source="none"),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert r.text == (
        "price collar: market order rejected, no reference price for AAPL "
        "(no venue quotes it and none is configured)"
    )


def test_market_order_counts_at_the_reference_price_for_notional_and_exposure() -> None:
    eng = engine(at_level("client", max_order_notional=D(920000)))
    # 5000 x 200.00 USD x 0.92 = 920,000.00 EUR: exactly the limit.
    approval = passes(check(eng, terms("5000", None), reference="200.00"))
    assert approval.exposure_price == D("184.00")
    r = refused(
        check(eng, terms("5001", None), reference="200.00"),
        Check.MAX_NOTIONAL,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        "order notional 920,184.00 EUR exceeds max_order_notional 920,000.00 EUR for client ACC1"
    )


@pytest.mark.parametrize(
    ("limits", "price", "reference", "wrong"),
    [
        ({"price_collar_pct": D(5)}, "210.01", "200.00", "is 5.00% from"),
        ({"price_collar_ticks": 10}, "190.11", "190.005", "is 10 ticks from"),
    ],
)
def test_price_collar_text_never_shows_a_refused_distance_equal_to_the_limit(
    limits: dict[str, Any], price: str, reference: str, wrong: str
) -> None:
    eng = engine(config(FirmLimits(**limits)))
    r = refused(
        check(eng, terms(price=price), reference=reference),
        Check.PRICE_COLLAR,
        OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
    )
    assert wrong not in r.text, r.text


# -- maximum quantity and notional -------------------------------------------------------------


@pytest.mark.parametrize("level", list(LABELS))
def test_max_order_quantity_at_each_level(level: str) -> None:
    eng = engine(at_level(level, max_order_quantity=D(1000)))
    passes(check(eng, terms("1000")))
    r = refused(check(eng, terms("1001")), Check.MAX_QUANTITY, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    assert r.text == f"order quantity 1,001 exceeds max_order_quantity 1,000 {LABELS[level]}"


@pytest.mark.parametrize("level", list(LABELS))
def test_max_order_notional_at_each_level_in_the_base_currency(level: str) -> None:
    eng = engine(at_level(level, max_order_notional=D(920000)))
    # 5000 x 200.00 USD x 0.92 = 920,000.00 EUR.
    passes(check(eng, terms("5000", "200.00"), reference="200.00"))
    r = refused(
        check(eng, terms("5001", "200.00"), reference="200.00"),
        Check.MAX_NOTIONAL,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        f"order notional 920,184.00 EUR exceeds max_order_notional 920,000.00 EUR {LABELS[level]}"
    )
    # One tick over: 5000 x 200.01 x 0.92 = 920,046.00.
    r = refused(
        check(eng, terms("5000", "200.01"), reference="200.00"),
        Check.MAX_NOTIONAL,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text.startswith("order notional 920,046.00 EUR exceeds")


def test_max_order_notional_text_for_a_usd_order_of_a_client() -> None:
    eng = engine(at_level("client", max_order_notional=D(1000000)))
    r = refused(
        check(eng, terms("10000", "250.00"), reference="250.00"),
        Check.MAX_NOTIONAL,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        "order notional 2,300,000.00 EUR exceeds max_order_notional 1,000,000.00 EUR "
        "for client ACC1"
    )


def test_max_order_notional_of_a_base_currency_instrument_is_not_converted() -> None:
    eng = engine(at_level("instrument", symbol="SAP", max_order_notional=D(1000000)))
    passes(check(eng, terms("5000", "200.00", instrument=SAP), reference="200.00"))
    r = refused(
        check(eng, terms("5000", "200.01", instrument=SAP), reference="200.00"),
        Check.MAX_NOTIONAL,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        "order notional 1,000,050.00 EUR exceeds max_order_notional 1,000,000.00 EUR "
        "for instrument SAP"
    )


def test_every_level_that_is_set_applies_and_the_first_in_order_answers() -> None:
    cfg = config(
        FirmLimits(max_order_quantity=D(1000)),
        instrument=(InstrumentLimits(symbol="AAPL", max_order_quantity=D(800)),),
        client=(ClientLimits(account="ACC1", max_order_quantity=D(500)),),
    )
    eng = engine(cfg)
    passes(check(eng, terms("500")))
    r = refused(check(eng, terms("501")), Check.MAX_QUANTITY, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    assert r.text.endswith("max_order_quantity 500 for client ACC1")
    r = refused(check(eng, terms("801")), Check.MAX_QUANTITY, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    assert r.text.endswith("max_order_quantity 800 for instrument AAPL")
    r = refused(check(eng, terms("1001")), Check.MAX_QUANTITY, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    assert r.text.endswith("max_order_quantity 1,000 firm-wide")
    # ACC2 is held to the firm's and the instrument's limits only; JPM to the firm's.
    passes(check(eng, terms("800", account="ACC2", session=S2)))
    passes(check(eng, terms("1000", "200.00", instrument=JPM, account="ACC2", session=S2)))


def test_client_limits_do_not_apply_to_other_instruments_of_a_per_instrument_entry() -> None:
    eng = engine(at_level("client_instrument", max_order_quantity=D(10)))
    refused(check(eng, terms("11")), Check.MAX_QUANTITY, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    passes(check(eng, terms("11", "200.00", instrument=JPM), reference="200.00"))


# -- throttle ----------------------------------------------------------------------------------


SESSION_THROTTLE_TEXT = (
    "throttle: more than 3 order messages per second on this session "
    "(messages_per_second); send it again later"
)


def test_throttle_passes_n_messages_in_a_second_and_refuses_the_next() -> None:
    eng = engine(config(FirmLimits(session_messages_per_second=3)))
    for t in (0, 0.1, 0.2):
        passes(check(eng, terms(), at=later(t)))
    r = refused(check(eng, terms(), at=later(0.3)), Check.THROTTLE, OrdRejReason.OTHER)
    assert r.text == SESSION_THROTTLE_TEXT
    # Still inside the second of the first message.
    refused(check(eng, terms(), at=later(0.999999)), Check.THROTTLE, OrdRejReason.OTHER)
    # More than a second after the first: its slot is free again.
    passes(check(eng, terms(), at=later(1.000001)))
    refused(check(eng, terms(), at=later(1.05)), Check.THROTTLE, OrdRejReason.OTHER)


def test_throttle_refused_messages_do_not_count() -> None:
    eng = engine(config(FirmLimits(session_messages_per_second=2)))
    passes(check(eng, terms(), at=later(0)))
    passes(check(eng, terms(), at=later(0.5)))
    refused(check(eng, terms(), at=later(0.9)), Check.THROTTLE, OrdRejReason.OTHER)
    refused(check(eng, terms(), at=later(0.95)), Check.THROTTLE, OrdRejReason.OTHER)
    # Had the refused ones counted, this would still be refused.
    passes(check(eng, terms(), at=later(1.2)))
    refused(check(eng, terms(), at=later(1.3)), Check.THROTTLE, OrdRejReason.OTHER)
    passes(check(eng, terms(), at=later(1.6)))


def test_throttle_counts_cancels_and_new_orders_together_per_session() -> None:
    eng = engine(
        config(FirmLimits(session_messages_per_second=2)),
        session_accounts={S1: "ACC1", S2: "ACC2"},
    )
    assert eng.check_cancel(S1, NOW) is None
    passes(check(eng, terms(), at=later(0.1)))
    r = eng.check_cancel(S1, later(0.2))
    assert r is not None and (r.check, r.reason) == (Check.THROTTLE, OrdRejReason.OTHER)
    assert r.text.startswith("throttle: more than 2 order messages per second on this session")
    # Another session has a window of its own.
    passes(check(eng, terms(account="ACC2", session=S2), at=later(0.2)))
    assert eng.check_cancel(S2, later(0.3)) is None


def test_throttle_of_a_client_overrides_the_firms_session_default() -> None:
    cfg = config(
        FirmLimits(session_messages_per_second=100),
        client=(ClientLimits(account="ACC1", messages_per_second=1),),
    )
    eng = engine(cfg, session_accounts={S1: "ACC1", S2: "ACC2"})
    passes(check(eng, terms(), at=later(0)))
    r = refused(check(eng, terms(), at=later(0.5)), Check.THROTTLE, OrdRejReason.OTHER)
    assert "more than 1 order messages per second" in r.text
    for t in (0.1, 0.2, 0.3):
        passes(check(eng, terms(account="ACC2", session=S2), at=later(t)))


def test_firm_wide_throttle_counts_every_session() -> None:
    eng = engine(
        config(FirmLimits(messages_per_second=3)), session_accounts={S1: "ACC1", S2: "ACC2"}
    )
    passes(check(eng, terms(), at=later(0)))
    passes(check(eng, terms(), at=later(0.1)))
    passes(check(eng, terms(account="ACC2", session=S2), at=later(0.2)))
    r = refused(
        check(eng, terms(account="ACC2", session=S2), at=later(0.3)),
        Check.THROTTLE,
        OrdRejReason.OTHER,
    )
    assert r.text == (
        "throttle: the firm-wide limit of 3 order messages per second is reached "
        "(messages_per_second); send it again later"
    )
    refused(check(eng, terms(), at=later(0.4)), Check.THROTTLE, OrdRejReason.OTHER)
    passes(check(eng, terms(account="ACC2", session=S2), at=later(1.05)))


def test_firm_throttle_refusal_does_not_use_the_sessions_window() -> None:
    eng = engine(
        config(FirmLimits(messages_per_second=2, session_messages_per_second=2)),
        session_accounts={S1: "ACC1", S2: "ACC2"},
    )
    passes(check(eng, terms(account="ACC2", session=S2), at=later(0)))
    passes(check(eng, terms(), at=later(0.5)))
    refused(check(eng, terms(), at=later(0.6)), Check.THROTTLE, OrdRejReason.OTHER)  # firm
    # S2's message left the firm's window; had the refused one entered S1's window (0.5,
    # 0.6), S1 would be at its limit now.
    passes(check(eng, terms(), at=later(1.1)))
    r = refused(check(eng, terms(), at=later(1.2)), Check.THROTTLE, OrdRejReason.OTHER)
    assert "on this session" in r.text


# -- credit limit ------------------------------------------------------------------------------


def _credit_engine(cfg: RiskConfig) -> RiskEngine:
    """ACC1 has an open order of 400,000.00 EUR and 200,000.00 EUR executed today (and a
    fill of yesterday that does not count)."""
    eng = engine(cfg)
    x = eng.exposure
    x.set_order("O1", "ACC1", "SAP", True, D(2000), D("400000.00"))
    x.fill("ACC1", "SAP", True, D(1000), D("200000.00"), TODAY)
    x.fill("ACC1", "SAP", True, D(5000), D("999999.00"), TODAY - timedelta(days=1))
    return eng


def test_client_credit_limit_counts_open_orders_executions_and_this_order() -> None:
    eng = _credit_engine(config(client=(ClientLimits(account="ACC1", credit_limit=D(1000000)),)))
    # 600,000 used + 2000 x 200.00 = exactly 1,000,000.00.
    passes(check(eng, terms("2000", "200.00", instrument=SAP), reference="200.00"))
    r = refused(
        check(eng, terms("2001", "200.00", instrument=SAP), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        "credit limit: open orders and today's executions 600,000.00 EUR plus this order "
        "400,200.00 EUR exceed credit_limit 1,000,000.00 EUR for client ACC1"
    )
    # A sell counts as much as a buy (gross notional).
    eng.exposure.positions[("ACC1", "SAP")] = D(10000)
    refused(
        check(eng, terms("2000", "200.01", side=Side.SELL, instrument=SAP), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    # Another client's usage does not count against ACC1's limit.
    eng.exposure.set_order("O2", "ACC2", "SAP", True, D(1000), D("200000.00"))
    passes(check(eng, terms("2000", "200.00", instrument=SAP), reference="200.00"))


def test_client_credit_limit_converts_a_usd_order_to_the_base_currency() -> None:
    eng = _credit_engine(config(client=(ClientLimits(account="ACC1", credit_limit=D(784000)),)))
    # 600,000 used + 1000 x 200.00 USD x 0.92 = 784,000.00 EUR.
    passes(check(eng, terms("1000", "200.00"), reference="200.00"))
    r = refused(
        check(eng, terms("1000", "200.01"), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert "plus this order 184,009.20 EUR exceed credit_limit 784,000.00 EUR" in r.text


def test_firm_credit_limit_counts_every_clients_usage() -> None:
    eng = _credit_engine(config(FirmLimits(credit_limit=D(1000000))))
    eng.exposure.set_order("O2", "ACC2", "SAP", False, D(500), D("100000.00"))
    # 700,000 used firm-wide: 1500 x 200.00 fits exactly.
    passes(check(eng, terms("1500", "200.00", instrument=SAP), reference="200.00"))
    r = refused(
        check(eng, terms("1501", "200.00", instrument=SAP), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        "credit limit: the firm's open orders and today's executions 700,000.00 EUR plus this "
        "order 300,200.00 EUR exceed credit_limit 1,000,000.00 EUR firm-wide"
    )


def test_credit_used_restarts_on_a_new_day_but_open_orders_still_count() -> None:
    eng = _credit_engine(config(client=(ClientLimits(account="ACC1", credit_limit=D(1000000)),)))
    eng.exposure.roll(TODAY + timedelta(days=1))
    # Only the open 400,000 remain: 3000 x 200.00 fits exactly.
    passes(check(eng, terms("3000", "200.00", instrument=SAP), reference="200.00"))
    refused(
        check(eng, terms("3001", "200.00", instrument=SAP), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )


# -- position limit ----------------------------------------------------------------------------


def test_position_limit_counts_the_position_and_open_orders_on_the_same_side() -> None:
    eng = engine(at_level("client", position_limit=D(1000)), positions={("ACC1", "AAPL"): D(300)})
    eng.exposure.set_order("B1", "ACC1", "AAPL", True, D(200), D(200 * 190))
    eng.exposure.set_order("S1", "ACC1", "AAPL", False, D(250), D(250 * 190))  # other side
    passes(check(eng, terms("500")))  # 300 + 200 + 500 = 1000
    r = refused(check(eng, terms("501")), Check.POSITION, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    assert r.text == (
        "position limit: AAPL position 300 with open buys 200 and this order 501 could reach "
        "1,001, beyond position_limit 1,000 for client ACC1"
    )


def test_position_limit_for_short_sells_counts_open_sells() -> None:
    cfg = config(
        instrument=(InstrumentLimits(symbol="AAPL", position_limit=D(1000)),),
        client=(_shorter(),),
    )
    eng = engine(cfg)
    eng.exposure.set_order("S1", "ACC1", "AAPL", False, D(400), D(400 * 190))
    passes(check(eng, terms("600", side=Side.SELL_SHORT)))
    r = refused(
        check(eng, terms("601", side=Side.SELL_SHORT)),
        Check.POSITION,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert r.text == (
        "position limit: AAPL position 0 with open sells 400 and this order 601 could reach "
        "-1,001, beyond position_limit 1,000 for instrument AAPL"
    )


def test_position_limit_of_zero_allows_only_reducing_trades() -> None:
    eng = engine(at_level("firm", position_limit=D(0)), positions={("ACC1", "AAPL"): D(100)})
    passes(check(eng, terms("100", side=Side.SELL)))
    refused(check(eng, terms("1")), Check.POSITION, OrdRejReason.ORDER_EXCEEDS_LIMIT)


def test_position_limit_does_not_refuse_an_order_that_reduces_a_position_beyond_it() -> None:
    eng = engine(at_level("client", position_limit=D(500)), positions={("ACC1", "AAPL"): D(1000)})
    passes(check(eng, terms("100", side=Side.SELL)))


# -- restricted list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "where", "others_trade"),
    [
        (config(FirmLimits(restricted=("AAPL",))), "firm-wide", False),
        (
            config(instrument=(InstrumentLimits(symbol="AAPL", restricted=True),)),
            "for every client (instrument list)",
            False,
        ),
        (
            config(client=(ClientLimits(account="ACC1", restricted=("AAPL",)),)),
            "for client ACC1",
            True,
        ),
        (
            config(
                client=(
                    ClientLimits(
                        account="ACC1",
                        instrument=(ClientInstrumentLimits(symbol="AAPL", restricted=True),),
                    ),
                )
            ),
            "for client ACC1",
            True,
        ),
    ],
    ids=["firm", "instrument", "client", "client_instrument"],
)
def test_restricted_instrument_is_refused_naming_the_list(
    cfg: RiskConfig, where: str, others_trade: bool
) -> None:
    eng = engine(cfg)
    r = refused(check(eng, terms()), Check.RESTRICTED, OrdRejReason.BROKER_OPTION)
    assert r.text == f"restricted list: AAPL is restricted {where}"
    passes(check(eng, terms("100", "200.00", instrument=JPM), reference="200.00"))
    other = check(eng, terms(account="ACC2", session=S2))
    assert isinstance(other, Approval) is others_trade


# -- short selling -----------------------------------------------------------------------------


def test_long_sale_up_to_the_position_not_already_being_sold_passes() -> None:
    eng = engine(positions={("ACC1", "AAPL"): D(500)})
    eng.exposure.set_order("S1", "ACC1", "AAPL", False, D(200), D(200 * 190))
    eng.exposure.set_order("B1", "ACC1", "AAPL", True, D(900), D(900 * 190))  # buys don't help
    passes(check(eng, terms("300", side=Side.SELL)))
    r = refused(
        check(eng, terms("301", side=Side.SELL)),
        Check.SHORT_SELLING,
        OrdRejReason.BROKER_OPTION,
    )
    assert r.text == (
        "short selling: sell of 301 AAPL exceeds the long position available to sell (300); "
        "send it as a short sell (Side 5)"
    )


def test_long_sale_with_no_or_a_short_position_names_zero_available() -> None:
    eng = engine(positions={("ACC1", "AAPL"): D(-50)}, cfg=config(client=(_shorter(),)))
    r = refused(
        check(eng, terms("1", side=Side.SELL)), Check.SHORT_SELLING, OrdRejReason.BROKER_OPTION
    )
    assert r.text == (
        "short selling: sell of 1 AAPL exceeds the long position available to sell (0); "
        "send it as a short sell (Side 5)"
    )


def test_short_sell_is_refused_for_a_client_that_may_not_sell_short() -> None:
    for eng in (engine(), engine(config(client=(ClientLimits(account="ACC1"),)))):
        r = refused(
            check(eng, terms(side=Side.SELL_SHORT)),
            Check.SHORT_SELLING,
            OrdRejReason.BROKER_OPTION,
        )
        assert r.text == "short selling: client ACC1 may not sell AAPL short"


def test_short_sell_passes_for_a_client_allowed_to_sell_short() -> None:
    eng = engine(config(client=(_shorter(),)))
    passes(check(eng, terms(side=Side.SELL_SHORT)))


def test_short_selling_per_instrument_override_allows_and_forbids() -> None:
    cfg = config(
        client=(
            ClientLimits(
                account="ACC1",
                short_selling=False,
                instrument=(ClientInstrumentLimits(symbol="AAPL", short_selling=True),),
            ),
            ClientLimits(
                account="ACC2",
                short_selling=True,
                instrument=(ClientInstrumentLimits(symbol="AAPL", short_selling=False),),
            ),
        )
    )
    eng = engine(cfg)
    passes(check(eng, terms(side=Side.SELL_SHORT)))
    refused(
        check(eng, terms("1", "200.00", side=Side.SELL_SHORT, instrument=JPM), reference="200.00"),
        Check.SHORT_SELLING,
        OrdRejReason.BROKER_OPTION,
    )
    r = refused(
        check(eng, terms(side=Side.SELL_SHORT, account="ACC2", session=S2)),
        Check.SHORT_SELLING,
        OrdRejReason.BROKER_OPTION,
    )
    assert r.text == "short selling: client ACC2 may not sell AAPL short"
    passes(
        check(
            eng,
            terms("1", "200.00", side=Side.SELL_SHORT, instrument=JPM, account="ACC2", session=S2),
            reference="200.00",
        )
    )


def test_firm_short_selling_ban_overrides_a_clients_permission() -> None:
    cfg = config(
        FirmLimits(short_selling_banned=("AAPL",)),
        client=(
            ClientLimits(
                account="ACC1",
                short_selling=True,
                instrument=(ClientInstrumentLimits(symbol="AAPL", short_selling=True),),
            ),
        ),
    )
    eng = engine(cfg, positions={("ACC1", "AAPL"): D(100)})
    r = refused(
        check(eng, terms(side=Side.SELL_SHORT)), Check.SHORT_SELLING, OrdRejReason.BROKER_OPTION
    )
    assert r.text == "short selling: AAPL is under a firm-wide short-selling ban"
    # A long sale is not a short sale.
    passes(check(eng, terms("100", side=Side.SELL)))
    passes(
        check(eng, terms("100", "200.00", side=Side.SELL_SHORT, instrument=JPM), reference="200.00")
    )


# -- trading hours -----------------------------------------------------------------------------


LONDON = TradingCalendar(
    "CBOE", "Europe/London", time(8, 0), time(16, 30), holidays=frozenset({date(2025, 1, 1)})
)


def test_closed_calendar_refuses_with_exchange_closed_and_the_calendars_text() -> None:
    eng = engine(calendars={"AAPL": LONDON})
    closed = datetime(2025, 1, 2, 16, 30, tzinfo=UTC)  # the close is exclusive
    r = refused(check(eng, terms(), at=closed), Check.TRADING_HOURS, OrdRejReason.EXCHANGE_CLOSED)
    assert r.text == (
        "trading hours: outside the trading hours of CBOE (08:00-16:30 Europe/London, "
        "Mon-Fri); next open 2025-01-03 08:00 Europe/London (AAPL)"
    )
    assert r.text == f"trading hours: {LONDON.closed_text(closed)} (AAPL)"
    holiday = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    r = refused(check(eng, terms(), at=holiday), Check.TRADING_HOURS, OrdRejReason.EXCHANGE_CLOSED)
    assert r.text.startswith("trading hours: CBOE is closed on 2025-01-01 (holiday)")


def test_open_calendar_passes_from_the_open_to_just_before_the_close() -> None:
    eng = engine(calendars={"AAPL": LONDON})
    for at in (
        datetime(2025, 1, 2, 8, 0, tzinfo=UTC),
        datetime(2025, 1, 2, 16, 29, 59, 999999, tzinfo=UTC),
    ):
        passes(check(eng, terms(), at=at))
    refused(
        check(eng, terms(), at=datetime(2025, 1, 2, 7, 59, 59, 999999, tzinfo=UTC)),
        Check.TRADING_HOURS,
        OrdRejReason.EXCHANGE_CLOSED,
    )
    # An instrument without a calendar is not checked.
    passes(
        check(
            eng,
            terms("1", "200.00", instrument=JPM),
            at=datetime(2025, 1, 4, 3, 0, tzinfo=UTC),
            reference="200.00",
        )
    )


# -- ExDestination -----------------------------------------------------------------------------


def test_ex_destination_unknown_mic_is_refused_listing_the_known_ones() -> None:
    r = refused(
        check(engine(), terms(ex_destination="XNAS")), Check.DESTINATION, OrdRejReason.OTHER
    )
    assert r.text == (
        "ExDestination (100) XNAS is not a venue this gateway routes to (AQXE, CEUX, TRQX)"
    )


def test_ex_destination_of_a_venue_that_does_not_trade_the_instrument_is_refused() -> None:
    r = refused(
        check(
            engine(),
            terms("1", "200.00", instrument=JPM, ex_destination="CEUX"),
            reference="200.00",
        ),
        Check.DESTINATION,
        OrdRejReason.OTHER,
    )
    assert r.text == "ExDestination (100) CEUX does not trade JPM"


def test_ex_destination_of_a_venue_trading_the_instrument_passes() -> None:
    passes(check(engine(), terms(ex_destination="TRQX")))
    passes(
        check(
            engine(),
            terms("1", "200.00", instrument=JPM, ex_destination="AQXE"),
            reference="200.00",
        )
    )


# -- MiFID II order data -----------------------------------------------------------------------


def test_order_without_account_is_refused_unknown_account() -> None:
    r = refused(
        check(engine(), terms(account=None)), Check.ORDER_DATA, OrdRejReason.UNKNOWN_ACCOUNT
    )
    assert r.text == (
        "MiFID II order data: Account (1) is required (this session has no default account)"
    )


def test_order_for_an_unknown_account_is_refused() -> None:
    r = refused(
        check(engine(), terms(account="ACC9")), Check.ORDER_DATA, OrdRejReason.UNKNOWN_ACCOUNT
    )
    assert r.text == "MiFID II order data: Account ACC9 is not a known client"


@pytest.mark.parametrize(
    ("missing", "text"),
    [
        (
            {"decision_maker": None, "decides": "firm"},
            "MiFID II order data: investment decision maker missing: the firm decides for "
            "account ACC1 (discretionary mandate); send Parties (453) with PartyRole (452) "
            "122, or set a default for it",
        ),
        (
            {"executing_trader": None},
            "MiFID II order data: executing trader or algorithm missing: send Parties (453) "
            "with PartyRole (452) 12, or set a default for account ACC1",
        ),
        (
            {"order_capacity": None},
            "MiFID II order data: trading capacity missing: send OrderCapacity (528) A, P or "
            "R, or set a default for account ACC1",
        ),
    ],
    ids=["decision_maker_under_a_mandate", "executing_trader", "order_capacity"],
)
def test_missing_order_data_without_a_default_is_refused(
    missing: dict[str, Any], text: str
) -> None:
    eng = engine(accounts={"ACC1": record(**missing)})
    r = refused(check(eng, terms()), Check.ORDER_DATA, OrdRejReason.OTHER)
    assert r.text == text


@pytest.mark.parametrize(
    ("decides", "capacity", "refused"),
    [
        ("firm", "A", "discretionary mandate"),
        ("client", "P", "OrderCapacity P"),  # dealing on own account: the firm decides
        ("client", "A", None),  # the client decides: no one of the firm is named
        ("client", "R", None),
        ("third_party", "A", None),  # its manager decides (RTS 22 field 12)
    ],
)
def test_an_order_without_a_decision_maker_is_refused_only_when_the_firm_decides(
    decides: str, capacity: str, refused: str | None
) -> None:
    decision = check(_mandate_engine(decides), terms(order_capacity=capacity))
    if refused is None:
        assert passes(decision).order_data.decision_maker is None
    else:
        r = _refused_order_data(decision)
        assert f"the firm decides for account ACC1 ({refused})" in r.text


def _refused_order_data(decision: object) -> RiskRejection:
    return refused(decision, Check.ORDER_DATA, OrdRejReason.OTHER)  # type: ignore[arg-type]


def test_missing_order_data_sent_in_the_message_passes_without_defaults() -> None:
    bare = record(decision_maker=None, executing_trader=None, order_capacity=None)
    eng = engine(accounts={"ACC1": bare})
    dm, trader = Party("ALGO7", "P", 122, 22), Party("T9", "P", 12, 24)
    approval = passes(check(eng, terms(parties=(dm, trader), order_capacity="P")))
    assert approval.order_data == OrderData(dm, trader, "P")


def test_account_defaults_are_used_and_returned_in_the_approval() -> None:
    approval = passes(check(engine(), terms()))
    assert approval.order_data == OrderData(DECISION, TRADER, "A")
    assert approval.exposure_price == D("190.00") * D("0.92")


def test_message_parties_and_capacity_override_the_defaults() -> None:
    trader = Party("TRADER7", "P", 12, 24)
    client_id = Party("CLIENTX", "P", 3, 23)  # not an order-data role: ignored
    approval = passes(check(engine(), terms(parties=(client_id, trader), order_capacity="R")))
    assert approval.order_data == OrderData(DECISION, trader, "R")


@pytest.mark.parametrize("role", [122, 12])
def test_party_role_qualifier_other_than_person_or_algorithm_is_refused(role: int) -> None:
    bad = Party("X1", "P", role, 23)
    r = refused(check(engine(), terms(parties=(bad,))), Check.ORDER_DATA, OrdRejReason.OTHER)
    assert r.text == (
        f"MiFID II order data: PartyRoleQualifier (2376) 23 is not valid for PartyRole {role}; "
        "use 24 (natural person) or 22 (algorithm)"
    )
    # Without a qualifier the party is accepted as sent.
    plain = Party("X1", "P", role, None)
    data = passes(check(engine(), terms(parties=(plain,)))).order_data
    assert plain in (data.decision_maker, data.executing_trader)


# -- trading states ----------------------------------------------------------------------------


def test_halted_client_is_refused_new_orders_with_the_reason() -> None:
    eng = engine(session_accounts={S1: "ACC1", S2: "ACC2"})
    eng.set_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "margin call")
    r = refused(check(eng, terms()), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    assert r.text == (
        "kill switch: trading is HALTED for client ACC1 (margin call); only cancels are accepted"
    )
    assert eng.check_cancel(S1, NOW) is None
    passes(check(eng, terms(account="ACC2", session=S2)))


@pytest.mark.parametrize(
    ("scope", "target", "where"),
    [
        (Scope.FIRM, "", "firm-wide (market halt)"),
        (Scope.SESSION, S1, f"for session {S1} (market halt)"),
        (Scope.CLIENT, "ACC1", "for client ACC1 (market halt)"),
    ],
)
def test_halted_at_any_scope_refuses_new_orders_but_not_cancels(
    scope: Scope, target: str, where: str
) -> None:
    eng = engine()
    eng.set_state(scope, target, TradingState.HALTED, "market halt")
    r = refused(check(eng, terms()), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    assert r.text == f"kill switch: trading is HALTED {where}; only cancels are accepted"
    assert eng.check_cancel(S1, NOW) is None


def test_halted_refusals_do_not_use_the_throttle() -> None:
    eng = engine(config(FirmLimits(session_messages_per_second=1)))
    eng.set_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "x")
    for _ in range(3):
        refused(check(eng, terms()), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    eng.set_state(Scope.CLIENT, "ACC1", TradingState.ACTIVE, "")
    passes(check(eng, terms()))


def test_reducing_lets_a_sale_that_reduces_a_long_through_and_refuses_a_buy() -> None:
    eng = engine(config(client=(_shorter(),)), positions={("ACC1", "AAPL"): D(500)})
    eng.set_state(Scope.CLIENT, "ACC1", TradingState.REDUCING, "risk review")
    passes(check(eng, terms("500", side=Side.SELL)))
    r = refused(check(eng, terms("1")), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    assert r.text == (
        "kill switch: trading is REDUCING for client ACC1 (risk review); only orders that "
        "reduce a position are accepted (AAPL position 500, this buy could take it to 501)"
    )
    # A short sale that would take the position through zero does not reduce it.
    r = refused(
        check(eng, terms("501", side=Side.SELL_SHORT)),
        Check.TRADING_STATE,
        OrdRejReason.BROKER_OPTION,
    )
    assert r.text.endswith("(AAPL position 500, this sell could take it to -1)")
    # Other open sells count: with 400 already being sold, only 100 more reduce.
    eng.exposure.set_order("S1", "ACC1", "AAPL", False, D(400), D(400 * 190))
    passes(check(eng, terms("100", side=Side.SELL_SHORT)))
    refused(
        check(eng, terms("101", side=Side.SELL_SHORT)),
        Check.TRADING_STATE,
        OrdRejReason.BROKER_OPTION,
    )


def test_reducing_lets_a_buy_that_reduces_a_short_through() -> None:
    eng = engine(positions={("ACC1", "AAPL"): D(-300)})
    eng.set_state(Scope.FIRM, "", TradingState.REDUCING, "")
    passes(check(eng, terms("300")))
    r = refused(check(eng, terms("301")), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    assert r.text == (
        "kill switch: trading is REDUCING firm-wide; only orders that reduce a position are "
        "accepted (AAPL position -300, this buy could take it to 1)"
    )


def test_reducing_with_no_position_refuses_everything() -> None:
    eng = engine(config(client=(_shorter(),)))
    eng.set_state(Scope.SESSION, S1, TradingState.REDUCING, "end of day")
    for side in (Side.BUY, Side.SELL_SHORT):
        refused(check(eng, terms("1", side=side)), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (
            [(Scope.FIRM, "", TradingState.REDUCING), (Scope.CLIENT, "ACC1", TradingState.HALTED)],
            "HALTED for client ACC1 (why client)",
        ),
        (
            [(Scope.FIRM, "", TradingState.REDUCING), (Scope.SESSION, S1, TradingState.HALTED)],
            f"HALTED for session {S1} (why session)",
        ),
        (
            [(Scope.FIRM, "", TradingState.HALTED), (Scope.CLIENT, "ACC1", TradingState.REDUCING)],
            "HALTED firm-wide (why firm)",
        ),
        (
            [
                (Scope.SESSION, S1, TradingState.REDUCING),
                (Scope.CLIENT, "ACC1", TradingState.HALTED),
            ],
            "HALTED for client ACC1 (why client)",
        ),
    ],
)
def test_the_most_severe_of_firm_session_and_client_states_wins(
    states: list[tuple[Scope, str, TradingState]], expected: str
) -> None:
    eng = engine()
    for scope, target, state in states:
        eng.set_state(scope, target, state, f"why {scope.value}")
    r = refused(check(eng, terms()), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    assert r.text.startswith(f"kill switch: trading is {expected};")


def test_reducing_state_is_named_with_its_scope_when_a_less_severe_applies_elsewhere() -> None:
    eng = engine()
    eng.set_state(Scope.CLIENT, "ACC2", TradingState.HALTED, "other client")
    eng.set_state(Scope.SESSION, S1, TradingState.REDUCING, "session review")
    assert eng.state_for(S1, "ACC1") == (
        TradingState.REDUCING,
        f"for session {S1} (session review)",
    )


def test_active_clears_a_state() -> None:
    eng = engine()
    eng.set_state(Scope.CLIENT, "ACC1", TradingState.HALTED, "x")
    eng.set_state(Scope.FIRM, "ignored", TradingState.REDUCING, "y")
    eng.set_state(Scope.CLIENT, "ACC1", TradingState.ACTIVE, "resumed")
    eng.set_state(Scope.FIRM, "", TradingState.ACTIVE, "resumed")
    assert eng.states == {} and eng.state_reasons == {}
    assert eng.state_for(S1, "ACC1") == (TradingState.ACTIVE, "")
    passes(check(eng, terms()))


# -- replace semantics -------------------------------------------------------------------------


def test_replace_nets_out_the_replaced_orders_own_open_notional() -> None:
    eng = engine(config(client=(ClientLimits(account="ACC1", credit_limit=D(1000000)),)))
    eng.exposure.set_order("QT1", "ACC1", "SAP", True, D(4000), D("800000.00"))
    new_terms = terms("5000", "200.00", instrument=SAP)
    # As a new order it would add 1,000,000 to the 800,000 used.
    refused(
        check(eng, new_terms, reference="200.00"), Check.CREDIT, OrdRejReason.ORDER_EXCEEDS_LIMIT
    )
    # As QT1's replace it adds only 200,000: exactly the limit.
    passes(check(eng, terms("5000", "200.00", instrument=SAP, replaces="QT1"), reference="200.00"))
    r = refused(
        check(eng, terms("5001", "200.00", instrument=SAP, replaces="QT1"), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert "800,000.00 EUR plus this order 200,200.00 EUR exceed" in r.text


def test_replace_counts_only_its_open_quantity_after_cum_qty() -> None:
    eng = engine(config(client=(ClientLimits(account="ACC1", credit_limit=D(1000000)),)))
    x = eng.exposure
    # QT1: 5000 at 200.00, 1000 filled (200,000 executed), 4000 open (800,000).
    x.fill("ACC1", "SAP", True, D(1000), D("200000.00"), TODAY)
    x.set_order("QT1", "ACC1", "SAP", True, D(4000), D("800000.00"))
    passes(
        check(
            eng,
            terms("5000", "200.00", instrument=SAP, replaces="QT1", cum_qty="1000"),
            reference="200.00",
        )
    )
    r = refused(
        check(
            eng,
            terms("5001", "200.00", instrument=SAP, replaces="QT1", cum_qty="1000"),
            reference="200.00",
        ),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert "1,000,000.00 EUR plus this order 200.00 EUR exceed" in r.text


def test_replace_nets_out_its_own_leaves_for_position_and_short_selling() -> None:
    eng = engine(at_level("client", position_limit=D(1000)), positions={("ACC1", "AAPL"): D(300)})
    x = eng.exposure
    x.set_order("QT1", "ACC1", "AAPL", False, D(300), D(300 * 190))
    x.set_order("QT2", "ACC1", "AAPL", True, D(700), D(700 * 190))
    # QT1 is the whole long position being sold: a new sale of it would be short...
    refused(
        check(eng, terms("300", side=Side.SELL)), Check.SHORT_SELLING, OrdRejReason.BROKER_OPTION
    )
    # ...but QT1's own replace (new price) is not.
    passes(check(eng, terms("300", "190.05", side=Side.SELL, replaces="QT1")))
    refused(
        check(eng, terms("301", side=Side.SELL, replaces="QT1")),
        Check.SHORT_SELLING,
        OrdRejReason.BROKER_OPTION,
    )
    # QT2 takes the position to the limit; its replace to the same quantity passes.
    refused(check(eng, terms("1")), Check.POSITION, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    passes(check(eng, terms("700", "190.01", replaces="QT2")))
    refused(
        check(eng, terms("701", replaces="QT2")), Check.POSITION, OrdRejReason.ORDER_EXCEEDS_LIMIT
    )
    # With 200 of QT2 filled (position 500, 500 open), the replace counts 800 - 200 open.
    x.fill("ACC1", "AAPL", True, D(200), D(200 * 190), TODAY)
    x.set_order("QT2", "ACC1", "AAPL", True, D(500), D(500 * 190))
    passes(check(eng, terms("700", replaces="QT2", cum_qty="200")))
    r = refused(
        check(eng, terms("701", replaces="QT2", cum_qty="200")),
        Check.POSITION,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert "position 500 with open buys 0 and this order 501 could reach 1,001" in r.text


# -- configure ---------------------------------------------------------------------------------


def test_configure_applies_new_limits_and_keeps_states_and_usage() -> None:
    eng = engine(at_level("client", max_order_quantity=D(100)), session_accounts={S2: "ACC2"})
    eng.exposure.set_order("O1", "ACC1", "SAP", True, D(1000), D("200000.00"))
    eng.exposure.fill("ACC1", "SAP", True, D(500), D("100000.00"), TODAY)
    eng.set_state(Scope.CLIENT, "ACC2", TradingState.HALTED, "kept")
    refused(check(eng, terms("101")), Check.MAX_QUANTITY, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    exposure = eng.exposure

    eng.configure(config(client=(ClientLimits(account="ACC1", credit_limit=D(400000)),)), ACCOUNTS)
    assert eng.exposure is exposure
    assert exposure.credit_used("ACC1") == D("300000.00")
    assert exposure.position("ACC1", "SAP") == D(500)
    # The old quantity limit is gone; the new credit limit counts the kept usage.
    passes(check(eng, terms("500", "200.00", instrument=SAP), reference="200.00"))
    r = refused(
        check(eng, terms("501", "200.00", instrument=SAP), reference="200.00"),
        Check.CREDIT,
        OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert "300,000.00 EUR plus this order 100,200.00 EUR" in r.text
    r = refused(
        check(eng, terms(account="ACC2", session=S2)),
        Check.TRADING_STATE,
        OrdRejReason.BROKER_OPTION,
    )
    assert "HALTED for client ACC2 (kept)" in r.text


def test_configure_replaces_the_client_records() -> None:
    eng = engine()
    eng.configure(config(), {"ACC1": record(order_capacity="P")})
    assert passes(check(eng, terms())).order_data.order_capacity == "P"
    refused(
        check(eng, terms(account="ACC2", session=S2)),
        Check.ORDER_DATA,
        OrdRejReason.UNKNOWN_ACCOUNT,
    )


def test_configure_keeps_the_firm_throttle_window() -> None:
    cfg = config(FirmLimits(messages_per_second=2))
    eng = engine(cfg)
    passes(check(eng, terms(), at=later(0)))
    passes(check(eng, terms(), at=later(0.1)))
    eng.configure(cfg, ACCOUNTS)
    refused(check(eng, terms(), at=later(0.2)), Check.THROTTLE, OrdRejReason.OTHER)


def test_configure_keeps_the_session_throttle_window() -> None:
    cfg = config(FirmLimits(session_messages_per_second=2))
    eng = engine(cfg)
    passes(check(eng, terms(), at=later(0)))
    passes(check(eng, terms(), at=later(0.1)))
    eng.configure(cfg, ACCOUNTS)
    refused(check(eng, terms(), at=later(0.2)), Check.THROTTLE, OrdRejReason.OTHER)


# -- the chain's order -------------------------------------------------------------------------


def test_the_first_refusing_check_answers_in_the_documented_order() -> None:
    """Order data, restricted list, trading hours, ExDestination, collar, quantity, notional,
    short selling, position, credit: each order below breaks every check from one on."""
    cfg = config(
        FirmLimits(
            price_collar_pct=D(1),
            max_order_quantity=D(10),
            max_order_notional=D(1500),
            position_limit=D(10),
            credit_limit=D(800),
        ),
        client=(ClientLimits(account="ACC1", restricted=("JPM",)),),
    )
    eng = engine(cfg, calendars={"AAPL": LONDON}, positions={("ACC1", "AAPL"): D(5)})
    closed = datetime(2025, 1, 2, 20, 0, tzinfo=UTC)
    sell, xnas = Side.SELL, "XNAS"
    cases: list[tuple[OrderTerms, datetime, Check]] = [
        (
            terms("1000", "250.00", account="ACC9", instrument=JPM, side=sell, ex_destination=xnas),
            closed,
            Check.ORDER_DATA,
        ),
        (
            terms("1000", "250.00", instrument=JPM, side=sell, ex_destination=xnas),
            closed,
            Check.RESTRICTED,
        ),
        (terms("1000", "250.00", side=sell, ex_destination=xnas), closed, Check.TRADING_HOURS),
        (terms("1000", "250.00", side=sell, ex_destination=xnas), NOW, Check.DESTINATION),
        (terms("1000", "250.00", side=Side.SELL), NOW, Check.PRICE_COLLAR),
        (terms("1000", "190.00", side=Side.SELL), NOW, Check.MAX_QUANTITY),
        (terms("10", "190.00", side=Side.SELL), NOW, Check.MAX_NOTIONAL),  # 1,748.00 EUR
        (terms("6", "190.00", side=Side.SELL), NOW, Check.SHORT_SELLING),
        (terms("6", "190.00"), NOW, Check.POSITION),  # 5 + 6
        (terms("5", "190.00"), NOW, Check.CREDIT),  # 874.00 EUR
    ]
    for order, at, want in cases:
        result = check(eng, order, at=at)
        assert isinstance(result, RiskRejection) and result.check is want, (want, result)
    passes(check(eng, terms("4", "190.00")))
    # The trading state answers before all of them.
    eng.set_state(Scope.FIRM, "", TradingState.REDUCING, "")
    refused(check(eng, terms("4", "190.00")), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)
    eng.set_state(Scope.FIRM, "", TradingState.HALTED, "")
    refused(check(eng, cases[0][0], at=closed), Check.TRADING_STATE, OrdRejReason.BROKER_OPTION)


def test_throttle_answers_before_the_order_data_and_limits() -> None:
    eng = engine(config(FirmLimits(session_messages_per_second=1, max_order_quantity=D(1))))
    refused(check(eng, terms(account="ACC9")), Check.ORDER_DATA, OrdRejReason.UNKNOWN_ACCOUNT)
    refused(check(eng, terms("5", account="ACC9")), Check.THROTTLE, OrdRejReason.OTHER)


# -- entitlements, the day roll, configuration details -----------------------------------------


def test_a_session_may_trade_only_for_the_accounts_it_is_entitled_to() -> None:
    eng = RiskEngine(
        config(),
        ACCOUNTS,
        {},
        MICS,
        Exposure(TODAY),
        session_accounts={S1: "ACC1"},
        entitlements={S1: frozenset({"ACC1"})},
    )
    passes(check(eng, terms(account="ACC1")))
    refusal = refused(
        check(eng, terms(account="ACC2")), Check.ORDER_DATA, OrdRejReason.UNKNOWN_ACCOUNT
    )
    assert refusal.text == "MiFID II order data: Account ACC2 may not be traded on this session"
    # A session with no entitlements listed may not use any Account.
    eng.entitlements[S2] = frozenset()
    refused(
        check(eng, terms(account="ACC1", session=S2)),
        Check.ORDER_DATA,
        OrdRejReason.UNKNOWN_ACCOUNT,
    )


def test_todays_executions_stop_counting_against_credit_after_midnight_utc() -> None:
    eng = engine(config(client=(ClientLimits(account="ACC1", credit_limit=D("20000")),)))
    eng.exposure.fill("ACC1", "AAPL", True, D(100), D("17480.00"), TODAY)
    refused(check(eng, terms("20")), Check.CREDIT, OrdRejReason.ORDER_EXCEEDS_LIMIT)
    tomorrow = datetime.combine(TODAY + timedelta(days=1), time(0, 0, 1), tzinfo=UTC)
    passes(check(eng, terms("20"), at=tomorrow))
    assert eng.exposure.executed == {} and eng.exposure.position("ACC1", "AAPL") == D(100)


def test_default_parties_must_name_a_person_or_an_algorithm() -> None:
    with pytest.raises(ValueError, match="qualifier"):
        PartyDefault(id="1001", source="P", qualifier=23)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid LEI"):
        PartyDefault(id="5493001KJTIIGC8Y1R13", source="N")


def test_limit_changes_list_only_what_the_files_set() -> None:
    from qtinfra.risk.limits import risk_changes

    old = config(client=(ClientLimits(account="ACC1", max_order_quantity=D(100)),))
    new = config(
        client=(
            ClientLimits(
                account="ACC1",
                max_order_quantity=D(200),
                instrument=(ClientInstrumentLimits(symbol="AAPL", position_limit=D(5)),),
            ),
        )
    )
    assert risk_changes(old, new) == [
        "client ACC1 in AAPL position_limit: (unset) -> 5",
        "client ACC1 max_order_quantity: 100 -> 200",
    ]


# -- who decides (accounts.toml decides) -------------------------------------------------------


def _mandate_engine(decides: str) -> RiskEngine:
    account = AccountRecord(
        account="ACC1",
        kind="natural",
        national_id="GBACC1",
        decision_maker=None,
        executing_trader=TRADER_DEFAULT,
        order_capacity="A",
        decides=decides,  # type: ignore[arg-type]
        decision_maker_lei="98450012DEMOACC1AM85" if decides == "third_party" else None,
    )
    return RiskEngine(
        config(),
        {"ACC1": account},
        {},
        MICS,
        Exposure(TODAY, None),
        session_accounts={S1: "ACC1"},
        firm_people=frozenset({"1001"}),
    )


FIRM_PERSON = Party("1001", "P", 122, 24)
CLIENTS_PM = Party("PM77", "P", 122, 24)
FIRM_ALGO = Party("ALGO7", "P", 122, 22)


@pytest.mark.parametrize(
    ("decides", "maker", "capacity", "refused"),
    [
        ("firm", FIRM_PERSON, None, None),
        ("firm", FIRM_ALGO, None, None),
        ("firm", CLIENTS_PM, None, "discretionary mandate"),
        ("client", CLIENTS_PM, None, None),
        ("client", FIRM_PERSON, None, "takes its own investment decisions"),
        ("third_party", FIRM_ALGO, None, "a third party's"),
        ("client", CLIENTS_PM, "P", "deals on own account"),
        ("client", FIRM_PERSON, "P", None),
    ],
)
def test_the_decision_maker_must_agree_with_who_decides_for_the_account(
    decides: str, maker: Party, capacity: str | None, refused: str | None
) -> None:
    decision = check(_mandate_engine(decides), terms(parties=(maker,), order_capacity=capacity))
    if refused is None:
        assert not isinstance(decision, RiskRejection), decision
    else:
        assert isinstance(decision, RiskRejection)
        assert decision.check is Check.ORDER_DATA and refused in decision.text
        assert maker.party_id in decision.text
