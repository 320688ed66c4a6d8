"""RTS 24 order records from the journal of a trading day (test_trail.trading_day): one
record per order event with the event code of Table 2 field 21 and the order-record fields,
as CSV a spreadsheet opens and as JSON with the same values."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from qtinfra.config import PersonRecord, QtinfraConfig
from qtinfra.reports.rts24 import (
    COLUMNS,
    FIELDNAMES,
    RECORDED,
    order_records,
    render,
    run_rts24,
    unresolved_codes,
    write_csv,
)
from qtinfra.reports.trail import parse_utc
from qtinfra.store.models import JournalRow
from tests.unit.test_trail import (
    ACC1_LEI,
    ACC2_NATIONAL_ID,
    ACCOUNTS,
    FIRM_LEI,
    MICS,
    T0,
    UTC_MICROS,
    Day,
    trading_day,
)

DAY_END = T0 + timedelta(days=1)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    path = tmp_path_factory.mktemp("rts24") / "journal.db"
    result = trading_day(f"sqlite:///{path}")
    yield result
    result.desk.engine.dispose()


@pytest.fixture(scope="module")
def records(day: Day) -> list[dict[str, Any]]:
    return order_records(day.desk.engine, T0, DAY_END, ACCOUNTS, FIRM_LEI, venue_mics=MICS)


def of(records: list[dict[str, Any]], order_id: str) -> list[dict[str, Any]]:
    """The client order's own events (not its transmissions to venues)."""
    return [r for r in records if r["order_id"] == order_id and r["child_order_id"] is None]


def sent_of(records: list[dict[str, Any]], order_id: str) -> list[dict[str, Any]]:
    """The client order's transmissions: its child orders sent to venues."""
    return [r for r in records if r["order_id"] == order_id and r["child_order_id"]]


def test_one_record_per_order_event_in_journal_order(
    day: Day, records: list[dict[str, Any]]
) -> None:
    with day.desk.engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.seq, JournalRow.payload)
            .where(JournalRow.kind == "ExecutionReport")
            .order_by(JournalRow.seq)
        ).all()
    recorded = [seq for seq, payload in rows if orjson.loads(payload)["exec_type"] in RECORDED]
    own = [r["sequence_number"] for r in records if r["child_order_id"] is None]
    assert own == recorded
    assert [r["sequence_number"] for r in records] == sorted(r["sequence_number"] for r in records)


def test_every_child_order_sent_is_a_transmission_record_linked_to_its_client_order(
    day: Day, records: list[dict[str, Any]]
) -> None:
    with day.desk.engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.seq, JournalRow.payload)
            .where(JournalRow.kind == "ChildOrderSent")
            .order_by(JournalRow.seq)
        ).all()
    children = {seq: orjson.loads(payload) for seq, payload in rows}
    transmissions = [r for r in records if r["child_order_id"]]
    assert [r["sequence_number"] for r in transmissions] == list(children)
    for r in transmissions:
        child = children[r["sequence_number"]]
        assert (r["child_order_id"], r["order_id"], r["event_type"]) == (
            child["child_id"],
            child["order_id"],
            "NEWO",
        )
        assert r["date_time"] == child["transact_time"].replace("+00:00", "Z")
        assert r["initial_quantity"] == child["quantity"]
        assert r["segment_mic"] == MICS[child["venue"]]
    c1 = day.order_ids["C1"]
    assert sent_of(records, c1) and all(r["account"] == "ACC1" for r in sent_of(records, c1))


def test_event_codes_follow_each_orders_life(day: Day, records: list[dict[str, Any]]) -> None:
    codes = {
        name: [r["event_type"] for r in of(records, oid)] for name, oid in day.order_ids.items()
    }
    assert codes == {
        "C1": ["NEWO", "REME", "PARF", "CAME"],  # replaced, part-filled, cancelled by the client
        "C10": ["NEWO", "PARF", "FILL"],
        "K1": ["NEWO", "PARF", "CAMO"],  # the venue cancelled an IOC's remainder
        "K2": ["NEWO", "EXPI"],
    }
    unbooked = [r for r in records if r["order_id"] is None]
    assert [(r["client_order_id"], r["event_type"]) for r in unbooked] == [
        ("C11", "REMO"),
        ("C1", "REMO"),
    ]


def test_client_and_firm_identification(day: Day, records: list[dict[str, Any]]) -> None:
    c1 = of(records, day.order_ids["C1"])[0]
    assert (c1["submitting_entity_id"], c1["client_id"], c1["account"]) == (
        FIRM_LEI,
        ACC1_LEI,
        "ACC1",
    )
    assert (
        c1["investment_decision_short_code"],
        c1["execution_short_code"],
        c1["trading_capacity"],
    ) == ("1001", "2001", "AOTC")
    k1 = of(records, day.order_ids["K1"])[0]
    assert (k1["client_id"], k1["trading_capacity"], k1["execution_short_code"]) == (
        ACC2_NATIONAL_ID,
        "DEAL",
        "2002",
    )
    assert all(r["dea"] == "false" and r["liquidity_provision"] == "false" for r in records)


def test_fields_4_and_5_are_the_long_codes_rts22_reports_with_the_short_codes_beside(
    day: Day,
) -> None:
    decider = PersonRecord(
        code="1001",
        national_id="GBAB123456C",
        country="GB",
        first_names="Ada",
        surname="Decider",
        birth_date=date(1980, 1, 2),
    )
    got = order_records(
        day.desk.engine, T0, DAY_END, ACCOUNTS, FIRM_LEI, venue_mics=MICS, people={"1001": decider}
    )
    c1 = of(got, day.order_ids["C1"])[0]
    # A person of the firm by national identifier (RTS 22 field 57); an algorithm (2001 is
    # no person) by its code (field 59).
    assert (c1["investment_decision_within_firm"], c1["investment_decision_short_code"]) == (
        "GBAB123456C",
        "1001",
    )
    assert (c1["execution_within_firm"], c1["execution_short_code"]) == ("2001", "2001")
    child = sent_of(got, day.order_ids["C1"])[0]
    assert child["investment_decision_within_firm"] == "GBAB123456C"


def test_a_code_without_a_long_one_is_left_blank_and_an_algorithm_is_never_a_person(
    day: Day, records: list[dict[str, Any]]
) -> None:
    # Without people.toml, a natural person (PartyRoleQualifier 24) has no long code: field
    # 4 is blank, never the short code passed off as a long one; the algorithm keeps its code.
    c1 = of(records, day.order_ids["C1"])[0]
    assert (c1["investment_decision_within_firm"], c1["investment_decision_short_code"]) == (
        None,
        "1001",
    )
    assert c1["execution_within_firm"] == "2001"
    assert "1001" in unresolved_codes(records) and "2001" not in unresolved_codes(records)
    # An algorithm whose code happens to be a person's code is still the algorithm: the
    # qualifier decides, as in RTS 22 field 59.
    namesake = PersonRecord(
        code="2001",
        national_id="GBZZ999999Z",
        country="GB",
        first_names="Not",
        surname="Analgorithm",
        birth_date=date(1970, 1, 1),
    )
    got = order_records(
        day.desk.engine, T0, DAY_END, ACCOUNTS, FIRM_LEI, venue_mics=MICS, people={"2001": namesake}
    )
    assert of(got, day.order_ids["C1"])[0]["execution_within_firm"] == "2001"
    # The qualifiers of a message rejected before booking are read from its Parties: 2009
    # is an algorithm (22), 1009 a person (24) nobody listed.
    c11 = next(r for r in got if r["order_id"] is None and r["client_order_id"] == "C11")
    assert (c11["investment_decision_within_firm"], c11["execution_within_firm"]) == (
        None,
        "2009",
    )


def test_an_order_rejected_before_booking_carries_the_data_of_its_message(
    records: list[dict[str, Any]],
) -> None:
    c11, dup = [r for r in records if r["order_id"] is None]
    # C11's NewOrderSingle named its own decision maker, trader and capacity.
    assert (
        c11["investment_decision_short_code"],
        c11["execution_short_code"],
        c11["trading_capacity"],
    ) == ("1009", "2009", "DEAL")
    assert (c11["client_id"], c11["instrument_id"], c11["segment_mic"]) == (ACC1_LEI, None, "XOFF")
    assert "unknown instrument" in c11["text"]
    # The duplicate's message named none: the Account's defaults, as the gateway applies them.
    assert (
        dup["investment_decision_short_code"],
        dup["execution_short_code"],
        dup["trading_capacity"],
    ) == ("1001", "2001", "AOTC")


def test_fills_carry_venue_price_quantities_and_the_venues_transaction_id(
    day: Day, records: list[dict[str, Any]]
) -> None:
    fills = [r for r in of(records, day.order_ids["C10"]) if r["event_type"] in ("PARF", "FILL")]
    assert [
        (
            r["segment_mic"],
            r["traded_quantity"],
            r["transaction_price"],
            r["remaining_quantity"],
            r["executed_quantity"],
            r["trading_venue_transaction_id"],
        )
        for r in fills
    ] == [
        ("CEUX", "60", "190.00", "40", "60", day.venue_exec_ids["C10"][0]),
        ("TRQX", "40", "190.01", "0", "100", day.venue_exec_ids["C10"][1]),
    ]
    new = of(records, day.order_ids["C10"])[0]
    assert (new["segment_mic"], new["traded_quantity"], new["transaction_price"]) == (
        "XOFF",
        None,
        None,
    )


def test_order_terms_and_codes(day: Day, records: list[dict[str, Any]]) -> None:
    new, replaced, *_ = of(records, day.order_ids["C1"])
    assert (
        new["initial_quantity"],
        new["limit_price"],
        replaced["initial_quantity"],
        replaced["limit_price"],
    ) == ("100", "189.50", "120", "189.60")
    assert (replaced["client_order_id"], replaced["orig_client_order_id"]) == ("C2", "C1")
    assert (
        new["order_type"],
        new["order_type_classification"],
        new["validity_period"],
        new["buy_sell"],
    ) == ("LIMIT", "LMTO", "DAVY", "BUYI")
    assert (
        new["price_currency"],
        new["price_notation"],
        new["quantity_notation"],
        new["instrument_id"],
    ) == ("USD", "MONE", "UNIT", "US0378331005")
    assert new["short_selling_indicator"] is None
    k1 = of(records, day.order_ids["K1"])[0]
    # A plain sell by an account that does not flag its short sales: UNDI (RTS 22 rule SHORT).
    assert (k1["validity_period"], k1["buy_sell"], k1["short_selling_indicator"]) == (
        "IOCV",
        "SELL",
        "UNDI",
    )
    assert all(UTC_MICROS.match(r["date_time"]) for r in records)
    assert {r["date_of_receipt"] for r in records} == {"2026-03-02"}


def test_the_window_is_half_open_on_transact_time(day: Day, records: list[dict[str, Any]]) -> None:
    c1 = of(records, day.order_ids["C1"])
    cut = c1[2]["date_time"]  # its fill, after the New and the Replaced
    at = parse_utc(cut)
    before = order_records(day.desk.engine, T0, at, ACCOUNTS, FIRM_LEI, venue_mics=MICS)
    after = order_records(day.desk.engine, at, DAY_END, ACCOUNTS, FIRM_LEI, venue_mics=MICS)
    assert before + after == records
    assert after[0]["date_time"] == cut
    # A later record still knows the order's data from before the window.
    later = [r for r in after if r["order_id"] == day.order_ids["C1"]]
    assert later and all(r["investment_decision_short_code"] == "1001" for r in later)
    assert all(r["date_of_receipt"] == "2026-03-02" for r in later)


def test_csv_and_json_hold_the_same_records(records: list[dict[str, Any]]) -> None:
    rows = list(csv.DictReader(io.StringIO(render(records, "csv"))))
    objects = json.loads(render(records, "json"))
    assert [list(r) for r in rows[:1]] == [list(FIELDNAMES)]
    assert len(rows) == len(objects) == len(records)
    for row, obj in zip(rows, objects, strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in obj.items()}


def test_csv_is_rfc4180_and_neutralises_formulas_in_client_text() -> None:
    record = dict.fromkeys(FIELDNAMES)
    record |= {
        "sequence_number": 7,
        "client_order_id": "=HYPERLINK(1)",
        "text": 'says "no", twice',
        "limit_price": "-1.5",
    }
    out = io.StringIO()
    assert write_csv([record], out) == 1
    text = out.getvalue()
    assert text.endswith("\r\n") and text.count("\r\n") == 2
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["client_order_id"], row["text"], row["limit_price"]) == (
        "'=HYPERLINK(1)",
        'says "no", twice',
        "-1.5",
    )


def test_every_column_names_its_rts24_field_and_source() -> None:
    assert [c.name for c in COLUMNS] == list(FIELDNAMES)
    numbered = [c.field for c in COLUMNS if c.field is not None]
    assert len(numbered) == len(set(numbered))
    assert {3, 4, 5, 7, 9, 10, 16, 18, 20, 21, 24, 28, 29, 32, 36, 37, 39, 48} <= set(numbered)
    assert all(c.title and c.source for c in COLUMNS)


def test_run_rts24_writes_a_csv_file_with_a_bom_and_stdout_without(
    day: Day, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = QtinfraConfig(
        gateway={"database_url": day.desk.url},  # type: ignore[arg-type]
        accounts=tuple(ACCOUNTS.values()),
    )
    out = tmp_path / "reports" / "rts24.csv"
    assert run_rts24(config, T0, DAY_END, "csv", out) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf" + b"sequence_number,")
    assert "order records" in capsys.readouterr().out
    assert run_rts24(config, T0, DAY_END, "csv", None) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("sequence_number,") and printed.encode() == data[3:]
    assert run_rts24(config, T0, DAY_END, "json", tmp_path / "r.json") == 0
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(
        render(order_records(day.desk.engine, T0, DAY_END, ACCOUNTS, FIRM_LEI), "json")
    )


def test_run_rts24_refuses_bad_arguments(day: Day, capsys: pytest.CaptureFixture[str]) -> None:
    config = QtinfraConfig(gateway={"database_url": day.desk.url})  # type: ignore[arg-type]
    assert run_rts24(config, DAY_END, T0, "csv", None) == 2
    assert "is not after" in capsys.readouterr().err
    assert run_rts24(config, T0, DAY_END, "xml", None) == 2


def test_an_empty_window_is_just_the_header(day: Day) -> None:
    empty = order_records(
        day.desk.engine, T0 - timedelta(days=1), T0, ACCOUNTS, FIRM_LEI, venue_mics=MICS
    )
    assert empty == [] and render(empty, "csv") == ",".join(FIELDNAMES) + "\r\n"
    assert render(empty, "json").strip() == "[]"


def test_a_sealed_national_id_is_revealed_for_the_report(day: Day, tmp_path: Path) -> None:
    from qtinfra.store.privacy import load_or_create_data_key, seal

    key_path = tmp_path / "personal-data.key"
    key = load_or_create_data_key(key_path)
    sealed = ACCOUNTS["ACC2"].model_copy(update={"national_id": seal(key, ACC2_NATIONAL_ID)})
    config = QtinfraConfig(
        gateway={"database_url": day.desk.url},  # type: ignore[arg-type]
        privacy={"data_key": key_path},  # type: ignore[arg-type]
        accounts=(ACCOUNTS["ACC1"], sealed),
    )
    out = tmp_path / "rts24.json"
    assert run_rts24(config, T0, DAY_END, "json", out) == 0
    k1 = next(r for r in json.loads(out.read_text()) if r["order_id"] == day.order_ids["K1"])
    assert k1["client_id"] == ACC2_NATIONAL_ID
    assert "fernet:" not in out.read_text()


def test_an_event_that_cannot_be_recorded_is_held_back_and_the_others_are_kept(
    day: Day, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qtinfra.reports import rts24

    real = rts24._record
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("field larger than field limit")
        return real(*args, **kwargs)

    monkeypatch.setattr(rts24, "_record", flaky)
    held: list[str] = []
    got = order_records(day.desk.engine, T0, DAY_END, ACCOUNTS, FIRM_LEI, held)
    assert len(got) == len(records) - 1
    assert len(held) == 1 and "field larger than field limit" in held[0]
    with pytest.raises(ValueError):  # without a list to hold them in, it is an error
        calls["n"] = 0
        order_records(day.desk.engine, T0, DAY_END, ACCOUNTS, FIRM_LEI, venue_mics=MICS)
