"""The RTS 22 business rules (reports/rts22_rules.py): each one holds a record back with its
id, and `reports check` lists the findings without filing anything."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from qtinfra.config import CalendarConfig, VenueConfig
from qtinfra.domain.commands import Party
from qtinfra.reports.rts22 import generate_rts22
from qtinfra.reports.rts22_check import check_rts22
from qtinfra.reports.rts22_rules import RULES, national_id_problem
from tests.unit.test_rts22 import (
    CCP_LEI,
    DAY,
    FIRM_LEI,
    FUND_LEI,
    MANAGER_LEI,
    T0,
    Journal,
    engine,
    journal,
    make_config,
    out,
    parse,
    record,
    requires_schemas,
    text,
)

__all__ = ["engine", "journal", "out"]  # the fixtures, shared with test_rts22


def held_rules(result: object) -> set[tuple[str | None, str | None]]:
    return {(p.tx_id, p.rule) for p in result.held}  # type: ignore[attr-defined]


def test_every_rule_names_its_fields_and_source() -> None:
    assert set(RULES) == {
        "TVTIC",
        "RECON",
        "GLEIF",
        "CCP",
        "VENUE",
        "DECISION",
        "SHORT",
        "HOURS",
        "NATID",
    }
    for rule in RULES.values():
        assert rule.fields and rule.source and rule.text


@requires_schemas
def test_a_venue_fill_without_the_venues_transaction_code_is_held(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    good = journal.fill("O1", "10", "190")
    bare = journal.fill("O1", "10", "190", venue_trade_id=None)

    result = generate_rts22(make_config(out), engine, DAY)

    assert held_rules(result) == {(bare.exec_id, "TVTIC")}
    assert result.new == (good.exec_id,)
    assert result.path is not None
    assert text(record(parse(result.path), good.exec_id), "a:Tx/a:TradPlcMtchgId") == (
        good.venue_trade_id
    )


@requires_schemas
def test_the_market_side_is_the_ccp_or_the_mic_and_a_venue_saying_neither_is_held(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    cleared = journal.fill("O1", "10", "190", mic="CEUX")
    uncleared = journal.fill("O1", "10", "190", mic="TRQX")
    config = make_config(out)
    result = generate_rts22(config, engine, DAY)
    assert result.path is not None
    root = parse(result.path)
    assert text(record(root, cleared.exec_id), "a:Sellr/a:AcctOwnr/a:Id/a:LEI") == CCP_LEI
    assert text(record(root, uncleared.exec_id), "a:Sellr/a:AcctOwnr/a:Id/a:MIC") == "TRQX"

    silent = config.model_copy(
        update={
            "venues": (
                VenueConfig(name="CBOE", mic="CEUX", port=9881),
                VenueConfig(name="TRQ", mic="TRQX", port=9882, ccp="none"),
            )
        }
    )
    found = check_rts22(silent, engine, DAY)
    assert {(p.tx_id, p.rule) for p in found.problems} == {(cleared.exec_id, "CCP")}


def test_a_venue_ccp_must_be_none_or_a_valid_lei() -> None:
    with pytest.raises(ValueError, match="ccp"):
        VenueConfig(name="CBOE", mic="CEUX", port=9881, ccp="NOT-AN-LEI")


@requires_schemas
def test_field_57_only_when_the_firm_decided(engine: Engine, journal: Journal, out: Path) -> None:
    journal.new_order("CLIENT", "ACC3", decision_maker=None)  # the client decides itself
    client = journal.fill("CLIENT", "10", "190")
    journal.new_order("FUND", "FUND1", decision_maker=None)  # the fund's manager decides
    fund = journal.fill("FUND", "10", "190")
    journal.new_order("ALGO", "ACC1", decision_maker=Party("ALGO7", "P", 122, 22), capacity="R")
    algo = journal.fill("ALGO", "10", "190")
    journal.new_order("DEAL", "ACC3", decision_maker=None, capacity="P")
    deal = journal.fill("DEAL", "10", "190")

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.path is not None
    root = parse(result.path)
    mine = record(root, client.exec_id)
    assert text(mine, "a:InvstmtDcsnPrsn") is None
    assert text(mine, "a:Buyr/a:DcsnMakr") is None
    managed = record(root, fund.exec_id)
    assert text(managed, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == FUND_LEI  # the fund buys
    assert text(managed, "a:Buyr/a:DcsnMakr/a:LEI") == MANAGER_LEI  # its manager decided
    assert text(managed, "a:InvstmtDcsnPrsn") is None
    theirs = record(root, algo.exec_id + "C")  # MTCH: the client side
    assert text(theirs, "a:InvstmtDcsnPrsn/a:Algo") == "ALGO7"
    assert text(theirs, "a:Buyr/a:DcsnMakr/a:LEI") == FIRM_LEI
    # Dealing on own account needs the firm's decision maker: held, rule DECISION.
    assert (deal.exec_id, "DECISION") in held_rules(result)


@requires_schemas
def test_a_trade_outside_the_venues_hours_is_held(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    inside = journal.fill("O1", "10", "190", when=T0.replace(hour=10))
    outside = journal.fill("O1", "10", "190", when=T0.replace(hour=20))
    config = make_config(out)
    config = config.model_copy(
        update={
            "calendars": (
                *config.calendars,
                CalendarConfig(name="DAYTIME", timezone="UTC", open=time(8), close=time(16, 30)),
            ),
            "venues": (
                VenueConfig(name="CBOE", mic="CEUX", port=9881, ccp=CCP_LEI, calendar="DAYTIME"),
                VenueConfig(name="TRQ", mic="TRQX", port=9882, ccp="none"),
            ),
        }
    )

    result = generate_rts22(config, engine, DAY)

    assert held_rules(result) == {(outside.exec_id, "HOURS")}
    assert result.new == (inside.exec_id,)


@pytest.mark.parametrize(
    ("national_id", "scheme", "wrong"),
    [
        ("GBAB123456C", "NIDN", False),
        ("GBQQ123456C", "NIDN", True),  # Q is never a NINO's first letter
        ("GBCD654321A", "NIDN", True),  # nor D its second
        ("ITRSSMRA85T10A562S", "NIDN", False),  # codice fiscale
        ("ITRSSMRA85T10A562", "NIDN", True),
        ("ES12345678Z", "NIDN", False),
        ("FR19790912PIERRMARTI", "CONCAT", False),
        ("FR1979091PIERRMARTI", "CONCAT", True),
        ("FR19790912PIERR#MART", None, True),  # not a CONCAT, and not a national form
        ("DE123", "CCPT", False),  # a passport number: not checked beyond its characters
        ("123456", "NIDN", True),  # no country code
    ],
)
def test_national_identifiers_have_their_countrys_form(
    national_id: str, scheme: str | None, wrong: bool
) -> None:
    assert (national_id_problem(national_id, scheme) is not None) is wrong


@requires_schemas
def test_reports_check_lists_every_finding_and_writes_nothing(
    engine: Engine, journal: Journal, out: Path
) -> None:
    journal.new_order("O1", "ACC1")
    journal.fill("O1", "10", "190")
    bare = journal.fill("O1", "10", "190", venue_trade_id=None)

    result = check_rts22(make_config(out), engine, DAY)

    assert (result.fills, result.passing) == (2, 1)
    assert [(p.tx_id, p.rule) for p in result.problems] == [(bare.exec_id, "TVTIC")]
    lines = "\n".join(result.lines())
    assert "TVTIC: 1 finding" in lines and RULES["TVTIC"].source in lines
    assert not out.exists() or not any(out.rglob("*.xml"))
