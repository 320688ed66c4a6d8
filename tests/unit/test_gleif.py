"""LEIs checked against an offline GLEIF extract (rule GLEIF): the executing entity must be
ISSUED (or pending a transfer or archival), a client may also be LAPSED, every LEI must be
in GLEIF and registered by the trading day; a record that fails is held naming the field,
the rest is filed. The golden copy's column names are read, and so are plain ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from qtinfra.errors import ConfigError
from qtinfra.reports.gleif import LeiRecord, lei_problem, load_extract
from qtinfra.reports.rts22 import generate_rts22
from tests.unit import test_rts22
from tests.unit.test_rts22 import (
    ACC1_LEI,
    CCP_LEI,
    DAY,
    FIRM_LEI,
    Journal,
    make_config,
    two_clients_two_venues,
)

engine = test_rts22.engine
journal = test_rts22.journal
out = test_rts22.out

GOLDEN = (
    "LEI,Entity.LegalName,Entity.EntityStatus,Registration.InitialRegistrationDate,"
    "Registration.RegistrationStatus\n"
)


def extract(tmp_path: Path, rows: dict[str, tuple[str, str]], header: str = GOLDEN) -> Path:
    """A GLEIF golden-copy CSV: LEI -> (status, initial registration date)."""
    path = tmp_path / "gleif.csv"
    lines = [header]
    for lei, (status, registered) in rows.items():
        if header == GOLDEN:
            lines.append(f'{lei},"Name of {lei}",ACTIVE,{registered}T08:00:00Z,{status}\n')
        else:
            lines.append(f"{lei},Name of {lei},{registered},{status}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def with_extract(out: Path, path: Path):  # type: ignore[no-untyped-def]
    config = make_config(out, schema_dir=None)
    return config.model_copy(
        update={"reports": config.reports.model_copy(update={"gleif_extract": path})}
    )


def test_statuses_by_field_and_registration_date() -> None:
    records = {
        "A": LeiRecord("A", "Firm", "ISSUED", None),
        "L": LeiRecord("L", "Client", "LAPSED", None),
        "R": LeiRecord("R", "Gone", "RETIRED", None),
        "N": LeiRecord("N", "New", "ISSUED", DAY.replace(day=3)),
    }
    assert lei_problem("A", 4, DAY, records) is None
    assert "needs ISSUED, PENDING_ARCHIVAL, PENDING_TRANSFER" in (
        lei_problem("L", 4, DAY, records) or ""
    )
    assert lei_problem("L", 7, DAY, records) is None  # a client may let its LEI lapse
    assert "RETIRED" in (lei_problem("R", 16, DAY, records) or "")
    assert "first registered on 2026-03-03, after the trading day" in (
        lei_problem("N", 7, DAY, records) or ""
    )
    assert lei_problem("X", 7, DAY, records) == "LEI X is not in the GLEIF extract"


def test_only_the_wanted_leis_are_kept_from_either_column_naming(tmp_path: Path) -> None:
    golden = extract(tmp_path, {FIRM_LEI: ("ISSUED", "2014-06-24"), "OTHER": ("ISSUED", "")})
    assert set(load_extract(golden, {FIRM_LEI})) == {FIRM_LEI}
    assert load_extract(golden, {FIRM_LEI})[FIRM_LEI].registered == DAY.replace(2014, 6, 24)
    plain = extract(
        tmp_path,
        {FIRM_LEI: ("LAPSED", "2014-06-24")},
        "LEI,LegalName,InitialRegistrationDate,RegistrationStatus\n",
    )
    assert load_extract(plain, {FIRM_LEI})[FIRM_LEI].status == "LAPSED"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,x\n")
    with pytest.raises(ConfigError, match="no LEI column"):
        load_extract(bad, {FIRM_LEI})
    with pytest.raises(ConfigError, match="gleif_extract"):
        load_extract(tmp_path / "missing.csv", {FIRM_LEI})


def test_a_record_whose_lei_gleif_refuses_is_held_and_the_rest_filed(
    engine: Engine, journal: Journal, out: Path, tmp_path: Path
) -> None:
    ids = two_clients_two_venues(journal)
    path = extract(
        tmp_path,
        {
            FIRM_LEI: ("ISSUED", "2014-06-24"),
            ACC1_LEI: ("LAPSED", "2015-01-01"),  # a lapsed client: still reportable
            CCP_LEI: ("RETIRED", "2015-01-01"),  # CEUX's CCP: its trades cannot be reported
        },
    )

    result = generate_rts22(with_extract(out, path), engine, DAY)

    assert set(result.new) == {ids["acc1_trqx"], ids["acc2"]}  # TRQX uses no CCP
    [held] = result.held
    assert (held.tx_id, held.rule) == (ids["acc1_ceux"], "GLEIF")
    assert held.field.startswith("16 ") and "GLEIF status RETIRED" in held.message


def test_an_executing_entity_whose_lei_lapsed_holds_every_record(
    engine: Engine, journal: Journal, out: Path, tmp_path: Path
) -> None:
    two_clients_two_venues(journal)
    path = extract(
        tmp_path,
        {
            FIRM_LEI: ("LAPSED", "2014-06-24"),
            ACC1_LEI: ("ISSUED", "2015-01-01"),
            CCP_LEI: ("ISSUED", "2015-01-01"),
        },
    )

    result = generate_rts22(with_extract(out, path), engine, DAY)

    assert result.path is None and result.new == ()
    assert {h.field.split(" ")[0] for h in result.held} == {"4", "6"}
