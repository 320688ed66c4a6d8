"""The pre-trade check chain (MiFID II RTS 6 Art. 15 controls, the firm's limits, the
MiFID II order data) and the trading states of the kill switch (RTS 6 Art. 12).

Pure: no I/O, no clock. The order manager calls `check_new` for every new order and
`check_replace` for every replace before anything leaves for a venue, `throttle` for
every cancel, and keeps `exposure` current; the result is either an Approval (with the
MiFID II data the order carries from then on) or a RiskRejection naming the check, the
limit and the value.

The checks run in this order (the first that refuses answers): trading state, message
throttle, MiFID II order data, restricted list, trading hours, ExDestination, price
collar, maximum quantity, maximum notional, short selling, position limit, credit limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from qtinfra.domain.commands import Party
from qtinfra.domain.values import (
    ALGORITHM,
    NATURAL_PERSON,
    Instrument,
    OrdRejReason,
    OrdType,
    Side,
)
from qtinfra.risk.calendar import TradingCalendar
from qtinfra.risk.exposure import ZERO, Exposure
from qtinfra.risk.limits import AccountRecord, LimitSet, PartyDefault, RiskConfig

HUNDRED = Decimal(100)
CLIENT_ID = 3
DECISION_MAKER = 122
EXECUTING_TRADER = 12
PERSON_OR_ALGO = frozenset({ALGORITHM, NATURAL_PERSON})


class Check(StrEnum):
    """The checks, by the name used in reject Texts and the metrics' `check` label."""

    TRADING_STATE = "trading_state"
    THROTTLE = "throttle"
    ORDER_DATA = "mifid_order_data"
    RESTRICTED = "restricted_list"
    TRADING_HOURS = "trading_hours"
    DESTINATION = "ex_destination"
    PRICE_COLLAR = "price_collar"
    MAX_QUANTITY = "max_order_quantity"
    MAX_NOTIONAL = "max_order_notional"
    SHORT_SELLING = "short_selling"
    POSITION = "position_limit"
    CREDIT = "credit_limit"


class TradingState(StrEnum):
    """RTS 6 Art. 12 kill switch states, by severity."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class Scope(StrEnum):
    FIRM = "firm"
    SESSION = "session"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class RiskRejection:
    check: Check
    reason: OrdRejReason
    text: str


@dataclass(frozen=True, slots=True)
class OrderData:
    """The MiFID II data an order carries: from the message, else the client's defaults."""

    decision_maker: Party | None
    """None when the client (or its third party) decides and the order names no one."""
    executing_trader: Party
    order_capacity: str


@dataclass(frozen=True, slots=True)
class Approval:
    """The order passed. exposure_price: the base-currency price its open quantity counts
    at (its limit price, or the reference price for a market order)."""

    order_data: OrderData
    exposure_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What the chain checks: a new order, or a replace's new terms (`replaces`: the order
    being replaced, whose own open quantity and notional do not count against it)."""

    session: str
    account: str | None
    instrument: Instrument
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None
    parties: tuple[Party, ...] = ()
    order_capacity: str | None = None
    ex_destination: str | None = None
    replaces: str | None = None
    cum_qty: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class _Levels:
    """The limits that apply to one client in one instrument, each with its level's label."""

    collar_pct: tuple[tuple[Decimal, str], ...]
    collar_ticks: tuple[tuple[int, str], ...]
    max_quantity: tuple[tuple[Decimal, str], ...]
    max_notional: tuple[tuple[Decimal, str], ...]
    position: tuple[tuple[Decimal, str], ...]
    restricted: str | None
    short_refusal: str | None


@dataclass(slots=True)
class _Window:
    """Order messages accepted in the last second on one session."""

    limit: int
    times: deque[float] = field(default_factory=deque)


def _fmt(value: Decimal) -> str:
    """1,234,567.00 style for amounts, 1,234 for whole quantities."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,f}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


class RiskEngine:
    """See the module docstring."""

    def __init__(
        self,
        config: RiskConfig,
        accounts: Mapping[str, AccountRecord],
        calendars: Mapping[str, TradingCalendar],
        venue_mics: Mapping[str, str],
        exposure: Exposure,
        session_accounts: Mapping[str, str] | None = None,
        entitlements: Mapping[str, frozenset[str]] | None = None,
        firm_people: frozenset[str] | None = None,
    ) -> None:
        """calendars: by instrument symbol. venue_mics: venue name -> MIC.
        session_accounts: the client (Account) each session trades for by default, which
        also picks the session's throttle. entitlements: the Accounts each session may
        trade for (a session not listed may use any known Account). firm_people: the
        short codes of the firm's people (config/people.toml), against which an order's
        decision maker is checked (None: not checked)."""
        self.firm_people = firm_people
        self.exposure = exposure
        self.calendars = dict(calendars)
        self.venue_by_mic = {mic: venue for venue, mic in venue_mics.items()}
        self.session_accounts = dict(session_accounts or {})
        self.entitlements = dict(entitlements or {})
        self.states: dict[tuple[Scope, str], TradingState] = {}
        self.state_reasons: dict[tuple[Scope, str], str] = {}
        self._firm_window: deque[float] = deque()
        self._open_until: dict[str, tuple[datetime, datetime]] = {}
        """Per calendar: an instant known to be in a session, and that session's close (the
        hot path then skips the time-zone arithmetic)."""
        self.configure(config, accounts)

    def configure(self, config: RiskConfig, accounts: Mapping[str, AccountRecord]) -> None:
        """Apply a (new) configuration; usage and trading states are kept."""
        self.config = config
        self.accounts = dict(accounts)
        self.base = config.firm.base_currency
        self._instruments = {i.symbol: i for i in config.instrument}
        self._clients = {c.account: c for c in config.client}
        self._levels: dict[tuple[str, str], _Levels] = {}
        # Throttle windows keep their messages across a reload; only the limit changes.
        windows: dict[str, _Window] = getattr(self, "_windows", {})
        for session, window in windows.items():
            window.limit = self._session_limit(session)
        self._windows = windows

    def _session_limit(self, session: str) -> int:
        """A session's order messages per second: its client's, else the firm's default
        (0: no limit)."""
        client = self._clients.get(self.session_accounts.get(session) or "")
        limit = (client.messages_per_second if client else None) or (
            self.config.firm.session_messages_per_second
        )
        return limit or 0

    def fx(self, instrument: Instrument) -> Decimal:
        """Base-currency value of one unit of the instrument's currency."""
        return self.config.fx[instrument.currency]

    def unit_price(self, instrument: Instrument, price: Decimal | None) -> Decimal | None:
        """A price in the instrument's currency, in the base currency."""
        return None if price is None else price * self.config.fx[instrument.currency]

    # -- trading states --------------------------------------------------------------------

    def set_state(self, scope: Scope, target: str, state: TradingState, reason: str) -> None:
        key = (scope, target if scope is not Scope.FIRM else "")
        if state is TradingState.ACTIVE:
            self.states.pop(key, None)
            self.state_reasons.pop(key, None)
        else:
            self.states[key] = state
            self.state_reasons[key] = reason

    def state_for(self, session: str, account: str | None) -> tuple[TradingState, str]:
        """The most severe state over the firm, the session and the client, and which."""
        if not self.states:
            return TradingState.ACTIVE, ""
        worst, where = TradingState.ACTIVE, ""
        for key, label in (
            ((Scope.FIRM, ""), "firm-wide"),
            ((Scope.SESSION, session), f"for session {session}"),
            ((Scope.CLIENT, account or ""), f"for client {account}"),
        ):
            state = self.states.get(key)
            if state is not None and _SEVERITY[state] > _SEVERITY[worst]:
                reason = self.state_reasons.get(key, "")
                worst, where = state, f"{label} ({reason})" if reason else label
        return worst, where

    # -- the chain -------------------------------------------------------------------------

    def throttle(self, session: str, now: datetime) -> RiskRejection | None:
        """Count one order message (new, cancel, replace) on a session; refuse it when the
        session or the firm already had its limit in the last second (messages the throttle
        refuses do not count; those a later check refuses do)."""
        window = self._windows.get(session)
        if window is None:
            window = self._windows[session] = _Window(self._session_limit(session))
        stamp = now.timestamp()
        horizon = stamp - 1.0
        times = window.times
        while times and times[0] <= horizon:
            times.popleft()
        if window.limit and len(times) >= window.limit:
            return RiskRejection(
                Check.THROTTLE,
                OrdRejReason.OTHER,
                f"throttle: more than {window.limit} order messages per second on this session "
                "(messages_per_second); send it again later",
            )
        firm_limit = self.config.firm.messages_per_second
        if firm_limit:
            firm = self._firm_window
            while firm and firm[0] <= horizon:
                firm.popleft()
            if len(firm) >= firm_limit:
                return RiskRejection(
                    Check.THROTTLE,
                    OrdRejReason.OTHER,
                    f"throttle: the firm-wide limit of {firm_limit} order messages per second "
                    "is reached (messages_per_second); send it again later",
                )
            firm.append(stamp)
        times.append(stamp)
        return None

    def check_cancel(self, session: str, now: datetime) -> RiskRejection | None:
        """A cancel passes in every trading state; only the throttle applies."""
        return self.throttle(session, now)

    def check_new(
        self,
        terms: OrderTerms,
        now: datetime,
        reference: Decimal | None,
        reference_source: str,
    ) -> Approval | RiskRejection:
        """Every check for a new order, or a replace's new terms. reference: the reference
        price in the instrument's currency (venues' mid, else the configured one) and what
        it is, for the Text."""
        state, where = self.state_for(terms.session, terms.account)
        if state is TradingState.HALTED:
            return RiskRejection(
                Check.TRADING_STATE,
                OrdRejReason.BROKER_OPTION,
                f"kill switch: trading is HALTED {where}; only cancels are accepted",
            )
        throttled = self.throttle(terms.session, now)
        if throttled is not None:
            return throttled
        data = self._order_data(terms)
        if isinstance(data, RiskRejection):
            return data
        account = terms.account or ""
        inst = terms.instrument
        symbol = inst.symbol
        levels = self._levels_for(account, symbol)
        if levels.restricted is not None:
            return RiskRejection(
                Check.RESTRICTED,
                OrdRejReason.BROKER_OPTION,
                f"restricted list: {symbol} is restricted {levels.restricted}",
            )
        calendar = self.calendars.get(symbol)
        if calendar is not None:
            window = self._open_until.get(calendar.name)
            if window is None or not window[0] <= now < window[1]:
                if not calendar.is_open(now):
                    return RiskRejection(
                        Check.TRADING_HOURS,
                        OrdRejReason.EXCHANGE_CLOSED,
                        f"trading hours: {calendar.closed_text(now)} ({symbol})",
                    )
                self._open_until[calendar.name] = (now, calendar.next_close(now))
        if terms.ex_destination is not None:
            refused = self._destination(terms.ex_destination, inst)
            if refused is not None:
                return refused
        fx = self.config.fx.get(inst.currency)
        if fx is None:  # check_references at load time makes this unreachable
            return RiskRejection(
                Check.MAX_NOTIONAL,
                OrdRejReason.OTHER,
                f"no fx rate for {inst.currency} in the risk configuration",
            )
        price = terms.price
        if terms.ord_type is OrdType.MARKET:
            if reference is None:
                return RiskRejection(
                    Check.PRICE_COLLAR,
                    OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
                    f"price collar: market order rejected, no reference price for {symbol} "
                    "(no venue quotes it and none is configured)",
                )
            price = reference
        else:
            assert price is not None
            refused = self._collar(price, reference, reference_source, inst, levels)
            if refused is not None:
                return refused
        assert price is not None
        quantity = terms.quantity
        for limit, label in levels.max_quantity:
            if quantity > limit:
                return RiskRejection(
                    Check.MAX_QUANTITY,
                    OrdRejReason.ORDER_EXCEEDS_LIMIT,
                    f"order quantity {_fmt(quantity)} exceeds max_order_quantity "
                    f"{_fmt(limit)} {label}",
                )
        unit = price * fx
        notional = quantity * unit
        for limit, label in levels.max_notional:
            if notional > limit:
                return RiskRejection(
                    Check.MAX_NOTIONAL,
                    OrdRejReason.ORDER_EXCEEDS_LIMIT,
                    f"order notional {_money(notional)} {self.base} exceeds max_order_notional "
                    f"{_money(limit)} {self.base} {label}",
                )
        exposure = self.exposure
        exposure.roll(now.date())  # today's executions start from zero after midnight UTC
        buy = terms.side is Side.BUY
        # Open quantity and notional of the client's other orders (a replace nets out the
        # order it replaces) and what this order adds if it fills completely.
        own_leaves, own_notional = (
            exposure.order(terms.replaces) if terms.replaces else (ZERO, ZERO)
        )
        open_leaves = quantity - terms.cum_qty
        position = exposure.position(account, symbol)
        same_side = exposure.open_quantity(account, symbol, buy) - own_leaves
        if terms.side is Side.SELL:
            available = position - same_side
            if open_leaves > available:
                return RiskRejection(
                    Check.SHORT_SELLING,
                    OrdRejReason.BROKER_OPTION,
                    f"short selling: sell of {_fmt(open_leaves)} {symbol} exceeds the long "
                    f"position available to sell ({_fmt(max(available, ZERO))}); "
                    "send it as a short sell (Side 5)",
                )
        elif terms.side is Side.SELL_SHORT and levels.short_refusal is not None:
            return RiskRejection(
                Check.SHORT_SELLING, OrdRejReason.BROKER_OPTION, levels.short_refusal
            )
        signed = open_leaves + same_side
        after = position + signed if buy else position - signed
        for limit, label in levels.position:
            # An order that takes the position towards zero always passes, even when the
            # position is already beyond a (lowered) limit.
            if abs(after) > limit and abs(after) > abs(position):
                return RiskRejection(
                    Check.POSITION,
                    OrdRejReason.ORDER_EXCEEDS_LIMIT,
                    f"position limit: {symbol} position {_fmt(position)} with open "
                    f"{'buys' if buy else 'sells'} {_fmt(same_side)} and this order "
                    f"{_fmt(open_leaves)} could reach {_fmt(after)}, beyond position_limit "
                    f"{_fmt(limit)} {label}",
                )
        added = open_leaves * unit - own_notional
        client = self._clients.get(account)
        if client is not None and client.credit_limit is not None:
            used = exposure.credit_used(account)
            if used + added > client.credit_limit:
                return RiskRejection(
                    Check.CREDIT,
                    OrdRejReason.ORDER_EXCEEDS_LIMIT,
                    f"credit limit: open orders and today's executions {_money(used)} "
                    f"{self.base} plus this order {_money(added)} {self.base} exceed "
                    f"credit_limit {_money(client.credit_limit)} {self.base} for client "
                    f"{account}",
                )
        firm_credit = self.config.firm.credit_limit
        if firm_credit is not None:
            used = exposure.firm_credit_used
            if used + added > firm_credit:
                return RiskRejection(
                    Check.CREDIT,
                    OrdRejReason.ORDER_EXCEEDS_LIMIT,
                    f"credit limit: the firm's open orders and today's executions "
                    f"{_money(used)} {self.base} plus this order {_money(added)} {self.base} "
                    f"exceed credit_limit {_money(firm_credit)} {self.base} firm-wide",
                )
        if state is TradingState.REDUCING and not (terms.replaces and open_leaves <= own_leaves):
            # Only an order that takes the position towards zero, counting the client's
            # other open orders on the same side, passes (and a replace that does not add
            # to its order's open quantity).
            reduces = (after >= 0 and not buy) if position > 0 else (after <= 0 and buy)
            if position == 0 or not reduces:
                return RiskRejection(
                    Check.TRADING_STATE,
                    OrdRejReason.BROKER_OPTION,
                    f"kill switch: trading is REDUCING {where}; only orders that reduce a "
                    f"position are accepted ({symbol} position {_fmt(position)}, this "
                    f"{'buy' if buy else 'sell'} could take it to {_fmt(after)})",
                )
        return Approval(data, unit)

    # -- the parts -------------------------------------------------------------------------

    def _order_data(self, terms: OrderTerms) -> OrderData | RiskRejection:
        def refuse(reason: OrdRejReason, text: str) -> RiskRejection:
            return RiskRejection(Check.ORDER_DATA, reason, f"MiFID II order data: {text}")

        if not terms.account:
            return refuse(
                OrdRejReason.UNKNOWN_ACCOUNT,
                "Account (1) is required (this session has no default account)",
            )
        record = self.accounts.get(terms.account)
        if record is None:
            return refuse(
                OrdRejReason.UNKNOWN_ACCOUNT, f"Account {terms.account} is not a known client"
            )
        allowed = self.entitlements.get(terms.session)
        if allowed is not None and terms.account not in allowed:
            return refuse(
                OrdRejReason.UNKNOWN_ACCOUNT,
                f"Account {terms.account} may not be traded on this session",
            )
        found: dict[int, Party] = {}
        for party in terms.parties:
            if party.role in (DECISION_MAKER, EXECUTING_TRADER):
                if party.qualifier is not None and party.qualifier not in PERSON_OR_ALGO:
                    return refuse(
                        OrdRejReason.OTHER,
                        f"PartyRoleQualifier (2376) {party.qualifier} is not valid for "
                        f"PartyRole {party.role}; use 24 (natural person) or 22 (algorithm)",
                    )
                found[party.role] = party
        decision = found.get(DECISION_MAKER) or _party(record.decision_maker, DECISION_MAKER)
        trader = found.get(EXECUTING_TRADER) or _party(record.executing_trader, EXECUTING_TRADER)
        if trader is None:
            return refuse(
                OrdRejReason.OTHER,
                "executing trader or algorithm missing: send Parties (453) with PartyRole "
                f"(452) 12, or set a default for account {record.account}",
            )
        capacity = terms.order_capacity or record.order_capacity
        if capacity is None:
            return refuse(
                OrdRejReason.OTHER,
                "trading capacity missing: send OrderCapacity (528) A, P or R, or set a "
                f"default for account {record.account}",
            )
        if decision is None and (capacity == "P" or record.decides == "firm"):
            # The firm decides (own account, or a discretionary mandate): it names who. A
            # client deciding itself, or its third party, is named by no one here (RTS 22
            # fields 12 and 57 follow from the account).
            return refuse(
                OrdRejReason.OTHER,
                "investment decision maker missing: the firm decides for account "
                f"{record.account} ("
                + ("OrderCapacity P" if capacity == "P" else "discretionary mandate")
                + "); send Parties (453) with PartyRole (452) 122, or set a default for it",
            )
        if decision is not None:
            contradiction = self._decision_contradiction(record, decision, capacity)
            if contradiction is not None:
                return refuse(OrdRejReason.OTHER, contradiction)
        return OrderData(decision, trader, capacity)

    def _decision_contradiction(
        self, record: AccountRecord, decision: Party, capacity: str
    ) -> str | None:
        """Why the order's decision maker (PartyRole 122) contradicts who decides for the
        account (accounts.toml decides): the firm decides when it deals on own account
        (OrderCapacity P) or under a discretionary mandate, and then the decision maker is
        one of its people or algorithms; otherwise it may not be."""
        if self.firm_people is None:
            return None
        firms = decision.qualifier == ALGORITHM or decision.party_id in self.firm_people
        if capacity == "P" or record.decides == "firm":
            if firms:
                return None
            why = (
                "the firm deals on own account (OrderCapacity P)"
                if capacity == "P"
                else f"account {record.account} is under the firm's discretionary mandate"
            )
            return (
                f"{why}: the investment decision maker (PartyRole 122) must be one of the "
                f"firm's people or algorithms, and {decision.party_id} is neither"
            )
        if firms:
            who = "its own" if record.decides == "client" else "a third party's"
            return (
                f"account {record.account} takes {who} investment decisions: PartyRole 122 "
                f"{decision.party_id} names the firm's person or algorithm"
            )
        return None

    def _destination(self, mic: str, inst: Instrument) -> RiskRejection | None:
        venue = self.venue_by_mic.get(mic)
        if venue is None:
            known = ", ".join(sorted(self.venue_by_mic))
            return RiskRejection(
                Check.DESTINATION,
                OrdRejReason.OTHER,
                f"ExDestination (100) {mic} is not a venue this gateway routes to ({known})",
            )
        if venue not in inst.venues:
            return RiskRejection(
                Check.DESTINATION,
                OrdRejReason.OTHER,
                f"ExDestination (100) {mic} does not trade {inst.symbol}",
            )
        return None

    def _collar(
        self,
        price: Decimal,
        reference: Decimal | None,
        source: str,
        inst: Instrument,
        levels: _Levels,
    ) -> RiskRejection | None:
        if reference is None or not (levels.collar_pct or levels.collar_ticks):
            return None
        distance = abs(price - reference)
        for pct, label in levels.collar_pct:
            if distance * HUNDRED > pct * reference:
                # Rounded up, so a refused price never reads as exactly at the limit.
                away = (distance * HUNDRED / reference).quantize(Decimal("0.01"), ROUND_UP)
                return RiskRejection(
                    Check.PRICE_COLLAR,
                    OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
                    f"price collar: limit price {price} is {away}% from the reference price "
                    f"{reference} ({source}), beyond price_collar_pct {pct}% {label}",
                )
        for ticks, label in levels.collar_ticks:
            if distance > ticks * inst.tick_size:
                away_ticks = (distance / inst.tick_size).to_integral_value(ROUND_UP)
                return RiskRejection(
                    Check.PRICE_COLLAR,
                    OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND,
                    f"price collar: limit price {price} is {away_ticks} ticks from the "
                    f"reference price {reference} ({source}), beyond price_collar_ticks "
                    f"{ticks} {label}",
                )
        return None

    def _levels_for(self, account: str, symbol: str) -> _Levels:
        key = (account, symbol)
        levels = self._levels.get(key)
        if levels is None:
            levels = self._levels[key] = self._resolve(account, symbol)
        return levels

    def _resolve(self, account: str, symbol: str) -> _Levels:
        firm = self.config.firm
        inst = self._instruments.get(symbol)
        client = self._clients.get(account)
        client_inst = (
            next((i for i in client.instrument if i.symbol == symbol), None) if client else None
        )
        sets: list[tuple[LimitSet, str]] = [(firm, "firm-wide")]
        if inst is not None:
            sets.append((inst, f"for instrument {symbol}"))
        if client is not None:
            sets.append((client, f"for client {account}"))
        if client_inst is not None:
            sets.append((client_inst, f"for client {account} in {symbol}"))

        def collect(get: Callable[[LimitSet], object]) -> tuple[tuple[object, str], ...]:
            return tuple((v, label) for s, label in sets if (v := get(s)) is not None)

        restricted = None
        if symbol in firm.restricted:
            restricted = "firm-wide"
        elif inst is not None and inst.restricted:
            restricted = "for every client (instrument list)"
        elif client is not None and (
            symbol in client.restricted or (client_inst is not None and client_inst.restricted)
        ):
            restricted = f"for client {account}"
        short_refusal = None
        if symbol in firm.short_selling_banned:
            short_refusal = f"short selling: {symbol} is under a firm-wide short-selling ban"
        else:
            allowed = client.short_selling if client is not None else False
            if client_inst is not None and client_inst.short_selling is not None:
                allowed = client_inst.short_selling
            if not allowed:
                short_refusal = f"short selling: client {account} may not sell {symbol} short"
        return _Levels(
            collar_pct=collect(lambda s: s.price_collar_pct),  # type: ignore[arg-type]
            collar_ticks=collect(lambda s: s.price_collar_ticks),  # type: ignore[arg-type]
            max_quantity=collect(lambda s: s.max_order_quantity),  # type: ignore[arg-type]
            max_notional=collect(lambda s: s.max_order_notional),  # type: ignore[arg-type]
            position=collect(lambda s: s.position_limit),  # type: ignore[arg-type]
            restricted=restricted,
            short_refusal=short_refusal,
        )


def _party(default: PartyDefault | None, role: int) -> Party | None:
    if default is None:
        return None
    return Party(default.id, default.source, role, default.qualifier)
