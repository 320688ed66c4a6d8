"""RTS 22 transaction reports from synthetic journals, in a SQLite database made by the real
migrations, validated against ESMA's schemas in ../shared/iso20022.

The scenario helpers (Journal, make_config, xpath helpers) are imported by
tests/integration/test_reports_rts22.py, which runs the same on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from lxml import etree
from sqlalchemy import Engine, insert, select

from qtinfra.config import (
    PROJECT_ROOT,
    CalendarConfig,
    FirmConfig,
    InstrumentConfig,
    PersonRecord,
    QtinfraConfig,
    ReportsConfig,
    VenueConfig,
    load_config,
)
from qtinfra.domain.commands import NewOrder, Party, VenueExecution, VenueSessionStatus
from qtinfra.domain.events import ExecutionReport
from qtinfra.domain.values import ExecType, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.errors import ConfigError
from qtinfra.oms.manager import OrderManager
from qtinfra.oms.sequencer import batch_from_outbox
from qtinfra.reports.iso20022 import AUTH_016, HEAD_001, load_schema, validate
from qtinfra.reports.rts22 import (
    build_transactions,
    generate_rts22,
    read_fills,
    run_rts22,
    transaction_reference,
)
from qtinfra.reports.rts22_rules import short_selling_indicator
from qtinfra.risk.engine import RiskEngine
from qtinfra.risk.exposure import Exposure
from qtinfra.risk.limits import AccountRecord, PartyDefault, RiskConfig
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter, PersistBatch, event_payload
from qtinfra.store.models import Rts22ReportedRow

D = Decimal
DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
SCHEMA_DIR = Path("../shared/iso20022")  # relative to the project root, as in config
FIRM_LEI = "98450012DEMOFIRMXX19"
ACC1_LEI = "98450012DEMOACC1AM85"
ACC1_LEI_CORRECTED = "5493001KJTIIGC8Y1R12"
AAPL_ISIN = "US0378331005"
MSFT_ISIN = "US5949181045"
NS = {"a": AUTH_016, "h": HEAD_001}

DECISION_1001 = Party("1001", "P", 122, 24)
DECISION_1002 = Party("1002", "P", 122, 24)
ALGO_2001 = Party("2001", "P", 12, 22)
TRADER_2002 = Party("2002", "P", 12, 24)

# CI runs with ../shared beside the clone: there a missing schema folder is a failure.
requires_schemas = pytest.mark.skipif(
    not (PROJECT_ROOT / SCHEMA_DIR).is_dir() and os.environ.get("CI") != "true",
    reason=f"ESMA's schemas are not at {PROJECT_ROOT / SCHEMA_DIR}",
)


CCP_LEI = "984500SIMCCP0DEMO024"
FUND_LEI = "5493001KJTIIGC8Y1R12"
MANAGER_LEI = "98450012DEMOACC1AM85"
"""The CCP clearing CEUX's trades in these tests (TRQX uses none)."""


def make_config(
    out_dir: Path,
    schema_dir: Path | None = SCHEMA_DIR,
    acc1_lei: str = ACC1_LEI,
    acc2_birth_date: date | None = date(1984, 6, 21),
) -> QtinfraConfig:
    """A firm with four clients: ACC1 a legal person (LEI) and ACC2 a natural person, both
    under the firm's discretionary mandate; ACC3 a legal person that decides itself and
    flags every short sale it sends; FUND1 a fund whose manager (MANAGER_LEI) decides."""
    return QtinfraConfig(
        firm=FirmConfig(lei=FIRM_LEI, country="GB"),
        reports=ReportsConfig(schema_dir=schema_dir, out_dir=out_dir),
        venues=(
            VenueConfig(name="CBOE", mic="CEUX", port=9881, ccp=CCP_LEI),
            VenueConfig(name="TRQ", mic="TRQX", port=9882, ccp="none"),
        ),
        instruments=(
            InstrumentConfig(
                symbol="AAPL", isin=AAPL_ISIN, currency="USD", tick_size=D("0.01"),
                lot_size=D(1), venues=("CBOE", "TRQ"), calendar="SIM",
            ),
            InstrumentConfig(
                symbol="MSFT", isin=MSFT_ISIN, currency="USD", tick_size=D("0.01"),
                lot_size=D(1), venues=("CBOE", "TRQ"), calendar="SIM",
            ),
        ),
        calendars=(
            CalendarConfig(name="SIM", timezone="UTC", open=time(0), close=time(23, 59, 59)),
        ),
        accounts=(
            AccountRecord(
                account="ACC1", name="Demo Asset Management Ltd", kind="legal", lei=acc1_lei,
                decision_maker=PartyDefault(id="1001", qualifier=24),
                executing_trader=PartyDefault(id="2001", qualifier=22), order_capacity="A",
                decides="firm",
            ),
            AccountRecord(
                account="ACC2", name="Jane Demo", kind="natural", country="GB",
                national_id="GBJE123456C", national_id_scheme="NIDN", first_names="Jane",
                surname="Demo", birth_date=acc2_birth_date,
                decision_maker=PartyDefault(id="1002", qualifier=24),
                executing_trader=PartyDefault(id="2002", qualifier=24), order_capacity="A",
                decides="firm",
            ),
            AccountRecord(
                account="ACC3", name="Demo Long-Only Client", kind="legal", lei=ACC1_LEI,
                order_capacity="A", flags_short_sales=True,
            ),
            AccountRecord(
                account="FUND1", name="Demo Fund", kind="legal", lei=FUND_LEI,
                order_capacity="A", decides="third_party", decision_maker_lei=MANAGER_LEI,
            ),
        ),
        risk=RiskConfig(fx={"EUR": D(1), "USD": D("0.92")}),
        people=(
            PersonRecord(
                code="1001", national_id="GBAB123456C", national_id_scheme="NIDN", country="GB",
                first_names="Alice", surname="Example", birth_date=date(1981, 3, 14),
            ),
            PersonRecord(
                code="1002", national_id="FR19790912PIERRMARTI", country="FR",
                first_names="Pierre", surname="Martin", birth_date=date(1979, 9, 12),
            ),
            PersonRecord(
                code="2002", national_id="GBCE654321A", national_id_scheme="NIDN", country="GB",
                first_names="Bob", surname="Sample", birth_date=date(1990, 11, 2),
            ),
        ),
    )  # fmt: skip


class Journal:
    """Writes ExecutionReport events into the journal the way the gateway does (the real
    event type, its canonical JSON, the journal writer)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writer = JournalWriter(engine, lambda: T0, self._failed)
        self.orders: dict[str, tuple[str, Side, str, str]] = {}
        self.count = 0

    @staticmethod
    def _failed(exc: BaseException) -> None:
        raise AssertionError(f"journal write failed: {exc}")

    def _report(
        self,
        order_id: str,
        exec_type: ExecType,
        when: datetime,
        **fields: object,
    ) -> ExecutionReport:
        account, side, symbol, isin = self.orders[order_id]
        self.count += 1
        values: dict[str, object] = {
            "session": "FIX.4.4:QTGW->CLIENT1",
            "order_id": order_id,
            "cl_ord_id": f"CL{order_id}",
            "orig_cl_ord_id": None,
            "exec_id": f"QTE{self.count}",
            "exec_type": exec_type,
            "ord_status": OrdStatus.NEW,
            "symbol": symbol,
            "isin": isin,
            "side": side,
            "ord_type": OrdType.LIMIT,
            "time_in_force": TimeInForce.DAY,
            "order_qty": D(1000),
            "price": D("190.00"),
            "cum_qty": D(0),
            "leaves_qty": D(1000),
            "avg_px": D(0),
            "transact_time": when,
            "account": account,
            "currency": "USD",
        }
        values.update(fields)
        report = ExecutionReport(**values)  # type: ignore[arg-type]
        self._write(report)
        return report

    def _write(self, report: ExecutionReport) -> None:
        row = {
            "ts": report.transact_time,
            "kind": "ExecutionReport",
            "session": report.session,
            "order_id": report.order_id,
            "payload": event_payload(report),
        }
        self.writer.write([PersistBatch(journal=[row])])

    def new_order(
        self,
        order_id: str,
        account: str,
        side: Side = Side.BUY,
        decision_maker: Party | None = DECISION_1001,
        executing_trader: Party | None = ALGO_2001,
        capacity: str | None = "A",
        symbol: str = "AAPL",
        isin: str | None = AAPL_ISIN,
        when: datetime = T0,
        exec_type: ExecType = ExecType.NEW,
    ) -> ExecutionReport:
        if exec_type is ExecType.NEW:
            self.orders[order_id] = (account, side, symbol, isin or "")
        return self._report(
            order_id,
            exec_type,
            when,
            isin=isin,
            decision_maker=decision_maker,
            executing_trader=executing_trader,
            order_capacity=capacity,
        )

    def replace(self, order_id: str, **data: object) -> ExecutionReport:
        return self.new_order(
            order_id,
            self.orders[order_id][0],
            self.orders[order_id][1],
            exec_type=ExecType.REPLACED,
            **data,  # type: ignore[arg-type]
        )

    def fill(
        self,
        order_id: str,
        qty: str,
        px: str | None,
        mic: str = "CEUX",
        when: datetime = T0,
        **fields: object,
    ) -> ExecutionReport:
        # The venue's execution facts, as the gateway journals them from the venue's fill.
        fields.setdefault("venue_trade_id", f"{mic}T{self.count + 1}")
        fields.setdefault("venue_transact_time", when)
        return self._report(
            order_id,
            ExecType.TRADE,
            when,
            ord_status=OrdStatus.PARTIALLY_FILLED,
            last_qty=D(qty),
            last_px=None if px is None else D(px),
            last_mkt=mic,
            **fields,
        )

    def close(self) -> None:
        self.writer.close()


def record(root: etree._Element, tx_id: str, kind: str = "New") -> etree._Element:
    """The New (or Cxl) record with TxId tx_id."""
    found = root.xpath(f"//a:Tx/a:{kind}[a:TxId = $tx]", namespaces=NS, tx=tx_id)
    assert isinstance(found, list) and len(found) == 1, f"{tx_id}: {found!r}"
    element = found[0]
    assert isinstance(element, etree._Element)
    return element


def text(element: etree._Element, path: str) -> str | None:
    """Text at a path of local names under element (a: prefixed), None when absent."""
    found = element.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    if not found:
        return None
    assert len(found) == 1, f"{path}: {len(found)} matches"
    value = found[0]
    return str(value) if not isinstance(value, etree._Element) else value.text


def parse(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def records_in(root: etree._Element) -> list[tuple[str, str]]:
    """(New or Cxl, TxId) of every record, in file order."""
    out = []
    for tx in root.iterfind(".//a:FinInstrmRptgTxRpt/a:Tx", namespaces=NS):
        rec = tx[0]
        out.append((etree.QName(rec).localname, rec.findtext("a:TxId", namespaces=NS) or ""))
    return out


def reported_rows(engine: Engine) -> list[tuple[str, str, str, date]]:
    t = Rts22ReportedRow
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.tx_id, t.status, t.file_name, t.trading_day).order_by(t.id)
        ).all()
    return [(r.tx_id, r.status, r.file_name, r.trading_day) for r in rows]


def two_clients_two_venues(journal: Journal) -> dict[str, str]:
    """ACC1 (legal) buys AAPL, filled partly on CEUX and TRQX; ACC2 (natural person) sells
    MSFT on TRQX, executed by trader 2002. Returns the fills' ExecIDs by name."""
    journal.new_order("O1", "ACC1")
    f1 = journal.fill("O1", "300", "190.01", "CEUX", T0.replace(microsecond=654321))
    f2 = journal.fill("O1", "200", "190.02", "TRQX", T0.replace(second=5))
    journal.new_order(
        "O2", "ACC2", Side.SELL, DECISION_1002, TRADER_2002, symbol="MSFT", isin=MSFT_ISIN
    )
    f3 = journal.fill("O2", "50", "410.5", "TRQX", T0.replace(minute=45))
    return {"acc1_ceux": f1.exec_id, "acc1_trqx": f2.exec_id, "acc2": f3.exec_id}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'qtinfra.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def journal(engine: Engine) -> Iterator[Journal]:
    j = Journal(engine)
    yield j
    j.close()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "reports"


# -- a day of two clients ------------------------------------------------------------------


@requires_schemas
def test_day_with_legal_and_natural_clients_on_two_venues_validates_with_every_field(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    config = make_config(out)
    now = datetime(2026, 3, 2, 22, 30, 0, 1, tzinfo=UTC)

    result = generate_rts22(config, engine, DAY, now=now)

    assert result.path == out / "2026-03-02" / "rts22-2026-03-02-1.xml"
    assert result.new == (ids["acc1_ceux"], ids["acc1_trqx"], ids["acc2"])
    assert result.cancelled == () and result.unchanged == ()
    root = parse(result.path)
    assert validate(root, load_schema((PROJECT_ROOT / SCHEMA_DIR).resolve())) == []
    # The envelope: BizData > Hdr > AppHdr (head.001) and Pyld > Document (auth.016).
    assert etree.QName(root).localname == "BizData"
    assert text(root, "//h:AppHdr/h:Fr/h:OrgId/h:Id/h:OrgId/h:Othr/h:Id") == FIRM_LEI
    assert text(root, "//h:AppHdr/h:To/h:OrgId/h:Id/h:OrgId/h:Othr/h:Id") == "GB"
    assert text(root, "//h:AppHdr/h:BizMsgIdr") == "RTS22-2026-03-02-1"
    assert text(root, "//h:AppHdr/h:MsgDefIdr") == "auth.016.001.01"
    assert text(root, "//h:AppHdr/h:CreDt") == "2026-03-02T22:30:00.000001Z"

    acc1 = record(root, ids["acc1_ceux"])
    assert etree.QName(acc1).localname == "New"
    assert text(acc1, "a:ExctgPty") == FIRM_LEI  # field 4
    assert text(acc1, "a:InvstmtPtyInd") == "true"  # field 5
    assert text(acc1, "a:SubmitgPty") == FIRM_LEI  # field 6
    assert text(acc1, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == ACC1_LEI  # field 7
    assert text(acc1, "a:Buyr/a:AcctOwnr/a:CtryOfBrnch") == "GB"  # field 8
    assert text(acc1, "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == CCP_LEI  # field 16: CEUX's CCP
    assert text(acc1, "a:Sellr/a:AcctOwnr/a:CtryOfBrnch") is None
    assert text(acc1, "a:OrdrTrnsmssn/a:TrnsmssnInd") == "false"  # field 25
    assert text(acc1, "a:Tx/a:TradDt") == "2026-03-02T09:30:00.654321Z"  # field 28
    assert text(acc1, "a:Tx/a:TradgCpcty") == "AOTC"  # field 29
    assert text(acc1, "a:Tx/a:Qty/a:Unit") == "300"  # field 30
    assert text(acc1, "a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt") == "190.01"  # field 33
    assert text(acc1, "a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt/@Ccy") == "USD"  # field 34
    assert text(acc1, "a:Tx/a:TradVn") == "CEUX"  # field 36
    assert text(acc1, "a:Tx/a:CtryOfBrnch") == "GB"  # field 37
    assert text(acc1, "a:FinInstrm/a:Id") == AAPL_ISIN  # field 41
    # Fields 12 and 57: ACC1's order names the firm's person 1001 as its decision maker (a
    # discretionary mandate): the client's decision maker is the firm, and 57 names her.
    assert text(acc1, "a:Buyr/a:DcsnMakr/a:LEI") == FIRM_LEI
    assert text(acc1, "a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:Id") == "GBAB123456C"
    tvtic = {f.exec_id: f.venue_trade_id for f in read_fills(engine, DAY)}[ids["acc1_ceux"]]
    assert tvtic and text(acc1, "a:Tx/a:TradPlcMtchgId") == tvtic  # field 3: the venue's id
    assert text(acc1, "a:ExctgPrsn/a:Algo") == "2001"  # field 59: an algorithm
    assert text(acc1, "a:AddtlAttrbts/a:ShrtSellgInd") is None  # field 62: a buy
    assert text(acc1, "a:AddtlAttrbts/a:SctiesFincgTxInd") == "false"  # field 65

    second = record(root, ids["acc1_trqx"])
    assert text(second, "a:Sellr/a:AcctOwnr/a:Id/a:MIC") == "TRQX"  # a venue without a CCP
    assert text(second, "a:Tx/a:TradVn") == "TRQX"
    assert text(second, "a:Tx/a:Qty/a:Unit") == "200"
    assert text(second, "a:Tx/a:TradDt") == "2026-03-02T09:30:05.123456Z"

    acc2 = record(root, ids["acc2"])
    assert text(acc2, "a:Buyr/a:AcctOwnr/a:Id/a:MIC") == "TRQX"
    seller = "a:Sellr/a:AcctOwnr/a:Id/a:Prsn/"
    assert text(acc2, seller + "a:FrstNm") == "Jane"  # field 18
    assert text(acc2, seller + "a:Nm") == "Demo"  # field 19
    assert text(acc2, seller + "a:BirthDt") == "1984-06-21"  # field 20
    assert text(acc2, seller + "a:Othr/a:Id") == "GBJE123456C"  # field 16
    assert text(acc2, seller + "a:Othr/a:SchmeNm/a:Cd") == "NIDN"
    assert text(acc2, "a:Sellr/a:AcctOwnr/a:CtryOfBrnch") == "GB"  # field 17
    assert text(acc2, "a:FinInstrm/a:Id") == MSFT_ISIN
    assert text(acc2, "a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt") == "410.5"
    assert text(acc2, "a:ExctgPrsn/a:Prsn/a:CtryOfBrnch") == "GB"  # field 60
    assert text(acc2, "a:ExctgPrsn/a:Prsn/a:Othr/a:Id") == "GBCE654321A"  # field 59
    assert text(acc2, "a:ExctgPrsn/a:Prsn/a:Othr/a:SchmeNm/a:Cd") == "NIDN"
    # Field 62: a plain sale by a client that does not flag its short sales (rule SHORT).
    assert text(acc2, "a:AddtlAttrbts/a:ShrtSellgInd") == "UNDI"

    assert [(r[0], r[1]) for r in reported_rows(engine)] == [
        (ids["acc1_ceux"], "NEWT"),
        (ids["acc1_trqx"], "NEWT"),
        (ids["acc2"], "NEWT"),
    ]


def test_only_fills_whose_transact_time_falls_on_the_utc_day_are_reported(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1", when=datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    journal.fill("O1", "1", "190", when=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC))
    first = journal.fill("O1", "2", "190", when=datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    last = journal.fill("O1", "3", "190", when=datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC))
    journal.fill("O1", "4", "190", when=datetime(2026, 3, 3, 0, 0, tzinfo=UTC))

    fills = read_fills(engine, DAY)

    assert [f.exec_id for f in fills] == [first.exec_id, last.exec_id]
    assert fills[0].transact_time == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert fills[0].decision_maker == DECISION_1001  # from the order's New, the day before


def test_day_without_fills_writes_no_file(engine: Engine, out: Path) -> None:
    result = generate_rts22(make_config(out, schema_dir=None), engine, DAY)

    assert result.path is None and result.new == ()
    assert not (out / "2026-03-02").exists()


# -- stable references, regeneration and cancellations -------------------------------------


def test_transaction_reference_is_the_exec_id_or_a_stable_digest_in_esma_form() -> None:
    assert transaction_reference("LX4Q2E17") == "LX4Q2E17"
    odd = transaction_reference("venue-exec/17")
    assert odd == transaction_reference("venue-exec/17")
    assert odd != transaction_reference("venue-exec/18")
    assert len(odd) == 40 and odd.isalnum() and odd.isupper()
    assert len(transaction_reference("E" * 60)) == 40


@requires_schemas
def test_report_run_twice_gives_the_same_references_and_reports_nothing_twice(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    config = make_config(out)
    fills = read_fills(engine, DAY)
    once = [(r.tx_id, r.sha256) for r in build_transactions(config, DAY, fills)]
    again = [(r.tx_id, r.sha256) for r in build_transactions(config, DAY, read_fills(engine, DAY))]
    assert once == again
    assert [tx for tx, _ in once] == list(ids.values())

    first = generate_rts22(config, engine, DAY)
    second = generate_rts22(config, engine, DAY)

    assert first.path is not None
    assert second.path is None
    assert second.unchanged == first.new
    assert list((out / "2026-03-02").iterdir()) == [first.path]


@requires_schemas
def test_regenerating_after_a_correction_cancels_and_reports_anew_only_what_changed(
    engine: Engine, journal: Journal, out: Path
) -> None:
    ids = two_clients_two_venues(journal)
    generate_rts22(make_config(out), engine, DAY)
    # Compliance finds ACC1's LEI was wrong and corrects the static data.
    corrected = make_config(out, acc1_lei=ACC1_LEI_CORRECTED)

    result = generate_rts22(corrected, engine, DAY)

    acc1 = (ids["acc1_ceux"], ids["acc1_trqx"])
    assert result.path == out / "2026-03-02" / "rts22-2026-03-02-2.xml"
    assert result.cancelled == tuple(sorted(acc1))
    assert result.new == acc1  # the same TxIds, after their cancellation
    assert result.unchanged == (ids["acc2"],)
    root = parse(result.path)
    assert validate(root, load_schema((PROJECT_ROOT / SCHEMA_DIR).resolve())) == []
    # Cancellations first, so the old record is withdrawn before the new one arrives.
    assert records_in(root) == [("Cxl", tx) for tx in sorted(acc1)] + [("New", tx) for tx in acc1]
    cancel = record(root, ids["acc1_ceux"], "Cxl")
    assert [etree.QName(e).localname for e in cancel] == ["TxId", "ExctgPty", "SubmitgPty"]
    assert text(record(root, ids["acc1_ceux"]), "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == (
        ACC1_LEI_CORRECTED
    )
    assert text(root, "//h:AppHdr/h:BizMsgIdr") == "RTS22-2026-03-02-2"
    statuses = [(tx, status, name[-6:]) for tx, status, name, _ in reported_rows(engine)]
    assert statuses[3:] == [
        *((tx, "CANC", "-2.xml") for tx in sorted(acc1)),
        *((tx, "NEWT", "-2.xml") for tx in acc1),
    ]
    # A third run finds nothing changed.
    third = generate_rts22(corrected, engine, DAY)
    assert third.path is None and len(third.unchanged) == 3


def test_a_reported_transaction_no_longer_in_the_journal_is_cancelled(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    kept = journal.fill("O1", "10", "190")
    with engine.begin() as conn:  # reported earlier, from a journal that had another fill
        conn.execute(
            insert(Rts22ReportedRow),
            [
                {
                    "tx_id": "QTGONE1",
                    "trading_day": DAY,
                    "content_sha256": "0" * 64,
                    "file_name": "rts22-2026-03-02-1.xml",
                    "reported_at": T0,
                    "status": "NEWT",
                }
            ],
        )

    result = generate_rts22(make_config(out, schema_dir=None), engine, DAY)

    assert result.path is not None and result.path.name == "rts22-2026-03-02-2.xml"
    assert result.cancelled == ("QTGONE1",)
    assert result.new == (kept.exec_id,)
    assert records_in(parse(result.path)) == [("Cxl", "QTGONE1"), ("New", kept.exec_id)]


# -- refused reports -------------------------------------------------------------------------


@requires_schemas
def test_a_transaction_failing_the_schema_is_held_back_and_the_rest_is_filed(
    engine: Engine, journal: Journal, out: Path
) -> None:
    # One record never stops the day's report (issue 10): the bad one is held back,
    # named with its field, and reported by the first run after it is fixed.
    journal.new_order("O1", "ACC1")
    good = journal.fill("O1", "10", "190")
    bad = journal.fill("O1", "10", "190", isin="US03783310")  # 10 characters

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.path is not None and result.new == (good.exec_id,)
    [problem] = result.held
    assert problem.tx_id == bad.exec_id
    assert problem.field.startswith("41 Instrument identification code (New/FinInstrm/Id)")
    assert "'US03783310' is not accepted by the pattern" in problem.message
    text = "\n".join(result.summary())
    assert "held back 1 transaction" in text and f"transaction {bad.exec_id}" in text
    assert bad.exec_id not in result.path.read_text()
    assert [r[0] for r in reported_rows(engine)] == [good.exec_id]


@requires_schemas
def test_schema_errors_in_attributes_and_parties_name_their_fields(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    bad_ccy = journal.fill("O1", "10", "190", currency="usd")
    bad_mic = journal.fill("O1", "10", "190", mic="CE-X")

    result = generate_rts22(make_config(out), engine, DAY)

    found = {(p.tx_id, p.field.split(" (")[0]) for p in result.held}
    assert (bad_ccy.exec_id, "34 Price currency") in found
    assert (bad_mic.exec_id, "36 Venue") in found  # rule VENUE: no venue has that MIC
    assert {p.rule for p in result.held if p.tx_id == bad_mic.exec_id} == {"VENUE"}
    assert result.path is None and reported_rows(engine) == []  # nothing left to file


def test_a_fill_booked_by_reconciliation_is_held_until_the_venues_executions_are_booked(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    reported = journal.fill("O1", "10", "190")
    averaged = journal.fill("O1", "30", "190.0333", venue_trade_id=None, reconciled=True)

    result = generate_rts22(make_config(out, schema_dir=None), engine, DAY)

    assert result.new == (reported.exec_id,)
    [held] = result.held
    assert (held.tx_id, held.rule) == (averaged.exec_id, "RECON")
    assert held.field.startswith("3 ") and "booked by reconciliation" in held.message


def test_missing_price_holds_the_transaction_naming_its_field(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    bad = journal.fill("O1", "10", None)

    result = generate_rts22(make_config(out, schema_dir=None), engine, DAY)

    [problem] = result.held
    assert problem.tx_id == bad.exec_id
    assert problem.field == "33 Price"
    assert f"transaction {bad.exec_id} (ExecID {bad.exec_id} of order O1, account ACC1)" in str(
        problem
    )
    assert "no LastPx (31)" in problem.message
    assert result.path is None and not (out / "2026-03-02").exists()
    assert reported_rows(engine) == []


def test_natural_person_without_birth_date_is_held_naming_the_field(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O2", "ACC2", Side.BUY, DECISION_1002, TRADER_2002)
    fill = journal.fill("O2", "5", "190")

    result = generate_rts22(make_config(out, schema_dir=None, acc2_birth_date=None), engine, DAY)

    [problem] = result.held
    assert (problem.tx_id, problem.field) == (fill.exec_id, "11 Buyer - date of birth")
    assert "without birth_date in config/accounts.toml" in problem.message


def test_executing_trader_missing_from_people_registry_is_held(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1", executing_trader=Party("3999", "P", 12, 24))
    fill = journal.fill("O1", "5", "190")
    journal.new_order("O2", "ACC1", executing_trader=Party("ALGOX", "P", 12, None))
    unknown = journal.fill("O2", "5", "190")

    result = generate_rts22(make_config(out, schema_dir=None), engine, DAY)

    problems = {p.tx_id: p for p in result.held}
    assert problems[fill.exec_id].field == "59 Execution within firm"
    assert "3999 is a natural person" in problems[fill.exec_id].message
    assert "neither a known person nor an algorithm" in problems[unknown.exec_id].message


def test_a_held_transaction_is_reported_once_fixed_and_never_cancelled_meanwhile(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O2", "ACC2", Side.BUY, DECISION_1002, TRADER_2002)
    fill = journal.fill("O2", "5", "190")
    first = generate_rts22(make_config(out, schema_dir=None), engine, DAY)
    assert first.new == (fill.exec_id,)
    # The client's record loses its birth date: the report changes, the day is re-run.
    held = generate_rts22(make_config(out, schema_dir=None, acc2_birth_date=None), engine, DAY)
    assert [p.tx_id for p in held.held] == [fill.exec_id]
    assert held.cancelled == ()  # what was reported stands until the data is fixed
    fixed = generate_rts22(make_config(out, schema_dir=None), engine, DAY)
    assert fixed.held == () and fixed.path is None  # unchanged: nothing to refile


@requires_schemas
def test_run_prints_what_was_held_and_returns_2(
    tmp_path: Path,
    out: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QTINFRA_DATABASE_URL", raising=False)  # the config names the db
    url = f"sqlite:///{tmp_path / 'run.db'}"
    engine = make_engine(url)
    migrate(engine)
    journal = Journal(engine)
    journal.new_order("O1", "ACC1")
    bad = journal.fill("O1", "10", "190", isin="us0378331005")
    journal.close()
    config = make_config(out).model_copy(
        update={"gateway": make_config(out).gateway.model_copy(update={"database_url": url})}
    )

    assert run_rts22(config, DAY, None) == 2

    captured = capsys.readouterr()
    assert f"transaction {bad.exec_id}" in captured.out and "field 41" in captured.out
    assert "held back" in captured.err
    engine.dispose()


def test_run_without_schema_dir_validates_against_the_shipped_schemas(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QTINFRA_DATABASE_URL", raising=False)  # the config names the db
    url = f"sqlite:///{tmp_path / 'run.db'}"
    engine = make_engine(url)
    migrate(engine)
    journal = Journal(engine)
    journal.new_order("O1", "ACC1")
    journal.fill("O1", "10", "190")
    journal.close()
    engine.dispose()
    base = make_config(tmp_path / "ignored", schema_dir=None)
    config = base.model_copy(
        update={"gateway": base.gateway.model_copy(update={"database_url": url})}
    )

    assert run_rts22(config, DAY, tmp_path / "elsewhere") == 0

    printed = capsys.readouterr().out
    path = tmp_path / "elsewhere" / "2026-03-02" / "rts22-2026-03-02-1.xml"
    assert path.exists()
    assert str(path) in printed
    assert "1 NEWT, 0 CANC, 0 unchanged" in printed
    assert "validated against" in printed and "qtinfra/reports/schemas" in printed


def test_the_shipped_schemas_are_esmas_files_byte_for_byte() -> None:
    import hashlib

    from qtinfra.reports.iso20022 import SHIPPED_SCHEMAS

    expected = {
        "auth.016.001.01_ESMAUG_Reporting_1.1.0.xsd": "f1b5dea3dfbddd11a8152f1a03a64f4eaa752c518eec932a5f730e7f6b0f23c7",
        "head.001.001.01_ESMAUG_1.0.0.xsd": "49a8b2090dc2e2894a10879f8f1d3e03a319769b3fe3113448916d01ee1e6621",
        "head.003.001.01.xsd": "02db103fc797667778c7708d2081786a26b3aabe461c46824e3ee54723c85e95",
    }
    found = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SHIPPED_SCHEMAS.glob("*.xsd")
    }
    assert found == expected


# -- fields that depend on the order ---------------------------------------------------------


@requires_schemas
def test_short_sale_carries_sesh_a_sale_sell_and_a_buy_no_indicator(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("B", "ACC1", Side.BUY)
    buy = journal.fill("B", "1", "190")
    journal.new_order("S", "ACC1", Side.SELL)
    sell = journal.fill("S", "1", "190")
    journal.new_order("FLAGGED", "ACC3", Side.SELL)
    flagged = journal.fill("FLAGGED", "1", "190")
    journal.new_order("SS", "ACC1", Side.SELL_SHORT)
    short = journal.fill("SS", "1", "190")

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.path is not None
    root = parse(result.path)
    indicator = "a:AddtlAttrbts/a:ShrtSellgInd"
    assert text(record(root, buy.exec_id), indicator) is None
    # ACC1 does not flag its short sales: a plain sell is undetermined (rule SHORT); ACC3
    # flags every short sale, so its plain sell is known to be long.
    assert text(record(root, sell.exec_id), indicator) == "UNDI"
    assert text(record(root, flagged.exec_id), indicator) == "SELL"
    assert text(record(root, short.exec_id), indicator) == "SESH"
    # The client sells: the client is the seller, the venue the buyer.
    assert text(record(root, short.exec_id), "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == ACC1_LEI
    assert text(record(root, short.exec_id), "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == CCP_LEI


@pytest.mark.parametrize(
    ("side", "leg", "flags", "indicator"),
    [
        ("1", "", False, None),  # AOTC/MTCH buy: the venue sells
        ("2", "", False, "UNDI"),  # the client sells; whether short is not known
        ("2", "", True, "SELL"),  # ...known long: the client flags its short sales
        ("5", "", False, "SESH"),  # the client sells short
        ("6", "", False, "SSEX"),  # short, exempt
        ("1", "market", False, None),  # DEAL, client buys: the venue sells to the firm...
        ("1", "client", False, "SELL"),  # ...and the firm sells that on to the client
        ("2", "market", False, "SELL"),  # DEAL, client sells: the firm sells on what it bought
        ("5", "market", False, "SELL"),
        ("2", "client", False, "UNDI"),
        ("2", "client", True, "SELL"),
        ("5", "client", False, "SESH"),
    ],
)
def test_short_selling_indicator_is_set_when_the_firm_or_its_client_sells(
    side: str, leg: Literal["", "market", "client"], flags: bool, indicator: str | None
) -> None:
    assert short_selling_indicator(side, leg, flags) == indicator


@requires_schemas
def test_field_59_is_an_algorithm_or_a_person_by_the_party_qualifier(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("A", "ACC1", executing_trader=ALGO_2001)
    by_algo = journal.fill("A", "1", "190")
    journal.new_order("P", "ACC1", executing_trader=TRADER_2002)
    by_person = journal.fill("P", "1", "190")
    journal.new_order("U", "ACC1", executing_trader=Party("2002", "P", 12, None))
    unqualified = journal.fill("U", "1", "190")  # no qualifier, but a known person

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.path is not None
    root = parse(result.path)
    assert text(record(root, by_algo.exec_id), "a:ExctgPrsn/a:Algo") == "2001"
    assert text(record(root, by_algo.exec_id), "a:ExctgPrsn/a:Prsn") is None
    for fill in (by_person, unqualified):
        person = record(root, fill.exec_id)
        assert text(person, "a:ExctgPrsn/a:Algo") is None
        assert text(person, "a:ExctgPrsn/a:Prsn/a:Othr/a:Id") == "GBCE654321A"
        assert text(person, "a:ExctgPrsn/a:Prsn/a:CtryOfBrnch") == "GB"


@requires_schemas
def test_dealing_on_own_account_reports_market_and_client_sides_with_the_decision_maker(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC2", Side.SELL_SHORT, DECISION_1002, TRADER_2002, capacity="P")
    fill = journal.fill("O1", "25", "190.5", "TRQX")

    result = generate_rts22(make_config(out), engine, DAY)

    market_id, client_id = fill.exec_id, fill.exec_id + "C"
    assert result.new == (market_id, client_id)
    assert result.path is not None
    root = parse(result.path)
    market, client = record(root, market_id), record(root, client_id)
    for rec in (market, client):
        assert text(rec, "a:Tx/a:TradgCpcty") == "DEAL"
        # Field 57: the firm decided; person 1002 is identified by a CONCAT code.
        assert text(rec, "a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:Id") == "FR19790912PIERRMARTI"
        assert text(rec, "a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:SchmeNm/a:Prtry") == "CONCAT"
        assert text(rec, "a:InvstmtDcsnPrsn/a:Prsn/a:CtryOfBrnch") == "FR"  # field 58
    # Market side: the firm sells on the venue what it buys from the client: covered.
    assert text(market, "a:Buyr/a:AcctOwnr/a:Id/a:MIC") == "TRQX"
    assert text(market, "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == FIRM_LEI
    assert text(market, "a:Tx/a:TradVn") == "TRQX"
    assert text(market, "a:Tx/a:CtryOfBrnch") == "GB"
    assert text(market, "a:AddtlAttrbts/a:ShrtSellgInd") == "SELL"
    # Client side: the client sells short to the firm, off venue.
    assert text(client, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == FIRM_LEI
    assert text(client, "a:Sellr/a:AcctOwnr/a:Id/a:Prsn/a:Othr/a:Id") == "GBJE123456C"
    assert text(client, "a:Tx/a:TradVn") == "XOFF"
    assert text(client, "a:Tx/a:CtryOfBrnch") is None
    assert text(client, "a:AddtlAttrbts/a:ShrtSellgInd") == "SESH"


@requires_schemas
def test_matched_principal_is_two_reports_like_a_deal(
    engine: Engine, journal: Journal, out: Path
) -> None:
    """MTCH, as ESMA's guidelines show it: the firm buys on the venue (against its CCP, with
    the venue's id) and sells to the client off venue, both legs MTCH at the same time and
    price. ACC1 is under the firm's mandate: its algorithm decided (field 57)."""
    journal.new_order("O1", "ACC1", decision_maker=Party("ALGO7", "P", 122, 22), capacity="R")
    fill = journal.fill("O1", "25", "190.5")

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.new == (fill.exec_id, fill.exec_id + "C")
    assert result.path is not None
    root = parse(result.path)
    market, client = record(root, fill.exec_id), record(root, fill.exec_id + "C")
    for leg in (market, client):
        assert text(leg, "a:Tx/a:TradgCpcty") == "MTCH"
        assert text(leg, "a:InvstmtDcsnPrsn/a:Algo") == "ALGO7"
        assert text(leg, "a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt") == "190.5"
    assert text(market, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == FIRM_LEI
    assert text(market, "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == CCP_LEI
    assert text(market, "a:Tx/a:TradVn") == "CEUX"
    assert text(market, "a:Tx/a:TradPlcMtchgId") == fill.venue_trade_id
    assert text(client, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == ACC1_LEI
    assert text(client, "a:Buyr/a:DcsnMakr/a:LEI") == FIRM_LEI  # the firm's mandate
    assert text(client, "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == FIRM_LEI
    assert text(client, "a:Tx/a:TradVn") == "XOFF"
    assert text(client, "a:Tx/a:TradPlcMtchgId") is None


def test_a_replace_supersedes_the_order_data_for_later_fills_only(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1", executing_trader=ALGO_2001, capacity="A")
    before = journal.fill("O1", "1", "190")
    journal.replace("O1", executing_trader=TRADER_2002, capacity="R")
    after = journal.fill("O1", "1", "190")

    fills = {f.exec_id: f for f in read_fills(engine, DAY)}

    assert fills[before.exec_id].executing_trader == ALGO_2001
    assert fills[before.exec_id].order_capacity == "A"
    assert fills[after.exec_id].executing_trader == TRADER_2002
    assert fills[after.exec_id].order_capacity == "R"


@requires_schemas
def test_the_demo_configuration_reports_its_two_clients_validly(
    engine: Engine, journal: Journal, out: Path
) -> None:
    """config/accounts.toml and config/people.toml as shipped: every short code the
    accounts' default parties use is in the people registry."""
    demo = load_config()
    config = demo.model_copy(update={"reports": ReportsConfig(schema_dir=SCHEMA_DIR, out_dir=out)})
    for account in ("ACC1", "ACC2"):
        rec = demo.account_map()[account]
        assert rec.decision_maker is not None and rec.executing_trader is not None
        dm, et = rec.decision_maker, rec.executing_trader
        journal.new_order(
            account,
            account,
            Side.BUY,
            Party(dm.id, dm.source, 122, dm.qualifier),
            Party(et.id, et.source, 12, et.qualifier),
            capacity=rec.order_capacity,
        )
        journal.fill(account, "1", "190")

    result = generate_rts22(config, engine, DAY)

    assert result.path is not None and len(result.new) == 2
    assert result.validated_against is not None


@requires_schemas
def test_fills_booked_by_the_order_manager_are_reported_from_its_journal(
    engine: Engine, out: Path
) -> None:
    """The real pipeline: the risk chain puts the accounts' MiFID II defaults on the
    orders, the order manager books venue fills, the journal writer commits its events."""
    config = make_config(out)
    clock = lambda: T0  # noqa: E731
    risk = RiskEngine(
        config.risk,
        config.account_map(),
        {},
        {"CBOE": "CEUX", "TRQ": "TRQX"},
        Exposure(DAY),
        session_accounts={"S1": "ACC1", "S2": "ACC2"},
    )
    manager = OrderManager(
        [i.to_domain() for i in config.instruments],
        {"CBOE": D("0.30"), "TRQ": D("0.28")},
        {"CBOE": "CEUX", "TRQ": "TRQX"},
        clock,
        "QT",
        default_accounts={"S1": "ACC1", "S2": "ACC2"},
        risk=risk,
    )
    writer = JournalWriter(engine, clock, Journal._failed)
    for venue in ("CBOE", "TRQ"):
        manager.handle(VenueSessionStatus(venue, True))
    manager.take_outbox()
    for session, cl_ord_id, side in (("S1", "B1", Side.BUY), ("S2", "S1", Side.SELL)):
        manager.handle(
            NewOrder(
                session, cl_ord_id, "AAPL", None, side, OrdType.LIMIT, TimeInForce.DAY,
                D(100), D("190.00"), None,
            )
        )  # fmt: skip
    writer.write([batch_from_outbox(manager.take_outbox(), T0, None)])
    for child in list(manager.children.values()):
        mic = "CEUX" if child.venue == "CBOE" else "TRQX"
        manager.handle(
            VenueExecution(
                child.venue, mic, child.child_id, None, "V1", f"{child.child_id}-X",
                ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, D(10), D("190.00"), D(10),
                child.quantity - D(10), None, None, T0, trade_id=f"{mic}T{child.child_id[-1]}",
            )
        )  # fmt: skip
    outbox = manager.take_outbox()
    trades = [e for e in outbox.events if getattr(e, "exec_type", None) is ExecType.TRADE]
    writer.write([batch_from_outbox(outbox, T0, None)])
    writer.close()

    result = generate_rts22(config, engine, DAY)

    assert trades and result.new == tuple(e.exec_id for e in trades)  # type: ignore[union-attr]
    assert result.path is not None
    root = parse(result.path)
    for event in trades:
        assert isinstance(event, ExecutionReport)
        rec = record(root, event.exec_id)
        assert text(rec, "a:Tx/a:TradgCpcty") == "AOTC"
        assert text(rec, "a:Tx/a:Qty/a:Unit") == "10"
        assert text(rec, "a:Tx/a:TradVn") == event.last_mkt
        if event.account == "ACC1":
            assert text(rec, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == ACC1_LEI
            assert text(rec, "a:ExctgPrsn/a:Algo") == "2001"
        else:
            assert text(rec, "a:Sellr/a:AcctOwnr/a:Id/a:Prsn/a:Nm") == "Demo"
            assert text(rec, "a:ExctgPrsn/a:Prsn/a:Othr/a:Id") == "GBCE654321A"
            assert text(rec, "a:AddtlAttrbts/a:ShrtSellgInd") == "SELL"


def test_a_schema_folder_without_esma_schemas_refuses_to_report(
    engine: Engine, journal: Journal, tmp_path: Path
) -> None:
    journal.new_order("O1", "ACC1")
    journal.fill("O1", "10", "190")
    empty = tmp_path / "schemas"
    empty.mkdir()

    with pytest.raises(ConfigError, match=r"expected one head\.003 \(BizData envelope\) schema"):
        generate_rts22(make_config(tmp_path / "reports", schema_dir=empty), engine, DAY)

    assert not (tmp_path / "reports").exists()
