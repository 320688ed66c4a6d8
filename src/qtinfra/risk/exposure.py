"""Exposure: what each client (and the firm) has at risk, kept exact with Decimal.

* open notional: the gross base-currency notional of open orders (leaves quantity times the
  order's price; a pending replace counts at the larger of its old and new terms);
* executed today: the gross base-currency notional of today's fills (the day is the UTC
  date; it resets when the date changes);
* positions: the net quantity per client and instrument, from the start-of-day file and
  every fill since;
* open quantity per side, for the position and short-selling checks.

Pure: the order manager tells it every change (`set_order` after any change of an order,
`fill` for each fill); the risk checks read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class _Open:
    account: str
    symbol: str
    buy: bool
    leaves: Decimal
    notional: Decimal


class Exposure:
    """Usage per client and firm-wide; see the module docstring."""

    def __init__(
        self, day: date, start_of_day: Mapping[tuple[str, str], Decimal] | None = None
    ) -> None:
        self.day = day
        self.positions: dict[tuple[str, str], Decimal] = dict(start_of_day or {})
        self.open_notional: dict[str, Decimal] = {}
        self.executed: dict[str, Decimal] = {}
        self.open_buy: dict[tuple[str, str], Decimal] = {}
        self.open_sell: dict[tuple[str, str], Decimal] = {}
        self.firm_open_notional = ZERO
        self.firm_executed = ZERO
        self._orders: dict[str, _Open] = {}

    # -- changes ---------------------------------------------------------------------------

    def set_order(
        self,
        order_id: str,
        account: str,
        symbol: str,
        buy: bool,
        leaves: Decimal,
        notional: Decimal,
    ) -> None:
        """The order's open quantity and open notional are now these (zero: it is done)."""
        old = self._orders.get(order_id)
        if old is not None:
            if old.leaves == leaves and old.notional == notional:
                return
            self._apply(old, -1)
        if leaves > 0:
            new = _Open(account, symbol, buy, leaves, notional)
            self._orders[order_id] = new
            self._apply(new, 1)
        elif old is not None:
            del self._orders[order_id]

    def _apply(self, o: _Open, sign: int) -> None:
        key = (o.account, o.symbol)
        side = self.open_buy if o.buy else self.open_sell
        side[key] = side.get(key, ZERO) + sign * o.leaves
        self.open_notional[o.account] = self.open_notional.get(o.account, ZERO) + sign * o.notional
        self.firm_open_notional += sign * o.notional

    def fill(
        self, account: str, symbol: str, buy: bool, quantity: Decimal, notional: Decimal, day: date
    ) -> None:
        """A fill of `quantity` worth `notional` (base currency) on `day` (UTC date). A fill
        of an earlier day (read back at start) moves the position only."""
        if day > self.day:
            self.roll(day)
        key = (account, symbol)
        self.positions[key] = self.positions.get(key, ZERO) + (quantity if buy else -quantity)
        if day == self.day:
            self.executed[account] = self.executed.get(account, ZERO) + notional
            self.firm_executed += notional

    def roll(self, day: date) -> None:
        """A new trading day: today's executions start again from zero."""
        if day > self.day:
            self.executed.clear()
            self.firm_executed = ZERO
            self.day = day

    # -- reads -----------------------------------------------------------------------------

    def position(self, account: str, symbol: str) -> Decimal:
        return self.positions.get((account, symbol), ZERO)

    def open_quantity(self, account: str, symbol: str, buy: bool) -> Decimal:
        return (self.open_buy if buy else self.open_sell).get((account, symbol), ZERO)

    def credit_used(self, account: str) -> Decimal:
        return self.open_notional.get(account, ZERO) + self.executed.get(account, ZERO)

    @property
    def firm_credit_used(self) -> Decimal:
        return self.firm_open_notional + self.firm_executed

    def order(self, order_id: str) -> tuple[Decimal, Decimal]:
        """(open quantity, open notional) the order counts for now."""
        o = self._orders.get(order_id)
        return (o.leaves, o.notional) if o is not None else (ZERO, ZERO)

    def snapshot(self, account: str) -> dict[str, object]:
        """A client's usage, for operations (JSON-friendly strings)."""
        positions = sorted((s, q) for (a, s), q in self.positions.items() if a == account)
        return {
            "account": account,
            "day": self.day.isoformat(),
            "open_notional": str(self.open_notional.get(account, ZERO)),
            "executed_today": str(self.executed.get(account, ZERO)),
            "credit_used": str(self.credit_used(account)),
            "positions": {s: str(q) for s, q in positions},
        }
