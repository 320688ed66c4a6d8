"""RTS 22 transaction reports on PostgreSQL: the same journal scenarios as
tests/unit/test_rts22.py (which runs them on SQLite), on a database of the test's own made by
the real migrations: a day of two clients on two venues validates and carries the right
values, a second run reports nothing twice, a correction gives CANC + NEWT, a transaction
the schema refuses is held back, leaving neither a file nor a record of it, and one the
authority's feedback rejected goes out again as NEWT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from qtinfra.config import PROJECT_ROOT
from qtinfra.reports.iso20022 import load_schema, validate
from qtinfra.reports.rts22 import generate_rts22, run_rts22
from qtinfra.store.db import make_engine, migrate
from tests.unit.test_rts22 import (
    ACC1_LEI,
    ACC1_LEI_CORRECTED,
    DAY,
    FIRM_LEI,
    SCHEMA_DIR,
    Journal,
    make_config,
    parse,
    record,
    records_in,
    reported_rows,
    requires_schemas,
    text,
    two_clients_two_venues,
)

pytestmark = requires_schemas


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def journal(engine: Engine) -> Iterator[Journal]:
    j = Journal(engine)
    yield j
    j.close()


def test_migration_creates_the_table_of_what_was_reported(engine: Engine) -> None:
    columns = {c["name"]: c for c in inspect(engine).get_columns("rts22_reported")}
    assert set(columns) == {
        "id",
        "tx_id",
        "trading_day",
        "content_sha256",
        "file_name",
        "reported_at",
        "status",
    }
    assert str(columns["trading_day"]["type"]) == "DATE"


def test_two_clients_on_two_venues_then_a_correction_on_postgresql(
    engine: Engine, journal: Journal, tmp_path: Path
) -> None:
    ids = two_clients_two_venues(journal)
    out = tmp_path / "reports"
    schemas = load_schema((PROJECT_ROOT / SCHEMA_DIR).resolve())

    first = generate_rts22(make_config(out), engine, DAY)

    assert first.path is not None and first.new == tuple(ids.values())
    root = parse(first.path)
    assert validate(root, schemas) == []
    acc1 = record(root, ids["acc1_ceux"])
    assert text(acc1, "a:ExctgPty") == FIRM_LEI
    assert text(acc1, "a:Buyr/a:AcctOwnr/a:Id/a:LEI") == ACC1_LEI
    assert text(acc1, "a:Tx/a:TradDt") == "2026-03-02T09:30:00.654321Z"
    assert text(acc1, "a:Tx/a:Qty/a:Unit") == "300"
    assert text(acc1, "a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt") == "190.01"
    acc2 = record(root, ids["acc2"])
    assert text(acc2, "a:Sellr/a:AcctOwnr/a:Id/a:Prsn/a:Othr/a:Id") == "GBJE123456C"
    assert text(acc2, "a:ExctgPrsn/a:Prsn/a:Othr/a:Id") == "GBCE654321A"

    assert generate_rts22(make_config(out), engine, DAY).path is None  # nothing twice

    corrected = generate_rts22(make_config(out, acc1_lei=ACC1_LEI_CORRECTED), engine, DAY)

    moved = (ids["acc1_ceux"], ids["acc1_trqx"])
    assert corrected.path is not None and corrected.path.name == "rts22-2026-03-02-2.xml"
    assert corrected.cancelled == tuple(sorted(moved))
    assert corrected.new == moved
    assert corrected.unchanged == (ids["acc2"],)
    root = parse(corrected.path)
    assert validate(root, schemas) == []
    assert records_in(root) == [("Cxl", tx) for tx in sorted(moved)] + [("New", tx) for tx in moved]
    rows = reported_rows(engine)
    assert [(tx, status) for tx, status, _, _ in rows] == [
        *((tx, "NEWT") for tx in ids.values()),
        *((tx, "CANC") for tx in sorted(moved)),
        *((tx, "NEWT") for tx in moved),
    ]
    assert {day for _, _, _, day in rows} == {DAY}


def test_held_transaction_leaves_no_file_and_no_record_on_postgresql(
    engine: Engine, journal: Journal, tmp_path: Path
) -> None:
    journal.new_order("O1", "ACC1")
    bad = journal.fill("O1", "10", "190", isin="US03783310")
    out = tmp_path / "reports"

    result = generate_rts22(make_config(out), engine, DAY)

    [problem] = result.held
    assert problem.tx_id == bad.exec_id
    assert "field 41 Instrument identification code" in str(problem)
    assert result.path is None
    assert not (out / "2026-03-02").exists() or not any((out / "2026-03-02").iterdir())
    assert reported_rows(engine) == []


def test_run_rts22_against_the_configured_postgresql_database(
    pg_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QTINFRA_DATABASE_URL", raising=False)  # the config names the db
    engine = make_engine(pg_url)
    migrate(engine)
    journal = Journal(engine)
    two_clients_two_venues(journal)
    journal.close()
    engine.dispose()
    base = make_config(tmp_path / "reports")
    config = base.model_copy(
        update={"gateway": base.gateway.model_copy(update={"database_url": pg_url})}
    )

    assert run_rts22(config, DAY, None) == 0

    printed = capsys.readouterr().out
    assert "rts22-2026-03-02-1.xml" in printed
    assert "3 NEWT, 0 CANC, 0 unchanged" in printed
    assert "validated against" in printed


def test_the_authoritys_feedback_on_postgresql(
    engine: Engine, journal: Journal, tmp_path: Path
) -> None:
    from qtinfra.reports.feedback import parse_feedback, record_feedback
    from tests.unit.test_rts22_feedback import CON_070, advice

    ids = two_clients_two_venues(journal)
    out = tmp_path / "reports"
    generate_rts22(make_config(out), engine, DAY)
    feedback = advice("RTS22-2026-03-02-1", [(ids["acc2"], "RJCT", [CON_070])])
    assert record_feedback(engine, parse_feedback(feedback), "auth031.xml") == []

    result = generate_rts22(make_config(out), engine, DAY)

    assert result.new == (ids["acc2"],) and result.cancelled == ()
    assert records_in(parse(result.path)) == [("New", ids["acc2"])]
