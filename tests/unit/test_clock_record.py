"""The clock record of a period (`qtinfra audit clock`, reports/clocks.py), read back from a
journal the journal writer wrote: clock.status rows a minute apart, FIX rows between them,
a reading outside its limit, and stretches where the readings stopped."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from qtinfra.config import QtinfraConfig
from qtinfra.ops import clock
from qtinfra.reports.clocks import clock_record, render_text, run_clock_record, to_json
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SYNCED = "C0000201,192.0.2.1,3,1772443800.1,0.000012345,0.0,0.000023456,-12.345,0.001,0.012,0.001234567,0.000345678,64.2,Normal"
WIDE = SYNCED.replace("0.000345678", "0.000900000")  # bound 1,529.6285 µs: outside 1 ms


class Journal:
    """A journal on SQLite, written by the real writer at times the test chooses."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path / 'qtinfra.db'}"
        self.engine: Engine = make_engine(self.url)
        migrate(self.engine)
        self.now = T0
        self.writer = JournalWriter(self.engine, lambda: self.now, lambda exc: None)
        self.writer.open()

    def reading(self, at: timedelta, chrony_line: str = SYNCED, limit: int = 1000) -> None:
        self.now = T0 + at
        status = clock.parse_chrony_tracking(chrony_line)
        self.writer.record(clock.JOURNAL_KIND, clock.journal_payload(status, limit, False))
        self.writer.write([])

    def message(self, at: timedelta) -> None:
        self.now = T0 + at
        self.writer.record_message(
            "fix.in", "FIX.4.4:QTGW->CLIENT1", "8=FIX.4.4\x0135=0\x01", self.now
        )
        self.writer.write([])


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_readings_every_minute_within_the_limit_cover_every_row(journal: Journal) -> None:
    for m in range(5):
        journal.reading(minutes(m))
        journal.message(minutes(m) + timedelta(seconds=30))
    record = clock_record(journal.engine, T0, T0 + minutes(5), 60)
    assert len(record.readings) == 5
    assert record.outside == [] and record.gaps == []
    assert record.ok
    text = render_text(record)
    assert text.startswith(
        "clock record 2026-03-02T09:00:00.000000Z .. 2026-03-02T09:05:00.000000Z: 5 readings"
    )
    assert "  sources: chrony 5\n" in text
    assert "  synchronised 5, unsynchronised 0, unknown 0; within the limit 5 of 5\n" in text
    assert "  largest max error 975.3065 µs at 2026-03-02T09:00:00.000000Z\n" in text
    assert text.endswith(
        "every reading showed the clock within its limit, and every row is covered\n"
    )


def test_a_reading_outside_its_limit_is_named_with_why(journal: Journal) -> None:
    journal.reading(minutes(0))
    journal.reading(minutes(1), WIDE)
    journal.reading(minutes(2))
    record = clock_record(journal.engine, T0, T0 + minutes(3), 60)
    assert [r.ts for r in record.outside] == [T0 + minutes(1)]
    assert not record.ok
    text = render_text(record)
    assert (
        "OUTSIDE: 2026-03-02T09:01:00.000000Z seq 2 chrony synchronised: max error "
        "1,529.6285 µs exceeds 1,000 µs (limit 1,000 µs)\n  chrony: synchronised" in text
    )
    assert "largest max error 1,529.6285 µs at 2026-03-02T09:01:00.000000Z" in text


def test_rows_far_from_any_reading_are_a_gap_and_downtime_is_not(journal: Journal) -> None:
    journal.message(minutes(-5))  # before the first reading: no clock record for it
    journal.reading(minutes(0))
    journal.reading(minutes(1))
    # The readings stop for 10 minutes while messages go on.
    for m in (3, 5, 7):
        journal.message(minutes(m))
    journal.reading(minutes(11))
    # The gateway is down for an hour: nothing journaled, nothing to cover.
    journal.reading(minutes(71))
    journal.message(minutes(75))  # after the last reading, two readings missing
    record = clock_record(journal.engine, T0 - minutes(10), T0 + minutes(80), 60)
    assert [(g.start, g.end, g.rows) for g in record.gaps] == [
        (T0 - minutes(5), T0 - minutes(5), 1),
        (T0 + minutes(3), T0 + minutes(7), 3),
        (T0 + minutes(75), T0 + minutes(75), 1),
    ]
    assert (
        "GAP: 3 journal rows from 2026-03-02T09:03:00.000000Z to "
        "2026-03-02T09:07:00.000000Z with no clock reading within 90 s" in render_text(record)
    )
    # A message 90 s or less from a reading is covered: one missed reading is tolerated.
    assert clock_record(journal.engine, T0, T0 + minutes(2), 60).gaps == []


def test_a_period_with_rows_and_no_reading_is_one_gap(journal: Journal) -> None:
    journal.message(minutes(1))
    journal.message(minutes(2))
    record = clock_record(journal.engine, T0, T0 + minutes(3), 60)
    assert record.readings == []
    assert [(g.rows) for g in record.gaps] == [2]
    assert not record.ok


def test_the_json_form_lists_every_reading_with_its_journal_seq(journal: Journal) -> None:
    journal.reading(minutes(0))
    out = to_json(clock_record(journal.engine, T0, T0 + minutes(1), 60))
    assert out["ok"] is True
    (reading,) = out["readings"]
    assert reading["seq"] == 1
    assert reading["ts"] == "2026-03-02T09:00:00.000000Z"
    assert reading["source"] == "chrony"
    assert reading["max_error_us"] == "975.3065"
    assert reading["within"] is True
    assert out["gaps"] == []


def test_the_command_exits_1_on_a_finding_and_0_when_all_is_within(
    journal: Journal, capsys: pytest.CaptureFixture[str]
) -> None:
    config = QtinfraConfig()
    config = config.model_copy(
        update={"gateway": config.gateway.model_copy(update={"database_url": journal.url})}
    )
    journal.reading(minutes(0))
    assert run_clock_record(config, T0, T0 + minutes(1), False) == 0
    assert "every reading showed the clock within its limit" in capsys.readouterr().out
    journal.reading(minutes(1), WIDE)
    assert run_clock_record(config, T0, T0 + minutes(2), True) == 1
    out = json.loads(capsys.readouterr().out)
    assert [r["within"] for r in out["readings"]] == [True, False]
    assert run_clock_record(config, T0 + minutes(5), T0 + minutes(6), False) == 0  # nothing
    assert "nothing was journaled in this period" in capsys.readouterr().out
    assert run_clock_record(config, T0, T0, False) == 2
    assert "--to must be after --from" in capsys.readouterr().err


def test_qtinfra_audit_clock_reads_the_database_it_is_given(journal: Journal) -> None:
    journal.reading(minutes(0))
    done = subprocess.run(
        [
            sys.executable, "-m", "qtinfra.cli", "audit", "clock", "--from", "2026-03-02",
            "--to", "2026-03-02T09:01", "--database-url", journal.url,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 reading (journal rows 1..1)" in done.stdout
