"""The second demo day for the MiFID II reports (qtinfra/tools/demo_day.py), traded over FIX
through a real deployment (venue processes, the gateway process, a QuickFIX client): a
client the firm deals with on own account (DEAL), one it matches as riskless principal
(MTCH), a fund whose manager decides, a client that flags its short sales selling long
(SELL) and short (SESH), the discretionary-mandate client ACC1 selling long (UNDI: it does
not flag), a venue that drops and comes back, and the client reconnecting with its
sequence numbers. Its RTS 22 report
passes every business rule and ESMA's schema, carries the legs and parties ESMA's
guidelines show, and its RTS 24 records are all there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from time import sleep

import pytest
from lxml import etree

from qtinfra.config import PROJECT_ROOT
from qtinfra.reports.iso20022 import AUTH_016, SHIPPED_SCHEMAS, load_schema, validate
from qtinfra.reports.rts22 import generate_rts22
from qtinfra.reports.rts22_check import check_rts22
from qtinfra.reports.rts24 import order_records
from qtinfra.store.db import make_engine
from qtinfra.store.privacy import reveal_config
from qtinfra.tools import demo_day
from qtinfra.tools.demo_day import DEAL_LEI, FUND_LEI, MANAGER_LEI, MTCH_LEI, SHORT_LEI
from tests.integration.deployment import Deployment, deploy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

NS = {"a": AUTH_016}
FIRM_LEI = "98450012DEMOFIRMXX19"
CCP_LEI = "984500SIMCCP0DEMO024"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, dict[str, str]]]:
    root: Path = tmp_path_factory.mktemp("demo-day-2")
    for d in deploy(root, f"sqlite:///{root / 'qtinfra.db'}", files=demo_day.config_files()):
        client = d.client("CLIENT1", reset=False)  # keeps its sequence numbers
        now = datetime.now(UTC)
        if now.time() > time(23, 57, 30):  # the day must not cross midnight UTC: wait for it
            sleep((datetime.combine(now.date(), time(23, 59, 59), UTC) - now).total_seconds() + 6)
        yield d, demo_day.trade(d, client)


def test_every_transaction_of_the_day_passes_every_rule_and_the_schema(
    day: tuple[Deployment, dict[str, str]],
) -> None:
    d, _ = day
    config = d.config()
    engine = make_engine(config.database_url)
    try:
        result = check_rts22(config, engine, datetime.now(UTC).date())
    finally:
        engine.dispose()
    assert result.fills >= 6
    assert result.problems == (), "\n".join(result.lines())


def test_the_reports_legs_and_parties_are_those_of_esmas_examples(
    day: tuple[Deployment, dict[str, str]], tmp_path: Path
) -> None:
    d, orders = day
    config = d.config()
    engine = make_engine(config.database_url)
    today = datetime.now(UTC).date()
    try:
        result = generate_rts22(config, engine, today, tmp_path)
    finally:
        engine.dispose()
    assert result.held == () and result.path is not None
    root = etree.parse(str(result.path)).getroot()
    shared = PROJECT_ROOT.parent / "shared" / "iso20022"
    schemas = load_schema(shared if shared.is_dir() else SHIPPED_SCHEMAS)
    assert validate(root, schemas) == []

    records = root.findall(".//a:Tx/a:New", NS)

    def txt(rec: etree._Element, path: str) -> str | None:
        return rec.findtext(path, namespaces=NS)

    def of_lei(lei: str) -> list[etree._Element]:
        return [
            r
            for r in records
            if lei
            in (txt(r, "a:Buyr/a:AcctOwnr/a:Id/a:LEI"), txt(r, "a:Sellr/a:AcctOwnr/a:Id/a:LEI"))
        ]

    # DEAL: the market side (the firm buys from the venue's CCP, on the venue) and the
    # client side (the firm sells to the client, off venue), both DEAL.
    deal = of_lei(DEAL_LEI)
    assert deal and all(txt(r, "a:Tx/a:TradgCpcty") == "DEAL" for r in deal)
    assert {txt(r, "a:Tx/a:TradVn") for r in deal} == {"XOFF"}
    market = [
        r
        for r in records
        if txt(r, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == FIRM_LEI
        and txt(r, "a:Tx/a:TradgCpcty") == "DEAL"
    ]
    assert market and all(txt(r, "a:Tx/a:TradVn") != "XOFF" for r in market)
    assert all(txt(r, "a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:Id") for r in deal)  # the firm decided
    # MTCH: two legs as well, no investment decision within the firm (the client decided).
    mtch = of_lei(MTCH_LEI)
    assert mtch and all(txt(r, "a:Tx/a:TradgCpcty") == "MTCH" for r in mtch)
    assert all(r.find("a:InvstmtDcsnPrsn", NS) is None for r in mtch)
    # The fund buys (AOTC, on venue); its manager is the buyer's decision maker (field 12).
    fund = of_lei(FUND_LEI)
    assert fund and all(txt(r, "a:Buyr/a:DcsnMakr/a:LEI") == MANAGER_LEI for r in fund)
    assert all(r.find("a:InvstmtDcsnPrsn", NS) is None for r in fund)
    # Sells: the flagging client's long sale SELL and short sale SESH; ACC1 (which does not
    # flag) UNDI. A CCP-cleared venue's counterparty is the CCP.
    short = of_lei(SHORT_LEI)
    assert {txt(r, "a:AddtlAttrbts/a:ShrtSellgInd") for r in short} == {"SELL", "SESH"}
    assert all(txt(r, "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == SHORT_LEI for r in short)
    acc1 = [r for r in of_lei("98450012DEMOACC1AM85") if r.find("a:Sellr", NS) is not None]
    assert {
        txt(r, "a:AddtlAttrbts/a:ShrtSellgInd")
        for r in acc1
        if txt(r, "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == "98450012DEMOACC1AM85"
    } == {"UNDI"}
    venue_side = [r for r in records if txt(r, "a:Tx/a:TradVn") in ("CEUX", "TRQX")]
    assert venue_side and all(
        CCP_LEI in (txt(r, "a:Buyr/a:AcctOwnr/a:Id/a:LEI"), txt(r, "a:Sellr/a:AcctOwnr/a:Id/a:LEI"))
        for r in venue_side
    )
    assert all(
        txt(r, "a:Tx/a:TradPlcMtchgId") for r in records if txt(r, "a:Tx/a:TradVn") != "XOFF"
    )
    assert orders


def test_the_days_rts24_records_hold_every_order_and_agree_with_rts22(
    day: tuple[Deployment, dict[str, str]],
) -> None:
    d, orders = day
    config = reveal_config(d.config())
    engine = make_engine(config.database_url)
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        records = order_records(
            engine,
            start,
            datetime.now(UTC),
            config.account_map(),
            config.firm.lei,
            venue_mics={v.name: v.mic for v in config.venues},
            people=config.person_map(),
        )
    finally:
        engine.dispose()
    by_cl = {r["client_order_id"]: r for r in records if r["event_type"] == "NEWO"}
    assert set(orders.values()) <= set(by_cl)
    assert by_cl[orders["deal_buy"]]["trading_capacity"] == "DEAL"
    assert by_cl[orders["mtch_buy"]]["trading_capacity"] == "MTCH"
    # Field 4 as RTS 22 field 57 names the firm's decision maker: her national id.
    assert by_cl[orders["deal_buy"]]["investment_decision_within_firm"] == (
        config.person_map()["1001"].national_id
    )
    assert by_cl[orders["fund_buy"]]["investment_decision_within_firm"] is None
