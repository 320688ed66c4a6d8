"""RTS 22 transaction reports (MiFIR Art. 26; Commission Delegated Regulation (EU) 2017/590,
Annex I) for one trading day, as ISO 20022 auth.016.001.01 XML in ESMA's BizData envelope.

Everything comes from the journal (the fills, ExecutionReport events with ExecType F, and
the order's MiFID II data from its latest New or Replaced report before the fill) and from
static data (the firm in config/gateway.toml, clients in config/accounts.toml, the firm's
people in config/people.toml), never from the orders or executions tables.

One report per client fill, dated by the UTC date of its TransactTime; an order dealt on
own account (OrderCapacity P, DEAL) or matched principal (R, MTCH) is two: the market side
(firm and venue) and the client side (firm and client, off venue). The file is validated
against ESMA's schemas (`reports.schema_dir`, by default the copy shipped in
reports/schemas/) before it is written; a transaction whose data is missing or that fails
the schema or a business rule (reports/rts22_rules.py) is held back, named with its TxId,
RTS 22 field and rule, and the rest is filed.

Regenerating a day reports only what changed since the last file (table rts22_reported):
a transaction whose record changed is cancelled (CANC) and reported anew (NEWT) under the
same transaction reference number, a reported one that no longer exists is cancelled, and
an unchanged one is left alone. Cancellations come first in the file, so the authority
withdraws the old record before it receives the new one.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import re
import sys
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson
from lxml import etree
from sqlalchemy import Connection, Engine, insert, select

from qtinfra.config import InstrumentConfig, PersonRecord, QtinfraConfig, VenueConfig
from qtinfra.domain.commands import Party
from qtinfra.domain.identifiers import isin_is_valid
from qtinfra.domain.values import ALGORITHM, NATURAL_PERSON
from qtinfra.errors import QtinfraError
from qtinfra.reports.feedback import rejected_reports
from qtinfra.reports.gleif import LeiRecord, lei_problem, load_extract
from qtinfra.reports.iso20022 import (
    AUTH_016,
    SHIPPED_SCHEMAS,
    Element,
    SchemaSet,
    SchemaViolation,
    business_envelope,
    iso_datetime,
    load_schema,
    root_element,
    sub,
    validate,
)
from qtinfra.reports.rts22_rules import (
    national_id_problem,
    short_selling_indicator,
    trading_time_problem,
)
from qtinfra.risk.calendar import TradingCalendar
from qtinfra.risk.limits import AccountRecord
from qtinfra.store.models import JournalRow, Rts22ReportedRow
from qtinfra.store.privacy import reveal_config

MESSAGE_DEFINITION = "auth.016.001.01"
NEWT = "NEWT"
CANC = "CANC"
OFF_VENUE = "XOFF"
"""RTS 22 field 36 for a transaction not executed on a trading venue."""

TRADING_CAPACITY = {"A": "AOTC", "P": "DEAL", "R": "MTCH"}
"""OrderCapacity (528) -> RTS 22 field 29."""

Leg = Literal["", "market", "client"]
"""Which report of a fill: "" the only one (AOTC); "market" and "client" the two of a DEAL
or an MTCH."""
_Side = Literal["client", "firm", "market"]

FIELD_NAMES = {
    1: "Report status",
    2: "Transaction reference number",
    3: "Trading venue transaction identification code",
    4: "Executing entity identification code",
    5: "Investment firm covered by Directive 2014/65/EU",
    6: "Submitting entity identification code",
    7: "Buyer identification code",
    8: "Country of the branch for the buyer",
    9: "Buyer - first name(s)",
    10: "Buyer - surname(s)",
    11: "Buyer - date of birth",
    12: "Buyer decision maker code",
    16: "Seller identification code",
    17: "Country of the branch for the seller",
    18: "Seller - first name(s)",
    19: "Seller - surname(s)",
    20: "Seller - date of birth",
    21: "Seller decision maker code",
    25: "Transmission of order indicator",
    26: "Transmitting firm identification code for the buyer",
    27: "Transmitting firm identification code for the seller",
    28: "Trading date time",
    29: "Trading capacity",
    30: "Quantity",
    31: "Quantity currency",
    32: "Derivative notional increase/decrease",
    33: "Price",
    34: "Price currency",
    35: "Net amount",
    36: "Venue",
    37: "Country of the branch membership",
    38: "Up-front payment",
    40: "Complex trade component id",
    41: "Instrument identification code",
    57: "Investment decision within firm",
    58: "Country of the branch responsible for the person making the investment decision",
    59: "Execution within firm",
    60: "Country of the branch supervising the person responsible for the execution",
    61: "Waiver indicator",
    62: "Short selling indicator",
    63: "OTC post-trade indicator",
    64: "Commodity derivative indicator",
    65: "Securities financing transaction indicator",
}

# Where each field sits under Tx (../shared/iso20022/rts22-fields.md); the longest prefix
# of an element's path names its field.
_FIELD_PATHS: tuple[tuple[str, int], ...] = (
    ("New/TxId", 2),
    ("Cxl/TxId", 2),
    ("New/ExctgPty", 4),
    ("Cxl/ExctgPty", 4),
    ("New/InvstmtPtyInd", 5),
    ("New/SubmitgPty", 6),
    ("Cxl/SubmitgPty", 6),
    ("New/Buyr/AcctOwnr/Id/Prsn/FrstNm", 9),
    ("New/Buyr/AcctOwnr/Id/Prsn/Nm", 10),
    ("New/Buyr/AcctOwnr/Id/Prsn/BirthDt", 11),
    ("New/Buyr/AcctOwnr/CtryOfBrnch", 8),
    ("New/Buyr/DcsnMakr", 12),
    ("New/Buyr", 7),
    ("New/Sellr/AcctOwnr/Id/Prsn/FrstNm", 18),
    ("New/Sellr/AcctOwnr/Id/Prsn/Nm", 19),
    ("New/Sellr/AcctOwnr/Id/Prsn/BirthDt", 20),
    ("New/Sellr/AcctOwnr/CtryOfBrnch", 17),
    ("New/Sellr/DcsnMakr", 21),
    ("New/Sellr", 16),
    ("New/OrdrTrnsmssn/TrnsmttgBuyr", 26),
    ("New/OrdrTrnsmssn/TrnsmttgSellr", 27),
    ("New/OrdrTrnsmssn", 25),
    ("New/Tx/TradDt", 28),
    ("New/Tx/TradgCpcty", 29),
    ("New/Tx/Qty", 30),
    ("New/Tx/DerivNtnlChng", 32),
    ("New/Tx/Pric", 33),
    ("New/Tx/NetAmt", 35),
    ("New/Tx/TradVn", 36),
    ("New/Tx/CtryOfBrnch", 37),
    ("New/Tx/UpFrntPmt", 38),
    ("New/Tx/TradPlcMtchgId", 3),
    ("New/Tx/CmplxTradCmpntId", 40),
    ("New/FinInstrm", 41),
    ("New/InvstmtDcsnPrsn/Prsn/CtryOfBrnch", 58),
    ("New/InvstmtDcsnPrsn", 57),
    ("New/ExctgPrsn/Prsn/CtryOfBrnch", 60),
    ("New/ExctgPrsn", 59),
    ("New/AddtlAttrbts/WvrInd", 61),
    ("New/AddtlAttrbts/ShrtSellgInd", 62),
    ("New/AddtlAttrbts/OTCPstTradInd", 63),
    ("New/AddtlAttrbts/RskRdcgTx", 64),
    ("New/AddtlAttrbts/SctiesFincgTxInd", 65),
    ("New", 1),
    ("Cxl", 1),
)

_TX_ID = re.compile(r"[A-Z0-9]{1,51}")
_ISIN_FORM = re.compile(r"[A-Z]{2}[A-Z0-9]{9}[0-9]")
_CONCAT = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z][A-Z#]{4}[A-Z][A-Z#]{4}")
_EXPECTED = re.compile(r"Expected is(?: one of)? \( ([^)]*) \)")
_JOURNAL_MARGIN = timedelta(days=1)
"""How far a fill's journal row time (ts) may be from its TransactTime; both come from the
gateway's clock, a few milliseconds apart."""


class TransactionReportInvalid(QtinfraError):
    """The day's report cannot be produced as it stands (nothing was written): each problem
    names the transaction and the RTS 22 field."""

    def __init__(self, day: date, problems: Sequence[Problem]) -> None:
        self.day = day
        self.problems = tuple(problems)
        lines = [
            f"RTS 22 transaction report for {day.isoformat()} refused, nothing was written "
            f"({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"
        ]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a record cannot be reported: its TxId (None: the file header), the RTS 22 field
    (number and name, with the XML path when known), what is wrong, and the fill it reports."""

    tx_id: str | None
    field: str
    message: str
    context: str = ""
    rule: str | None = None
    """The business rule that failed (reports/rts22_rules.py), None for missing data or
    the schema."""

    def __str__(self) -> str:
        where = f"transaction {self.tx_id}" if self.tx_id else "file header"
        context = f" ({self.context})" if self.context else ""
        rule = f"rule {self.rule}: " if self.rule else ""
        return f"{where}{context}: {rule}field {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class ClientFill:
    """A fill on a client order as the journal holds it (ExecutionReport, ExecType F), with
    the order's MiFID II data from its latest New or Replaced report before the fill."""

    seq: int
    exec_id: str
    order_id: str
    account: str | None
    side: str
    symbol: str
    isin: str | None
    quantity: Decimal | None
    price: Decimal | None
    mic: str | None
    currency: str | None
    transact_time: datetime
    decision_maker: Party | None = None
    executing_trader: Party | None = None
    order_capacity: str | None = None
    venue_trade_id: str | None = None
    """The venue's transaction identification code (TrdMatchID 880 of its fill)."""
    venue_time: datetime | None = None
    """The venue's TransactTime of the execution (None: a journal from before it was kept)."""
    reconciled: bool = False
    """Booked by reconciliation from the venue's OrderStatus, not from one of its
    executions (events.ExecutionReport.reconciled)."""

    @property
    def client_buys(self) -> bool:
        return self.side == "1"

    def describe(self) -> str:
        return f"ExecID {self.exec_id} of order {self.order_id}, account {self.account}"


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """One New record: its TxId, the fill it reports, which report of the fill (leg), the
    element, and the SHA-256 of its canonical form (C14N), which regenerations compare."""

    tx_id: str
    fill: ClientFill
    leg: Leg
    element: Element
    sha256: str


@dataclass(frozen=True, slots=True)
class Rts22Result:
    """What a run did: the file written (None when nothing changed since the last one), the
    TxIds it reports NEWT and CANC, those already reported unchanged, and the schemas it was
    validated against (None: not validated)."""

    day: date
    path: Path | None
    new: tuple[str, ...]
    cancelled: tuple[str, ...]
    unchanged: tuple[str, ...]
    validated_against: str | None
    held: tuple[Problem, ...] = ()
    """Transactions not reported because their data is missing or fails the schema (each
    names the TxId and field); the rest of the day was filed. They are reported by the
    first run after the data is fixed."""

    @property
    def paths(self) -> list[Path]:
        return [self.path] if self.path is not None else []

    def summary(self) -> list[str]:
        counts = (
            f"{len(self.new)} NEWT, {len(self.cancelled)} CANC, {len(self.unchanged)} unchanged"
        )
        head = f"RTS 22 transaction report for {self.day.isoformat()}"
        held = []
        if self.held:
            tx = {p.tx_id for p in self.held}
            held = [
                f"  held back {len(tx)} transaction{'s' if len(tx) != 1 else ''}, not reported "
                f"(fix the data and run again; {len(self.held)} problem"
                f"{'s' if len(self.held) != 1 else ''}):",
                *(f"    {p}" for p in self.held),
            ]
        if self.path is None:
            return [f"{head}: nothing new to report ({counts}); no file written", *held]
        if self.validated_against is None:
            check = "not validated (reports.schema_dir is not set)"
        else:
            check = f"validated against {self.validated_against}"
        return [f"{head}: {self.path}", f"  {counts} (already reported)", f"  {check}", *held]


def transaction_reference(exec_id: str) -> str:
    """RTS 22 field 2 for a fill: our ExecID, unique and the same on every regeneration,
    when it has the form ESMA allows ([A-Z0-9], at most 51 characters so a DEAL's client
    leg can append C); else X and 39 characters of the base32 SHA-256 of the ExecID."""
    if _TX_ID.fullmatch(exec_id):
        return exec_id
    digest = base64.b32encode(hashlib.sha256(exec_id.encode()).digest()).decode()
    return "X" + digest[:39]


# -- the journal --------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _decimal_or_none(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _party(value: object) -> Party | None:
    if not isinstance(value, dict) or not value.get("party_id"):
        return None
    return Party(
        str(value["party_id"]),
        value.get("source"),
        int(value.get("role") or 0),
        value.get("qualifier"),
    )


def read_fills(engine: Engine, day: date) -> list[ClientFill]:
    """The client fills whose TransactTime falls on day (UTC), in journal order, each with
    its order's MiFID II data as of the fill."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    found: list[tuple[int, dict[str, Any], datetime]] = []
    data_by_order: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.seq, JournalRow.payload)
            .where(
                JournalRow.kind == "ExecutionReport",
                JournalRow.ts >= start - _JOURNAL_MARGIN,
                JournalRow.ts < end + _JOURNAL_MARGIN,
            )
            .order_by(JournalRow.seq)
        )
        for seq, payload in rows:
            event = orjson.loads(payload)
            if event.get("exec_type") != "F":
                continue
            when = datetime.fromisoformat(event["transact_time"]).astimezone(UTC)
            if start <= when < end:
                found.append((int(seq), event, when))
        order_ids = sorted({str(e["order_id"]) for _, e, _ in found})
        for chunk in _chunks(order_ids):
            for seq, payload in conn.execute(
                select(JournalRow.seq, JournalRow.payload)
                .where(JournalRow.kind == "ExecutionReport", JournalRow.order_id.in_(chunk))
                .order_by(JournalRow.seq)
            ):
                event = orjson.loads(payload)
                if event.get("exec_type") in ("0", "5"):  # New, Replaced: the order's data
                    data_by_order[str(event["order_id"])].append((int(seq), event))
    seqs = {order_id: [s for s, _ in history] for order_id, history in data_by_order.items()}
    fills = []
    for seq, event, when in found:
        order_id = str(event["order_id"])
        at = bisect_left(seqs.get(order_id, []), seq)
        data = data_by_order[order_id][at - 1][1] if at else {}
        fills.append(
            ClientFill(
                seq=seq,
                exec_id=str(event["exec_id"]),
                order_id=order_id,
                account=event.get("account"),
                side=str(event["side"]),
                symbol=str(event.get("symbol") or ""),
                isin=event.get("isin"),
                quantity=_decimal_or_none(event.get("last_qty")),
                price=_decimal_or_none(event.get("last_px")),
                mic=event.get("last_mkt"),
                currency=event.get("currency"),
                transact_time=when,
                decision_maker=_party(data.get("decision_maker")),
                executing_trader=_party(data.get("executing_trader")),
                order_capacity=data.get("order_capacity"),
                venue_trade_id=event.get("venue_trade_id"),
                venue_time=_utc_or_none(event.get("venue_transact_time")),
                reconciled=bool(event.get("reconciled")),
            )
        )
    return fills


def _utc_or_none(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


# -- the records --------------------------------------------------------------------------


def _amount(value: Decimal) -> str:
    """A Decimal as plain digits, without exponent or trailing zeros."""
    return format(value.normalize(), "f")


def _national_id(parent: Element, national_id: str, scheme: str | None) -> None:
    """Othr: the national identifier and its scheme (RTS 22 Art. 6): NIDN or CCPT as Cd,
    CONCAT as Prtry; unset: CONCAT when the id has its form, else NIDN."""
    other = sub(parent, "Othr")
    sub(other, "Id", national_id)
    name = sub(other, "SchmeNm")
    scheme = scheme or ("CONCAT" if _CONCAT.fullmatch(national_id) else "NIDN")
    if scheme == "CONCAT":
        sub(name, "Prtry", "CONCAT")
    else:
        sub(name, "Cd", scheme)


def field_label(number: int, path: str | None = None) -> str:
    name = FIELD_NAMES.get(number, "")
    return f"{number} {name}" + (f" ({path})" if path else "")


@dataclass
class _Builder:
    """Builds the New records of a day, collecting every problem rather than stopping at
    the first, so one run tells compliance everything that needs fixing."""

    config: QtinfraConfig
    accounts: dict[str, AccountRecord]
    people: dict[str, PersonRecord]
    instruments: dict[str, InstrumentConfig]
    problems: list[Problem]
    venues: dict[str, VenueConfig] = field(default_factory=dict)
    """By segment MIC and by operating MIC."""
    calendars: dict[str, TradingCalendar] = field(default_factory=dict)
    """By name."""
    gleif: dict[str, LeiRecord] | None = None
    """The GLEIF extract's records of the configured LEIs (None: no extract configured)."""

    @property
    def firm_lei(self) -> str:
        return self.config.firm.lei

    @property
    def firm_country(self) -> str:
        return self.config.firm.country

    def records(self, fills: Sequence[ClientFill]) -> list[TransactionRecord]:
        out = []
        seen: dict[str, ClientFill] = {}
        for fill in fills:
            base = transaction_reference(fill.exec_id)
            if base in seen:
                self.problems.append(
                    Problem(
                        base,
                        field_label(2),
                        f"two fills have the same reference ({seen[base].describe()} and "
                        f"{fill.describe()}): the journal holds ExecID {fill.exec_id} twice",
                    )
                )
                continue
            seen[base] = fill
            legs: tuple[tuple[str, Leg], ...] = (("", ""),)
            if TRADING_CAPACITY.get(fill.order_capacity or "") in ("DEAL", "MTCH"):
                legs = (("", "market"), ("C", "client"))
            for suffix, leg in legs:
                tx_id = base + suffix
                element = self._new(tx_id, fill, leg)
                digest = hashlib.sha256(etree.tostring(element, method="c14n")).hexdigest()
                out.append(TransactionRecord(tx_id, fill, leg, element, digest))
        return out

    def _new(self, tx_id: str, fill: ClientFill, leg: Leg) -> Element:
        def problem(number: int, message: str, rule: str | None = None) -> None:
            self.problems.append(
                Problem(tx_id, field_label(number), message, fill.describe(), rule)
            )

        new = root_element(AUTH_016, "New")
        sub(new, "TxId", tx_id)
        sub(new, "ExctgPty", self.firm_lei)
        sub(new, "InvstmtPtyInd", "true")  # the firm is a MiFID II investment firm
        sub(new, "SubmitgPty", self.firm_lei)  # the firm submits its own reports

        capacity = TRADING_CAPACITY.get(fill.order_capacity or "")
        if capacity is None:
            found = f"{fill.order_capacity!r}" if fill.order_capacity else "none"
            problem(
                29,
                f"the order's New/Replaced report in the journal carries OrderCapacity (528) "
                f"{found}; expected A, P or R",
            )
        # Who bought and who sold. AOTC: one report of the client and the market. DEAL and
        # MTCH: two, the firm facing each side (the market side on the venue against its
        # CCP, the client side off venue, XOFF), as ESMA's Guidelines on transaction
        # reporting show for dealing on own account and matched principal trading.
        sides: tuple[_Side, _Side]
        if leg == "market":
            sides = ("firm", "market") if fill.client_buys else ("market", "firm")
        elif leg == "client":
            sides = ("client", "firm") if fill.client_buys else ("firm", "client")
        else:
            sides = ("client", "market") if fill.client_buys else ("market", "client")
        venue = self.venues.get(fill.mic or "")
        if fill.mic and venue is None:
            problem(36, f"LastMkt {fill.mic} is no venue of config/venues.toml", "VENUE")
        firm_decided = self._firm_decided(fill, capacity)
        for tag, base, who in (("Buyr", 7, sides[0]), ("Sellr", 16, sides[1])):
            party = sub(new, tag)
            owner = sub(party, "AcctOwnr")
            if who == "client":
                self._client(owner, base, fill, problem)
                maker = self._client_decision_maker(fill, capacity)
                if maker is not None:
                    sub(sub(party, "DcsnMakr"), "LEI", maker)  # field 12 / 21
            elif who == "firm":
                sub(sub(owner, "Id"), "LEI", self.firm_lei)
            elif not fill.mic:
                sub(owner, "Id")
                problem(base, "the fill has no LastMkt (30): the venue's MIC is unknown")
            elif venue is not None and venue.ccp is None:
                sub(owner, "Id")
                problem(
                    base,
                    f"venue {venue.name} ({fill.mic}) says neither its CCP's LEI nor "
                    'ccp = "none" in config/venues.toml',
                    "CCP",
                )
            elif venue is not None and venue.ccp != "none":
                sub(sub(owner, "Id"), "LEI", venue.ccp)  # the CCP faces both sides
            else:
                sub(sub(owner, "Id"), "MIC", fill.mic)  # a venue without a CCP

        # RTS 22 Art. 4: the firm executes the order itself, it does not transmit it.
        sub(sub(new, "OrdrTrnsmssn"), "TrnsmssnInd", "false")

        tx = sub(new, "Tx")
        traded = fill.venue_time or fill.transact_time  # the venue's execution time
        sub(tx, "TradDt", iso_datetime(traded))
        calendar = self._calendar(venue, fill.symbol)
        if (late := trading_time_problem(traded, calendar)) is not None:
            problem(28, late, "HOURS")
        if capacity is not None:
            sub(tx, "TradgCpcty", capacity)
        quantity = sub(tx, "Qty")
        if fill.quantity is None:
            problem(30, "the fill has no LastQty (32)")
        else:
            sub(quantity, "Unit", _amount(fill.quantity))
        price = sub(tx, "Pric")
        instrument = self.instruments.get(fill.symbol)
        currency = fill.currency or (instrument.currency if instrument else None)
        if fill.price is None:
            problem(33, "the fill has no LastPx (31)")
        else:
            value = sub(sub(price, "Pric"), "MntryVal")
            amount = sub(value, "Amt", _amount(abs(fill.price)))
            if currency is None:
                problem(34, f"no currency for {fill.symbol}: neither on the fill nor configured")
            else:
                amount.set("Ccy", currency)
            if fill.price < 0:
                sub(value, "Sgn", "false")
        if leg == "client":
            sub(tx, "TradVn", OFF_VENUE)
        elif fill.mic:
            sub(tx, "TradVn", fill.mic)  # the segment MIC, as the venue sent it
            sub(tx, "CtryOfBrnch", self.firm_country)  # the branch whose membership was used
            if fill.reconciled:
                problem(
                    3,
                    "booked by reconciliation after a reconnection (the venue's OrderStatus "
                    "showed quantity no execution report brought, booked at its average "
                    "price): each of the venue's executions must be reported with its own "
                    "price, time and TrdMatchID; obtain them from the venue and book them",
                    "RECON",
                )
            elif fill.venue_trade_id:
                sub(tx, "TradPlcMtchgId", fill.venue_trade_id)
            else:
                problem(
                    3,
                    f"the venue's fill carries no transaction identification code "
                    f"(TrdMatchID 880; venue ExecID unknown) although field 36 is {fill.mic}",
                    "TVTIC",
                )
        else:
            problem(36, "the fill has no LastMkt (30): the venue's MIC is unknown")

        isin = fill.isin or (instrument.isin if instrument else None)
        if not isin:
            problem(41, f"no ISIN for {fill.symbol}: neither on the fill nor configured")
        else:
            if _ISIN_FORM.fullmatch(isin) and not isin_is_valid(isin):
                problem(41, f"ISIN {isin} fails its check digit (ISO 6166)")
            sub(sub(new, "FinInstrm"), "Id", isin)

        # Field 57 only when the firm took the investment decision (rule DECISION): dealing
        # on own account, or for an account under its discretionary mandate.
        if firm_decided and fill.decision_maker is None:
            problem(
                57,
                "the firm decided (DEAL or a discretionary mandate) but the order names no "
                "investment decision maker (PartyRole 122)",
                "DECISION",
            )
        elif firm_decided and fill.decision_maker is not None:
            self._within_firm(sub(new, "InvstmtDcsnPrsn"), fill.decision_maker, 57, problem)
        if fill.executing_trader is None:
            problem(59, "the order names no executing trader or algorithm (PartyRole 12)")
        else:
            self._within_firm(sub(new, "ExctgPrsn"), fill.executing_trader, 59, problem)

        attributes = sub(new, "AddtlAttrbts")
        account = self.accounts.get(fill.account or "")
        flags = account is not None and account.flags_short_sales
        indicator = short_selling_indicator(fill.side, leg, flags)
        if indicator is not None:
            sub(attributes, "ShrtSellgInd", indicator)
        sub(attributes, "SctiesFincgTxInd", "false")  # not a securities financing transaction
        if self.gleif is not None:
            trading_day = (fill.venue_time or fill.transact_time).astimezone(UTC).date()
            for path, number in _LEI_FIELDS:
                for lei in new.iterfind(path, namespaces={"a": AUTH_016}):
                    wrong = lei_problem(lei.text or "", number, trading_day, self.gleif)
                    if wrong is not None:
                        problem(number, wrong, "GLEIF")
        return new

    def _client(
        self, owner: Element, base: int, fill: ClientFill, problem: Callable[..., None]
    ) -> None:
        """Fields 7-11 / 16-20 for the client: LEI, or a natural person's names, birth
        date and national id; and the branch that received the order (field 8 / 17)."""
        ident = sub(owner, "Id")
        record = self.accounts.get(fill.account or "")
        if record is None:
            problem(base, f"Account {fill.account!r} is not in config/accounts.toml")
        elif record.kind == "legal":
            sub(ident, "LEI", record.lei)
        else:
            person = sub(ident, "Prsn")
            birth = record.birth_date
            if isinstance(birth, date):
                birth = birth.isoformat()
            for offset, tag, key, value in (
                (2, "FrstNm", "first_names", record.first_names),
                (3, "Nm", "surname", record.surname),
                (4, "BirthDt", "birth_date", birth),
            ):
                if value:
                    sub(person, tag, value)
                else:
                    problem(
                        base + offset,
                        f"client {record.account} is a natural person without {key} "
                        "in config/accounts.toml",
                    )
            assert record.national_id is not None  # AccountRecord requires it
            _national_id(person, record.national_id, record.national_id_scheme)
            wrong = national_id_problem(record.national_id, record.national_id_scheme)
            if wrong is not None:
                problem(base, f"client {record.account}: {wrong}", "NATID")
        # The branch that received the client's order: the firm's (no branches).
        sub(owner, "CtryOfBrnch", self.firm_country)

    def _firm_decided(self, fill: ClientFill, capacity: str | None) -> bool:
        """Whether the firm took the investment decision: it dealt on own account, or the
        account is under its discretionary mandate (accounts.toml decides = "firm")."""
        if capacity == "DEAL":
            return True
        account = self.accounts.get(fill.account or "")
        return account is not None and account.decides == "firm"

    def _client_decision_maker(self, fill: ClientFill, capacity: str | None) -> str | None:
        """Field 12 / 21 of the client's side: the firm's LEI under its discretionary
        mandate, the third party's LEI when another firm decides (a fund's manager), none
        when the client decides itself or faces the firm in a DEAL."""
        account = self.accounts.get(fill.account or "")
        if account is None or capacity == "DEAL":
            return None
        if account.decides == "firm":
            return self.firm_lei
        return account.decision_maker_lei

    def _calendar(self, venue: VenueConfig | None, symbol: str) -> TradingCalendar | None:
        """The calendar a trade on venue in symbol must fall in: the venue's, else the
        instrument's."""
        instrument = self.instruments.get(symbol)
        name = (venue.calendar if venue else None) or (instrument.calendar if instrument else None)
        return self.calendars.get(name or "")

    def _within_firm(
        self, parent: Element, party: Party, number: int, problem: Callable[..., None]
    ) -> None:
        """Fields 57-60: an algorithm by its code, a person by national id and branch."""
        role = "investment decision maker" if number == 57 else "executing trader"
        if party.qualifier == ALGORITHM:
            sub(parent, "Algo", party.party_id)
            return
        person = self.people.get(party.party_id)
        if party.qualifier == NATURAL_PERSON and person is None:
            problem(
                number,
                f"{role} {party.party_id} is a natural person (PartyRoleQualifier 24) who is "
                "not in config/people.toml",
            )
        elif person is None:
            problem(
                number,
                f"{role} {party.party_id} has no PartyRoleQualifier (2376) and is not in "
                "config/people.toml: it is neither a known person nor an algorithm",
            )
        else:
            prsn = sub(parent, "Prsn")
            sub(prsn, "CtryOfBrnch", person.country)
            _national_id(prsn, person.national_id, person.national_id_scheme)
            wrong = national_id_problem(person.national_id, person.national_id_scheme)
            if wrong is not None:
                problem(number, f"{role} {party.party_id}: {wrong}", "NATID")


def build_transactions(
    config: QtinfraConfig, day: date, fills: Sequence[ClientFill]
) -> list[TransactionRecord]:
    """The New records of day's fills, in journal order (a DEAL's market side, then its
    client side). Raises TransactionReportInvalid naming every record whose data is missing
    or inconsistent."""
    records, problems = build_records(config, fills)
    if problems:
        raise TransactionReportInvalid(day, problems)
    return records


def build_records(
    config: QtinfraConfig, fills: Sequence[ClientFill]
) -> tuple[list[TransactionRecord], list[Problem]]:
    """The New records whose data is complete, and the problems of those held back (both
    legs of a DEAL are held when either has a problem)."""
    problems: list[Problem] = []
    venues = {v.mic: v for v in config.venues}
    venues.update({v.operating_mic: v for v in config.venues if v.operating_mic})
    builder = _Builder(
        config,
        config.account_map(),
        config.person_map(),
        {i.symbol: i for i in config.instruments},
        problems,
        venues,
        {c.name: c.to_domain() for c in config.calendars},
        _gleif(config),
    )
    records = builder.records(fills)
    return _without(records, {p.tx_id for p in problems if p.tx_id}), problems


_LEI_FIELDS = (
    ("a:ExctgPty", 4),
    ("a:SubmitgPty", 6),
    ("a:Buyr/a:AcctOwnr/a:Id/a:LEI", 7),
    ("a:Buyr/a:DcsnMakr/a:LEI", 12),
    ("a:Sellr/a:AcctOwnr/a:Id/a:LEI", 16),
    ("a:Sellr/a:DcsnMakr/a:LEI", 21),
)
"""Where a New record holds an LEI, and its RTS 22 field."""


def _gleif(config: QtinfraConfig) -> dict[str, LeiRecord] | None:
    """The configured GLEIF extract's records of every LEI the configuration names."""
    if config.reports.gleif_extract is None:
        return None
    wanted = {config.firm.lei}
    wanted |= {a.lei for a in config.accounts if a.lei}
    wanted |= {a.decision_maker_lei for a in config.accounts if a.decision_maker_lei}
    wanted |= {v.ccp for v in config.venues if v.ccp and v.ccp != "none"}
    return load_extract(config.path(config.reports.gleif_extract), wanted)


def _without(records: list[TransactionRecord], tx_ids: set[str]) -> list[TransactionRecord]:
    """records less those of every fill one of tx_ids belongs to (a DEAL's two legs go
    together)."""
    fills = {r.fill.exec_id for r in records if r.tx_id in tx_ids}
    return [r for r in records if r.fill.exec_id not in fills]


# -- the file -----------------------------------------------------------------------------


def _field_of(relative: tuple[str, ...], attribute: str | None) -> int | None:
    path = "/".join(relative)
    if attribute == "Ccy":
        if path.startswith("New/Tx/Pric"):
            return 34
        if path.startswith("New/Tx/Qty"):
            return 31
    for prefix, number in _FIELD_PATHS:
        if path == prefix or path.startswith(prefix + "/"):
            return number
    return None


def _tx_of(element: Element) -> Element | None:
    for candidate in (element, *element.iterancestors()):
        parent = candidate.getparent()
        if parent is not None and etree.QName(parent).localname == "FinInstrmRptgTxRpt":
            return candidate
    return None


def _problem_of(violation: SchemaViolation, fills: dict[str, ClientFill]) -> Problem:
    """A schema error as a Problem: the Tx it is in and the RTS 22 field it is about."""
    path = violation.path
    element = violation.element
    expected = _EXPECTED.search(violation.message)
    if expected is not None and path:
        name = expected.group(1).split(",")[0].strip().rsplit("}", 1)[-1]
        if "Missing child" in violation.message:
            path = (*path, name)
        elif "not expected" in violation.message:
            path = (*path[:-1], name)
    tx = _tx_of(element) if element is not None else None
    if tx is None:
        where = "/".join(path) or "?"
        return Problem(None, where, violation.message)
    depth = len(list(tx.iterancestors())) + 1
    relative = path[depth:]
    record = tx[0] if len(tx) else None
    tx_id = None
    if record is not None:
        tx_id = record.findtext(f"{{{AUTH_016}}}TxId")
    number = _field_of(relative, violation.attribute)
    where = "/".join(relative) + (f"/@{violation.attribute}" if violation.attribute else "")
    label = field_label(number, where) if number is not None else where
    fill = fills.get(tx_id or "")
    return Problem(tx_id, label, violation.message, fill.describe() if fill else "")


class _Reported(NamedTuple):
    tx_id: str
    trading_day: date
    content_sha256: str
    status: str
    file_name: str


def _latest_reported(
    engine: Engine, conn: Connection, day: date, tx_ids: Sequence[str]
) -> dict[str, _Reported]:
    """What the authority holds of every TxId reported for day or among tx_ids: its latest
    row in a file the authority did not reject (reports/feedback.py). A TxId whose every
    row was rejected is absent: the authority holds nothing of it."""
    ids = set(tx_ids)
    ids |= set(
        conn.execute(
            select(Rts22ReportedRow.tx_id).where(Rts22ReportedRow.trading_day == day)
        ).scalars()
    )
    rows: dict[str, list[_Reported]] = defaultdict(list)
    table = Rts22ReportedRow
    for chunk in _chunks(sorted(ids)):
        for row in conn.execute(
            select(
                table.tx_id, table.trading_day, table.content_sha256, table.status, table.file_name
            )
            .where(table.tx_id.in_(chunk))
            .order_by(table.id)
        ):
            rows[row.tx_id].append(_Reported(*row))
    rejected = rejected_reports(engine, {(t, r.file_name) for t, rs in rows.items() for r in rs})
    latest: dict[str, _Reported] = {}
    for tx_id, reported in rows.items():
        held = [r for r in reported if (tx_id, r.file_name) not in rejected]
        if held:
            latest[tx_id] = held[-1]
    return latest


def _next_number(conn: Connection, folder: Path, day: date) -> int:
    """n of rts22-<day>-<n>.xml: one more than any file of the day on disk or on record."""
    pattern = re.compile(rf"rts22-{day.isoformat()}-(\d+)\.xml")
    names = {p.name for p in folder.glob(f"rts22-{day.isoformat()}-*.xml")}
    names |= set(
        conn.execute(
            select(Rts22ReportedRow.file_name).where(Rts22ReportedRow.trading_day == day).distinct()
        ).scalars()
    )
    numbers = [int(m.group(1)) for n in names if (m := pattern.fullmatch(n))]
    return max(numbers, default=0) + 1


def schema_problems(
    config: QtinfraConfig, day: date, records: list[TransactionRecord], schemas: SchemaSet
) -> list[Problem]:
    """What ESMA's schema says of records as one file of day (nothing is written)."""
    if not records:
        return []
    root = _file(config, day, 1, datetime.now(UTC), records, {})
    by_tx = {r.tx_id: r.fill for r in records}
    return [_problem_of(v, by_tx) for v in validate(root, schemas)]


def generate_rts22(
    config: QtinfraConfig,
    engine: Engine,
    day: date,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> Rts22Result:
    """Produce day's RTS 22 file into <out_dir>/<day>/rts22-<day>-<n>.xml (out_dir: the
    configured reports.out_dir) with what changed since the last file of the day, validated
    against reports.schema_dir (unset: the ESMA schemas shipped in qtinfra/reports/schemas),
    and record what it reported. Nothing new: no file. A transaction whose data is missing or
    fails the schema is held back (Rts22Result.held names it and the field) and the rest is
    filed: one record never stops the day's report; a held one is reported by the first run
    after it is fixed (it is neither recorded nor cancelled meanwhile). Raises
    TransactionReportInvalid (nothing written) only for a schema error no transaction can
    be blamed for; ConfigError when the schemas cannot be loaded."""
    now = now or datetime.now(UTC)
    out_dir = out_dir if out_dir is not None else config.reports_dir
    folder = out_dir / day.isoformat()
    schema_dir = config.reports.schema_dir
    schemas: SchemaSet | None = load_schema(
        config.path(schema_dir).resolve() if schema_dir is not None else SHIPPED_SCHEMAS
    )

    # Personal data is sealed at rest; it is revealed here, for the report only.
    config = reveal_config(config)
    records, held = build_records(config, read_fills(engine, day))
    held_ids = {p.tx_id for p in held if p.tx_id}
    with engine.connect() as conn:
        # What the authority holds: a file it rejected (reports/feedback.py) counts for
        # nothing, so a rejected NEWT goes again as NEWT, and a rejected correction (CANC +
        # NEWT) goes again as CANC + NEWT against the record it still holds.
        prior = _latest_reported(engine, conn, day, [r.tx_id for r in records])
        number = _next_number(conn, folder, day)
    new: list[TransactionRecord] = []
    cancels: dict[str, str] = {}  # TxId -> SHA-256 of the record it withdraws
    unchanged: list[str] = []
    for record in records:
        last = prior.get(record.tx_id)
        if last is None or last.status == CANC:
            new.append(record)
        elif last.content_sha256 == record.sha256:
            unchanged.append(record.tx_id)
        else:
            cancels[record.tx_id] = last.content_sha256
            new.append(record)
    current = {r.tx_id for r in records} | held_ids
    for tx_id, last in prior.items():
        if tx_id not in current and last.status == NEWT and last.trading_day == day:
            cancels[tx_id] = last.content_sha256
    validated = schemas.describe() if schemas else None
    by_tx = {r.tx_id: r.fill for r in records}
    while True:
        if not new and not cancels:
            return Rts22Result(day, None, (), (), tuple(unchanged), validated, tuple(held))
        root = _file(config, day, number, now, new, cancels)
        violations = validate(root, schemas) if schemas is not None else []
        if not violations:
            break
        problems = [_problem_of(v, by_tx) for v in violations]
        blamed = {p.tx_id for p in problems if p.tx_id is not None and p.tx_id in by_tx}
        if not blamed or any(p.tx_id not in blamed for p in problems):
            raise TransactionReportInvalid(day, problems)
        # Hold the transactions the schema refuses; file the rest.
        held += problems
        new = _without(new, blamed)
        for tx_id in blamed:
            cancels.pop(tx_id, None)

    name = f"rts22-{day.isoformat()}-{number}.xml"
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    rows = [
        {
            "tx_id": tx_id,
            "trading_day": day,
            "content_sha256": sha,
            "file_name": name,
            "reported_at": now,
            "status": CANC,
        }
        for tx_id, sha in sorted(cancels.items())
    ]
    rows += [
        {
            "tx_id": r.tx_id,
            "trading_day": day,
            "content_sha256": r.sha256,
            "file_name": name,
            "reported_at": now,
            "status": NEWT,
        }
        for r in new
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    temporary = folder / f".{name}.tmp"
    temporary.write_bytes(body)
    placed = False
    try:
        # The record of what was reported commits with the file: if either fails, neither
        # stays, and the next run reports the same again.
        with engine.begin() as conn:
            conn.execute(insert(Rts22ReportedRow), rows)
            os.replace(temporary, path)
            placed = True
    except BaseException:
        temporary.unlink(missing_ok=True)
        if placed:
            path.unlink(missing_ok=True)
        raise
    return Rts22Result(
        day,
        path,
        tuple(r.tx_id for r in new),
        tuple(sorted(cancels)),
        tuple(unchanged),
        validated,
        tuple(held),
    )


def _file(
    config: QtinfraConfig,
    day: date,
    number: int,
    now: datetime,
    new: list[TransactionRecord],
    cancels: dict[str, str],
) -> Element:
    """The BizData file: the cancellations first, then the new records."""
    document = root_element(AUTH_016, "Document")
    report = sub(document, "FinInstrmRptgTxRpt")
    for tx_id in sorted(cancels):
        cancel = sub(sub(report, "Tx"), "Cxl")
        sub(cancel, "TxId", tx_id)
        sub(cancel, "ExctgPty", config.firm.lei)
        sub(cancel, "SubmitgPty", config.firm.lei)
    for record in new:
        sub(report, "Tx").append(copy.deepcopy(record.element))
    root = business_envelope(
        document,
        sender=config.firm.lei,
        receiver=config.reports.nca or config.firm.country,
        message_id=f"RTS22-{day.isoformat()}-{number}",
        message_definition=MESSAGE_DEFINITION,
        created=now,
    )
    etree.cleanup_namespaces(root)
    return root


HELD = 2
"""run_rts22's exit status when the day was filed but some transactions were held back."""


def run_rts22(config: QtinfraConfig, day: date, out_dir: Path | None) -> int:
    """`qtinfra reports rts22 --date D [--out DIR]`: produce the day's file, print what was
    done (the file, how many NEWT, CANC and unchanged, whether it was validated, what was
    held back and why); 0 when everything was reported, 2 (HELD) when the rest was filed
    but some transactions were held back, 1 when nothing could be written."""
    from qtinfra.store.db import make_engine, migrate

    engine = make_engine(config.database_url)
    try:
        migrate(engine)  # the table of what was reported (0005) may be newer than the db
        result = generate_rts22(config, engine, day, out_dir)
    except TransactionReportInvalid as exc:
        print(f"qtinfra: {exc}", file=sys.stderr)
        return 1
    except QtinfraError as exc:
        print(f"qtinfra: RTS 22 transaction report for {day.isoformat()}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    for line in result.summary():
        print(line)
    if result.held:
        print(
            f"qtinfra: RTS 22 transaction report for {day.isoformat()}: "
            f"{len({p.tx_id for p in result.held})} transactions held back (listed above)",
            file=sys.stderr,
        )
        return HELD
    return 0
