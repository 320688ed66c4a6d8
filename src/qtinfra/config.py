"""Configuration: one pydantic model per part, loaded from the TOML files in config/.

Every setting is documented where it is defined; defaults are what the demo set-up uses.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qtinfra.domain.identifiers import isin_is_valid, lei_is_valid, mic_is_valid
from qtinfra.domain.values import Instrument
from qtinfra.errors import ConfigError
from qtinfra.risk.calendar import TradingCalendar
from qtinfra.risk.limits import AccountRecord, PositionsFile, RiskConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the package runs from (config/, sessions/, fix_specs/ sit here)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstrumentConfig(_Frozen):
    """One instrument of the reference data (config/instruments.toml).

    symbol: Symbol (55) clients use. isin: SecurityID (48) with SecurityIDSource (22)=4.
    currency: ISO 4217. tick_size / lot_size: the price and quantity increments orders must
    respect. reference_price: the price the venues seed liquidity around and the price collar
    falls back to when no venue quotes the instrument (optional: without it and without
    quotes, market orders are rejected and the venues seed no liquidity). venues: names of
    the venues (config/venues.toml) that trade it. calendar: the trading calendar
    (config/calendars.toml) whose hours orders must fall in and whose close expires DAY
    orders.
    """

    symbol: str
    isin: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tick_size: Decimal = Field(gt=0)
    lot_size: Decimal = Field(gt=0)
    reference_price: Decimal | None = Field(default=None, gt=0)
    venues: tuple[str, ...] = Field(min_length=1)
    calendar: str

    @field_validator("isin")
    @classmethod
    def _isin(cls, value: str) -> str:
        if not isin_is_valid(value):
            raise ValueError(f"{value!r} is not a valid ISIN (ISO 6166 check digit)")
        return value

    def to_domain(self) -> Instrument:
        return Instrument(
            symbol=self.symbol,
            isin=self.isin,
            currency=self.currency,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            reference_price=self.reference_price,
            venues=self.venues,
        )


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class CalendarConfig(_Frozen):
    """One trading calendar (config/calendars.toml, [[calendar]]).

    name: how instruments refer to it (an exchange's MIC, or SIM for the simulated venues).
    timezone: IANA zone of the exchange. open / close: local times (close exclusive).
    trading_days: weekday names. holidays: local dates without trading.
    """

    name: str = Field(min_length=1)
    timezone: str
    open: time
    close: time
    trading_days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri")
    holidays: tuple[date, ...] = ()

    @field_validator("trading_days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [d for d in value if d not in _WEEKDAYS]
        if unknown:
            raise ValueError(f"trading_days: {unknown} are not weekday names {list(_WEEKDAYS)}")
        return value

    def to_domain(self) -> TradingCalendar:
        return TradingCalendar(
            name=self.name,
            timezone=self.timezone,
            open=self.open,
            close=self.close,
            trading_days=frozenset(_WEEKDAYS.index(d) for d in self.trading_days),
            holidays=frozenset(self.holidays),
        )


class VenueConfig(_Frozen):
    """One simulated execution venue (config/venues.toml).

    name: the venue's SenderCompID and the name used everywhere else. mic: its ISO 10383
    market identifier, sent to clients in LastMkt (30). host/port: where its FIX acceptor
    listens. fee_bps: the fee it charges on traded notional, in basis points (the router
    ranks prices net of it). latency_ms: simulated processing delay per inbound order.
    depth_levels / level_quantity_lots: the synthetic resting liquidity seeded around each
    instrument's reference price (levels per side, and mean lots per level).
    price_offset_ticks: shifts this venue's synthetic mid, so venues quote different
    prices and the router has a choice. seed: the random seed of the synthetic book.

    Reference data for the transaction reports (RTS 22): mic is the segment MIC the venue
    sends in LastMkt; operating_mic its operating MIC (unset: the same). ccp: the LEI of the
    central counterparty that clears the venue's trades, or "none" when it uses no CCP; unset,
    the day's reports hold every transaction on the venue (rule CCP). calendar: the
    venue's trading calendar (config/calendars.toml) its trades must fall in (unset: the
    instrument's).

    reset_on_logon: the gateway's session to the venue starts at sequence number 1 at each
    logon (ResetOnLogon=Y), as venues that reset every session require; nothing the venue
    sent while disconnected is resent then, and reconciliation (OrderStatusRequest, then
    TradeCaptureReportRequest) recovers it. members: further SenderCompIDs the simulated
    venue accepts on its port beside the gateway: other firms trading on it.
    """

    name: str = Field(pattern=r"^[A-Z0-9_]{2,16}$")
    mic: str
    host: str = "127.0.0.1"
    port: int = Field(gt=0, lt=65536)
    fee_bps: Decimal = Decimal("0.3")
    latency_ms: float = Field(default=0.0, ge=0)
    depth_levels: int = Field(default=10, ge=1)
    level_quantity_lots: int = Field(default=20, ge=1)
    price_offset_ticks: int = 0
    seed: int = 1
    operating_mic: str | None = None
    ccp: str | None = None
    calendar: str | None = None
    reset_on_logon: bool = False
    members: tuple[str, ...] = ()

    @field_validator("mic", "operating_mic")
    @classmethod
    def _mic(cls, value: str | None) -> str | None:
        if value is not None and not mic_is_valid(value):
            raise ValueError(f"{value!r} is not an ISO 10383 MIC (four upper-case alphanumerics)")
        return value

    @field_validator("ccp")
    @classmethod
    def _ccp(cls, value: str | None) -> str | None:
        if value is not None and value != "none" and not lei_is_valid(value):
            raise ValueError(
                f'ccp {value!r} is neither "none" nor a valid LEI (ISO 17442 check digits)'
            )
        return value


class ClientConfig(_Frozen):
    """A client session's credentials (config/clients.toml).

    comp_id: the client's SenderCompID. auth: "password" (Logon must carry Username 553 and
    Password 554) or "ip" (source address in allowed_ips is enough). username: the expected
    Username (553). password_hash: scrypt$<n>$<r>$<p>$<salt hex>$<key hex>, made by
    `qtinfra passwd`. allowed_ips: source addresses accepted; empty means any (password
    sessions only). account: default Account (1) for orders that carry none. accounts:
    further Accounts (config/accounts.toml) the session may trade for; an order for any
    other Account is rejected.
    """

    comp_id: str
    auth: Literal["password", "ip"] = "password"
    username: str | None = None
    password_hash: str | None = None
    allowed_ips: tuple[str, ...] = ()
    account: str | None = None
    accounts: tuple[str, ...] = ()

    @property
    def entitled(self) -> frozenset[str]:
        """Every Account the session may trade for."""
        return frozenset(self.accounts) | ({self.account} if self.account else set())

    @model_validator(mode="after")
    def _auth_complete(self) -> ClientConfig:
        if self.auth == "password" and not (self.username and self.password_hash):
            raise ValueError(
                f"client {self.comp_id}: password auth needs username and password_hash"
            )
        if self.auth == "ip" and not self.allowed_ips:
            raise ValueError(f"client {self.comp_id}: ip auth needs allowed_ips")
        return self


class GatewayConfig(_Frozen):
    """The gateway process (config/gateway.toml, [gateway]).

    comp_id: our CompID on client and venue sessions. client_sessions: QuickFIX settings
    file of the client acceptor (relative paths resolve against the project root).
    venue_sessions: the [DEFAULT] block template for the initiator sessions to venues; one
    [SESSION] per venue is added from config/venues.toml. database_url: SQLAlchemy URL;
    QTINFRA_DATABASE_URL overrides it. var_dir: where the SQLite file, QuickFIX stores and
    logs go. http_host/http_port: the operations endpoint (/metrics, /sessions, /health).
    message_store: "file" (QuickFIX FileStore under var_dir) or "postgresql" (QuickFIX's
    PostgreSQL store, on the database of database_url). start_venues: `qtinfra run` also
    starts the venue simulators as child processes. Trading hours and the close at which
    DAY orders expire come from each instrument's calendar (config/calendars.toml).
    secret_tags: tags whose values are masked (every occurrence) in the journal and logs;
    Username (553), Password (554) and NewPassword (925) are always among them.
    recent_done_orders: how many done orders stay in memory (the newest) for status
    requests and duplicate checks; older ones are read back from the database when a
    client names one, so memory does not grow with history.
    """

    comp_id: str = "QTGW"
    client_sessions: Path = Path("sessions/clients.cfg")
    venue_sessions: Path = Path("sessions/venues.cfg")
    venue_simulator_sessions: Path = Path("sessions/venue-simulator.cfg")
    database_url: str = "sqlite:///var/qtinfra.db"
    var_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 9877
    message_store: Literal["file", "postgresql"] = "file"
    start_venues: bool = True
    secret_tags: tuple[int, ...] = (553, 554, 925)
    recent_done_orders: int = Field(default=20_000, ge=1)

    @field_validator("secret_tags")
    @classmethod
    def _always_credentials(cls, tags: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted({553, 554, 925, *tags}))


class AuditConfig(_Frozen):
    """The tamper-evident journal (config/gateway.toml, [audit]).

    signing_key: the Ed25519 private key (PEM) that signs checkpoints of the hash chain,
    created on first run readable by its owner only; public_key: its public half, written
    beside it for compliance (`qtinfra audit verify --public-key`). Unset: under
    <var_dir>/keys/. checkpoint_rows / checkpoint_minutes: a signed checkpoint every that
    many journal rows or minutes, and at shutdown. Relative paths resolve against the
    project root.
    """

    signing_key: Path | None = None
    public_key: Path | None = None
    checkpoint_rows: int = Field(default=10_000, ge=1)
    checkpoint_minutes: float = Field(default=5.0, gt=0)


class ReportsConfig(_Frozen):
    """MiFID II reports (config/gateway.toml, [reports]).

    schema_dir: the folder with ESMA's ISO 20022 schemas (auth.016, head.001, head.003); RTS
    22 files are validated against it before they are written (unset: the copy of ESMA's
    schemas shipped in qtinfra/reports/schemas). out_dir: where reports go (one folder per
    trading day; unset: <var_dir>/reports). daily_utc: when the scheduled daily run starts
    (UTC, after the last close).
    nca: the competent authority RTS 22 files are addressed to (AppHdr To), by its ISO 3166
    country code as ESMA's reporting instructions use it; unset: the firm's country.
    gleif_extract: an offline GLEIF golden copy (CSV), whole or cut down to the firm's
    counterparties: every LEI of a record is checked against it (rule GLEIF); unset: only
    the LEIs' check digits are checked.
    """

    schema_dir: Path | None = None
    out_dir: Path | None = None
    daily_utc: time = time(22, 30)
    nca: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,35}$")
    gleif_extract: Path | None = None


class FirmConfig(_Frozen):
    """The investment firm running the gateway (config/gateway.toml, [firm]).

    lei: the executing entity's LEI (RTS 22 field 4, and the submitting entity, field 6).
    country: ISO 3166 country of the branch (RTS 22 field 37).
    """

    name: str = "qtinfra demo firm"
    lei: str = "98450012DEMOFIRMXX19"
    country: str = Field(default="GB", pattern=r"^[A-Z]{2}$")

    @field_validator("lei")
    @classmethod
    def _lei(cls, value: str) -> str:
        if not lei_is_valid(value):
            raise ValueError(f"{value!r} is not a valid LEI (ISO 17442 check digits)")
        return value


class PersonRecord(_Frozen):
    """[[person]] in config/people.toml: one of the firm's people, by the short code orders
    name them with (Parties PartyID 448 with PartyIDSource P, PartyRoleQualifier 24), so a
    transaction report can identify the investment decision maker and the executing trader
    (RTS 22 fields 57-60) by their national identifier (RTS 22 Art. 6 and Annex II).

    code: the short code. national_id: the national client identifier as reported, country
    prefix included (e.g. GB + National Insurance number, or a CONCAT code).
    national_id_scheme: NIDN (national identity number), CCPT (passport) or CONCAT; unset:
    CONCAT when the id has the CONCAT form, else NIDN. country: ISO 3166 country of the
    branch that supervises the person (RTS 22 fields 58 and 60). first_names, surname,
    birth_date: who the person is (kept with the id; the report carries only the id).
    """

    code: str = Field(min_length=1)
    national_id: str
    national_id_scheme: Literal["NIDN", "CCPT", "CONCAT"] | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$")
    first_names: str = Field(min_length=1)
    surname: str = Field(min_length=1)
    birth_date: date | str
    """Personal values may be sealed at rest (`fernet:...`, store/privacy.py)."""

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value: str) -> str:
        if not value.startswith("fernet:") and not _NATIONAL_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a national identifier (country code first)")
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: date | str) -> date | str:
        return _date_or_sealed(value)


_NATIONAL_ID = re.compile(r"[A-Z]{2}[A-Z0-9#+\-]{1,33}")


def _date_or_sealed(value: date | str) -> date | str:
    """A date, or a sealed value (store/privacy.py) that decrypts to one."""
    if isinstance(value, str) and not value.startswith("fernet:"):
        return date.fromisoformat(value)
    return value


class PrivacyConfig(_Frozen):
    """Personal data (config/gateway.toml, [privacy]).

    data_key: the Fernet key that seals national identifiers, names and birth dates in
    config/accounts.toml and config/people.toml (created on first run, owner-only; keep it
    apart from the audit signing key; unset: <var_dir>/keys/personal-data.key).
    retention_years: how long MiFID II record keeping (Art. 16(6)) keeps a client's data
    after its last order; erasure is refused until then.
    """

    data_key: Path | None = None
    retention_years: int = Field(default=5, ge=1)


RTS25_LIMIT_US = 1000
"""RTS 25 Annex Table 2, "any other trading activity": 1 ms from UTC."""
RTS25_HFT_LIMIT_US = 100
"""RTS 25 Annex Table 2, a high-frequency algorithmic trading technique: 100 µs."""


class ClockConfig(_Frozen):
    """The clock record (config/gateway.toml, [clock]; MiFID II RTS 25, ops/clock.py).

    hft: the firm trades through this gateway with a high-frequency algorithmic trading
    technique: the maximum divergence from UTC is then 100 µs, not 1 ms (RTS 25 Annex
    Table 2). max_divergence_us: the divergence beyond which a reading is journaled as not
    within and the gateway warns; unset: 1000 (100 with hft). It may be stricter than RTS
    25's, never looser. interval_seconds: how often the clock is read after the reading at
    start (60). command_timeout_seconds: how long `chronyc` may take to answer (2).
    """

    hft: bool = False
    max_divergence_us: int | None = Field(default=None, gt=0)
    interval_seconds: float = Field(default=60.0, gt=0)
    command_timeout_seconds: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _within_rts25(self) -> ClockConfig:
        rts25 = RTS25_HFT_LIMIT_US if self.hft else RTS25_LIMIT_US
        if self.max_divergence_us is not None and self.max_divergence_us > rts25:
            activity = "high-frequency trading (hft = true)" if self.hft else "trading"
            raise ValueError(
                f"clock.max_divergence_us {self.max_divergence_us} is looser than RTS 25's "
                f"{rts25} µs for {activity} (Annex Table 2)"
            )
        return self

    @property
    def limit_us(self) -> int:
        """The maximum divergence that applies, in µs."""
        if self.max_divergence_us is not None:
            return self.max_divergence_us
        return RTS25_HFT_LIMIT_US if self.hft else RTS25_LIMIT_US


class QtinfraConfig(_Frozen):
    """Everything the gateway, the venues and the tools read, from one config directory."""

    root: Path = PROJECT_ROOT
    config_dir: Path = PROJECT_ROOT / "config"
    gateway: GatewayConfig = GatewayConfig()
    firm: FirmConfig = FirmConfig()
    audit: AuditConfig = AuditConfig()
    reports: ReportsConfig = ReportsConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    clock: ClockConfig = ClockConfig()
    instruments: tuple[InstrumentConfig, ...] = ()
    calendars: tuple[CalendarConfig, ...] = ()
    venues: tuple[VenueConfig, ...] = ()
    clients: tuple[ClientConfig, ...] = ()
    accounts: tuple[AccountRecord, ...] = ()
    people: tuple[PersonRecord, ...] = ()
    risk: RiskConfig = RiskConfig()
    positions: PositionsFile = PositionsFile()

    @model_validator(mode="after")
    def _consistent(self) -> QtinfraConfig:
        venue_names = {v.name for v in self.venues}
        seen: set[str] = set()
        for inst in self.instruments:
            if inst.symbol in seen:
                raise ValueError(f"instrument {inst.symbol} is declared twice")
            seen.add(inst.symbol)
            unknown = set(inst.venues) - venue_names
            if unknown:
                raise ValueError(f"instrument {inst.symbol} names unknown venues {sorted(unknown)}")
        calendars = {c.name for c in self.calendars}
        if len(calendars) != len(self.calendars):
            raise ValueError("a calendar is declared twice")
        for venue in self.venues:
            if venue.calendar is not None and venue.calendar not in calendars:
                raise ValueError(
                    f"venue {venue.name} names calendar {venue.calendar!r}, which "
                    f"config/calendars.toml does not declare (have {sorted(calendars)})"
                )
        for inst in self.instruments:
            if inst.calendar not in calendars:
                raise ValueError(
                    f"instrument {inst.symbol} names calendar {inst.calendar!r}, which "
                    f"config/calendars.toml does not declare (have {sorted(calendars)})"
                )
        accounts = {a.account for a in self.accounts}
        if len(accounts) != len(self.accounts):
            raise ValueError("an account is declared twice in config/accounts.toml")
        for client in self.clients:
            unknown_accounts = sorted(client.entitled - accounts)
            if unknown_accounts:
                raise ValueError(
                    f"client {client.comp_id}: accounts {unknown_accounts} are not in "
                    "config/accounts.toml"
                )
        self.risk.check_references(
            {i.symbol for i in self.instruments}, {i.currency for i in self.instruments}
        )
        for pos in self.positions.position:
            if pos.account not in accounts or pos.symbol not in seen:
                raise ValueError(
                    f"positions: {pos.account} {pos.symbol} is not a known account and instrument"
                )
        return self

    def path(self, p: Path) -> Path:
        """A configured path, resolved against the project root when relative."""
        return p if p.is_absolute() else self.root / p

    @property
    def var_dir(self) -> Path:
        return self.path(self.gateway.var_dir)

    @property
    def signing_key_path(self) -> Path:
        return self.path(self.audit.signing_key or self.var_dir / "keys" / "audit-ed25519.pem")

    @property
    def public_key_path(self) -> Path:
        default = self.var_dir / "keys" / "audit-ed25519.pub.pem"
        return self.path(self.audit.public_key or default)

    @property
    def data_key_path(self) -> Path:
        return self.path(self.privacy.data_key or self.var_dir / "keys" / "personal-data.key")

    @property
    def reports_dir(self) -> Path:
        return self.path(self.reports.out_dir or self.var_dir / "reports")

    @property
    def database_url(self) -> str:
        url = os.environ.get("QTINFRA_DATABASE_URL") or self.gateway.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.root / url[len(prefix) :])
        return url

    def venue(self, name: str) -> VenueConfig:
        for v in self.venues:
            if v.name == name:
                return v
        raise ConfigError(
            f"no venue named {name!r} in config (have {[v.name for v in self.venues]})"
        )

    def instrument_map(self) -> dict[str, Instrument]:
        return {i.symbol: i.to_domain() for i in self.instruments}

    def calendar_map(self) -> dict[str, TradingCalendar]:
        """Each instrument's trading calendar, by symbol."""
        calendars = {c.name: c.to_domain() for c in self.calendars}
        return {i.symbol: calendars[i.calendar] for i in self.instruments}

    def account_map(self) -> dict[str, AccountRecord]:
        return {a.account: a for a in self.accounts}

    def person_map(self) -> dict[str, PersonRecord]:
        """The firm's people (config/people.toml) by short code."""
        return {p.code: p for p in self.people}

    @field_validator("people")
    @classmethod
    def _unique_people(cls, value: tuple[PersonRecord, ...]) -> tuple[PersonRecord, ...]:
        codes = [p.code for p in value]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"config/people.toml declares the short codes {twice} twice")
        return value


def sealed_copy_path(var_dir: Path, name: str) -> Path:
    """Where the gateway keeps a sealed copy of a config file that holds plain personal
    data (accounts.toml, people.toml), so it never rewrites the operator's file."""
    return var_dir / "sealed" / name


def sealed_copy_header(source: bytes) -> str:
    """The first line of a sealed copy: the SHA-256 of the file it was sealed from (a copy
    whose source changed since is ignored and made anew)."""
    return f"# sealed copy of sha256:{hashlib.sha256(source).hexdigest()}\n"


def load_config(config_dir: Path | None = None, root: Path | None = None) -> QtinfraConfig:
    """Load gateway.toml, instruments.toml, venues.toml, clients.toml, accounts.toml,
    people.toml, risk.toml and positions.toml from config_dir (a missing file: defaults)."""
    root = root or PROJECT_ROOT
    config_dir = config_dir or root / "config"

    def read(name: str) -> dict[str, object]:
        path = config_dir / name
        if not path.exists():
            return {}
        try:
            with path.open("rb") as fh:
                return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    gateway_file = read("gateway.toml")
    gateway = GatewayConfig(**gateway_file.get("gateway", {}))  # type: ignore[arg-type]
    var_dir = gateway.var_dir if gateway.var_dir.is_absolute() else root / gateway.var_dir

    def read_personal(name: str) -> dict[str, object]:
        """accounts.toml / people.toml: the sealed copy under var_dir when it was made from
        the file as it is now (store/privacy.py), else the file itself."""
        source = config_dir / name
        copy = sealed_copy_path(var_dir, name)
        if source.exists() and copy.exists():
            text = copy.read_text()
            if text.startswith(sealed_copy_header(source.read_bytes())):
                try:
                    return tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError(f"{copy}: {exc}") from exc
        return read(name)

    try:
        return QtinfraConfig(
            root=root,
            config_dir=config_dir,
            gateway=gateway,
            firm=FirmConfig(**gateway_file.get("firm", {})),  # type: ignore[arg-type]
            audit=AuditConfig(**gateway_file.get("audit", {})),  # type: ignore[arg-type]
            reports=ReportsConfig(**gateway_file.get("reports", {})),  # type: ignore[arg-type]
            privacy=PrivacyConfig(**gateway_file.get("privacy", {})),  # type: ignore[arg-type]
            clock=ClockConfig(**gateway_file.get("clock", {})),  # type: ignore[arg-type]
            instruments=tuple(read("instruments.toml").get("instrument", [])),  # type: ignore[arg-type]
            calendars=tuple(read("calendars.toml").get("calendar", [])),  # type: ignore[arg-type]
            venues=tuple(read("venues.toml").get("venue", [])),  # type: ignore[arg-type]
            clients=tuple(read("clients.toml").get("client", [])),  # type: ignore[arg-type]
            accounts=tuple(read_personal("accounts.toml").get("account", [])),  # type: ignore[arg-type]
            people=tuple(read_personal("people.toml").get("person", [])),  # type: ignore[arg-type]
            risk=RiskConfig(**read("risk.toml")),
            positions=PositionsFile(**read("positions.toml")),
        )
    except ValueError as exc:
        raise ConfigError(f"invalid configuration in {config_dir}: {exc}") from exc


def load_ops_config(config_dir: Path | None = None, root: Path | None = None) -> QtinfraConfig:
    """The configuration for talking to a running gateway (kill switch, limits): the whole
    configuration when it loads, else gateway.toml alone, so a broken limits file never
    keeps an operator from reaching the gateway's kill switch."""
    try:
        return load_config(config_dir, root)
    except ConfigError:
        root = root or PROJECT_ROOT
        config_dir = config_dir or root / "config"
        path = config_dir / "gateway.toml"
        try:
            with path.open("rb") as fh:
                gateway = tomllib.load(fh).get("gateway", {})
            return QtinfraConfig(root=root, config_dir=config_dir, gateway=GatewayConfig(**gateway))
        except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
