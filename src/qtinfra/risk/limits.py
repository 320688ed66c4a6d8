"""The risk configuration: one model for the whole check chain (config/risk.toml), and the
client records the MiFID II order-data check reads (config/accounts.toml).

Every limit may be set at three levels: firm-wide ([firm]), per instrument ([[instrument]])
and per client ([[client]], with per-instrument overrides in [[client.instrument]]). Every
limit that is set applies: an order must pass the firm's, its instrument's and its
client's, and the reject Text names the level that refused it. A limit left out is not
checked at that level. Notional amounts are in the firm's base currency, converted with
the rates in [fx].
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qtinfra.domain.identifiers import lei_is_valid


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LimitSet(_Frozen):
    """The limits one level sets (all optional).

    price_collar_pct: a limit price more than this percentage away from the reference price
    is rejected (RTS 6 Art. 15(1)(a)). price_collar_ticks: the same in ticks of the
    instrument; when both are set both apply. max_order_quantity / max_order_notional: per
    order (Art. 15(1)(c) maximum order volume, 15(1)(b) maximum order value).
    position_limit: the absolute net position in one instrument the order may lead to if it
    and every open order on the same side fill.
    """

    price_collar_pct: Decimal | None = Field(default=None, gt=0)
    price_collar_ticks: int | None = Field(default=None, gt=0)
    max_order_quantity: Decimal | None = Field(default=None, gt=0)
    max_order_notional: Decimal | None = Field(default=None, gt=0)
    position_limit: Decimal | None = Field(default=None, ge=0)


class FirmLimits(LimitSet):
    """[firm]: firm-wide limits and switches.

    base_currency: the currency notional limits are expressed in. credit_limit: the firm's
    gross notional of open orders plus today's executions, all clients together.
    session_messages_per_second: the order-message throttle (new, cancel, replace) of each
    client session that sets none itself (Art. 15(1)(d)); messages_per_second: all sessions
    together. restricted: symbols nobody may trade. short_selling_banned: symbols nobody may
    sell short.
    """

    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    credit_limit: Decimal | None = Field(default=None, gt=0)
    session_messages_per_second: int | None = Field(default=None, gt=0)
    messages_per_second: int | None = Field(default=None, gt=0)
    restricted: tuple[str, ...] = ()
    short_selling_banned: tuple[str, ...] = ()


class InstrumentLimits(LimitSet):
    """[[instrument]]: limits for every order in one instrument (all clients)."""

    symbol: str
    restricted: bool = False


class ClientInstrumentLimits(LimitSet):
    """[[client.instrument]]: one client's limits in one instrument."""

    symbol: str
    restricted: bool = False
    short_selling: bool | None = None


class ClientLimits(LimitSet):
    """[[client]]: limits for one client (Account 1).

    credit_limit: the client's gross notional of open orders plus today's executions.
    messages_per_second: the throttle of the client's sessions (default: the firm's
    session_messages_per_second). restricted: symbols this client may not trade.
    short_selling: whether the client may sell short (Side 5) at all; a
    [[client.instrument]] entry may allow or forbid it per instrument.
    """

    account: str
    credit_limit: Decimal | None = Field(default=None, gt=0)
    messages_per_second: int | None = Field(default=None, gt=0)
    restricted: tuple[str, ...] = ()
    short_selling: bool = False
    instrument: tuple[ClientInstrumentLimits, ...] = ()

    @model_validator(mode="after")
    def _unique_instruments(self) -> ClientLimits:
        symbols = [i.symbol for i in self.instrument]
        if len(symbols) != len(set(symbols)):
            raise ValueError(f"client {self.account}: an instrument is listed twice")
        return self


class RiskConfig(_Frozen):
    """config/risk.toml: the whole check chain's configuration."""

    firm: FirmLimits = FirmLimits()
    fx: dict[str, Decimal] = Field(default_factory=lambda: {"EUR": Decimal(1)})
    instrument: tuple[InstrumentLimits, ...] = ()
    client: tuple[ClientLimits, ...] = ()

    @field_validator("fx")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, rate in value.items():
            if len(currency) != 3 or not currency.isupper():
                raise ValueError(f"fx: {currency!r} is not an ISO 4217 currency code")
            if rate <= 0:
                raise ValueError(f"fx: the rate of {currency} must be positive, got {rate}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RiskConfig:
        if self.fx.get(self.firm.base_currency) != Decimal(1):
            raise ValueError(
                f"fx: the base currency {self.firm.base_currency} must have the rate 1"
            )
        for kind, names in (
            ("instrument", [i.symbol for i in self.instrument]),
            ("client", [c.account for c in self.client]),
        ):
            if len(names) != len(set(names)):
                raise ValueError(f"{kind} {names} lists one twice in the risk configuration")
        return self

    def check_references(self, symbols: set[str], currencies: set[str]) -> None:
        """Raise ValueError when the configuration names an instrument that does not exist
        or lacks the rate of an instrument's currency."""
        named = set(self.firm.restricted) | set(self.firm.short_selling_banned)
        named |= {i.symbol for i in self.instrument}
        for c in self.client:
            named |= set(c.restricted) | {i.symbol for i in c.instrument}
        unknown = sorted(named - symbols)
        if unknown:
            raise ValueError(f"risk configuration names unknown instruments {unknown}")
        missing = sorted(currencies - set(self.fx))
        if missing:
            raise ValueError(f"fx: no rate for the instrument currencies {missing}")


class PartyDefault(_Frozen):
    """A default Parties (453) entry: PartyID (448), PartyIDSource (447), PartyRoleQualifier
    (2376: 22 algorithm, 24 natural person)."""

    id: str = Field(min_length=1)
    source: str = "P"
    qualifier: Literal[22, 24] | None = None

    @model_validator(mode="after")
    def _lei(self) -> PartyDefault:
        if self.source == "N" and not lei_is_valid(self.id):
            raise ValueError(f"{self.id!r} with source N is not a valid LEI")
        return self


class AccountRecord(_Frozen):
    """[[account]] in config/accounts.toml: a client's static data (MiFID II RTS 22/24).

    account: the Account (1) value. kind: "legal" (identified by its LEI) or "natural" (a
    natural person, identified by a national client identifier, RTS 22 Art. 6).
    decision_maker / executing_trader: defaults for PartyRole 122 and 12 when an order
    carries none. order_capacity: default OrderCapacity (528): A agency, P principal,
    R riskless principal.

    For a natural person, what an RTS 22 transaction report identifies them by (fields 7-11
    and 16-20): national_id, the national client identifier with its country prefix
    (RTS 22 Art. 6, Annex II); national_id_scheme: NIDN, CCPT or CONCAT (unset: CONCAT when
    the id has the CONCAT form, else NIDN); first_names, surname, birth_date.
    flags_short_sales: the client marks every short sale as such (Side 5/6), so a plain
    sell (Side 2) is known not to be short: RTS 22 field 62 SELL; otherwise UNDI.

    Who takes the investment decisions (RTS 22 fields 12/21 and 57): decides "client" (the
    default: the client itself; its orders may not name one of the firm's people or
    algorithms as decision maker, PartyRole 122), "firm" (a discretionary mandate: the
    decision maker must be one of the firm's people, config/people.toml, or algorithms;
    field 12/21 is the firm's LEI and 57 the decision maker) or "third_party" (another
    firm decides, e.g. a fund's manager: decision_maker_lei is its LEI, reported in field
    12/21; the account itself, the fund, is the buyer or seller).
    """

    account: str = Field(min_length=1)
    name: str = ""
    kind: Literal["legal", "natural"] = "legal"
    lei: str | None = None
    national_id: str | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    decision_maker: PartyDefault | None = None
    executing_trader: PartyDefault | None = None
    order_capacity: Literal["A", "P", "R"] | None = None
    national_id_scheme: Literal["NIDN", "CCPT", "CONCAT"] | None = None
    first_names: str | None = None
    surname: str | None = None
    birth_date: date | str | None = None
    flags_short_sales: bool = False
    decides: Literal["client", "firm", "third_party"] = "client"
    decision_maker_lei: str | None = None
    """Personal values (national_id, name, first_names, surname, birth_date) may be sealed at
    rest as `fernet:...` (store/privacy.py); they are revealed only for reports."""

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: date | str | None) -> date | str | None:
        if isinstance(value, str) and not value.startswith("fernet:"):
            return date.fromisoformat(value)
        return value

    @model_validator(mode="after")
    def _identified(self) -> AccountRecord:
        if self.lei is not None and not lei_is_valid(self.lei):
            raise ValueError(
                f"account {self.account}: {self.lei!r} is not a valid LEI (ISO 17442 check digits)"
            )
        if self.kind == "legal" and self.lei is None:
            raise ValueError(f"account {self.account}: a legal person needs an lei")
        if (self.decides == "third_party") != (self.decision_maker_lei is not None):
            raise ValueError(
                f"account {self.account}: decision_maker_lei is the LEI of the third party "
                'that decides: set it exactly when decides = "third_party"'
            )
        if self.decision_maker_lei is not None and not lei_is_valid(self.decision_maker_lei):
            raise ValueError(
                f"account {self.account}: decision_maker_lei {self.decision_maker_lei!r} is "
                "not a valid LEI (ISO 17442 check digits)"
            )
        if self.kind == "natural" and not self.national_id:
            raise ValueError(f"account {self.account}: a natural person needs a national_id")
        return self


class StartOfDayPosition(_Frozen):
    """[[position]] in config/positions.toml: a client's net position at the start of
    `as_of` (the file's date); fills from that day on move it."""

    account: str
    symbol: str
    quantity: Decimal


class PositionsFile(_Frozen):
    as_of: date | None = None
    position: tuple[StartOfDayPosition, ...] = ()


def _flatten(config: RiskConfig) -> dict[str, str]:
    """Every set value of a risk configuration by a readable key."""
    out: dict[str, str] = {}

    def put(prefix: str, values: dict[str, object]) -> None:
        for key, value in values.items():
            if key in ("symbol", "account", "instrument") or value in (None, (), [], {}):
                continue
            out[f"{prefix} {key}"] = (
                ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            )

    put("firm", config.firm.model_dump(exclude_unset=True))
    out.update({f"fx {ccy}": str(rate) for ccy, rate in config.fx.items()})
    for inst in config.instrument:
        put(f"instrument {inst.symbol}", inst.model_dump(exclude_unset=True))
    for client in config.client:
        put(f"client {client.account}", client.model_dump(exclude_unset=True))
        for ci in client.instrument:
            put(f"client {client.account} in {ci.symbol}", ci.model_dump(exclude_unset=True))
    return out


def risk_changes(old: RiskConfig, new: RiskConfig) -> list[str]:
    """What differs between two risk configurations, one line per value."""
    before, after = _flatten(old), _flatten(new)
    lines = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a != b:
            lines.append(
                f"{key}: {a if a is not None else '(unset)'} -> {b if b is not None else '(unset)'}"
            )
    return lines
