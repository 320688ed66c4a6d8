"""The daily report run: the signed manifest, and which missed days a start catches up."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qtinfra.config import QtinfraConfig, ReportsConfig
from qtinfra.reports.daily import (
    MANIFEST,
    day_dir,
    missed_days,
    run_daily,
    verify_manifest,
    write_manifest,
)

DAY = date(2026, 3, 2)


def config(tmp_path: Path) -> QtinfraConfig:
    return QtinfraConfig(
        root=tmp_path,
        reports=ReportsConfig(out_dir=tmp_path / "reports", daily_utc=time(22, 30)),
    )


def test_the_manifest_lists_every_file_with_its_hash_and_rows_and_is_signed(
    tmp_path: Path,
) -> None:
    key = Ed25519PrivateKey.generate()
    folder = tmp_path / DAY.isoformat()
    folder.mkdir()
    (folder / "rts22-2026-03-02-1.xml").write_text(
        "<a><Tx><New><TxId>A</TxId><Tx/></New></Tx><Tx><Cxl><TxId>B</TxId></Cxl></Tx></a>"
    )
    (folder / "rts24-2026-03-02.csv").write_text('h1,h2\r\n1,"a,b"\r\n2,c\r\n')
    write_manifest(folder, DAY, key)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["trading_day"] == "2026-03-02"
    assert [(f["file"], f["rows"]) for f in manifest["files"]] == [
        ("rts22-2026-03-02-1.xml", 2),
        ("rts24-2026-03-02.csv", 2),
    ]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert verify_manifest(folder, key.public_key()) == []
    (folder / "rts24-2026-03-02.csv").write_text("h1,h2\r\n")
    assert verify_manifest(folder, key.public_key()) == [
        f"{folder / 'rts24-2026-03-02.csv'}: changed since the manifest was signed"
    ]
    other = Ed25519PrivateKey.generate()
    assert "signature does not verify" in verify_manifest(folder, other.public_key())[0]


def test_run_daily_writes_the_reports_then_the_manifest(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = Ed25519PrivateKey.generate()

    def rts22(c: QtinfraConfig, d: date, out: Path) -> int:
        (out / f"rts22-{d}-1.xml").write_text("<Tx><New><TxId>A</TxId></New></Tx>")
        return 0

    def rts24(c: QtinfraConfig, d: date, out: Path) -> int:
        (out / f"rts24-{d}.csv").write_text("a\r\n1\r\n")
        return 0

    summary = run_daily(cfg, DAY, key, rts22, rts24)
    assert summary["ok"]
    assert (day_dir(cfg, DAY) / MANIFEST).exists()


def test_a_failed_report_leaves_the_day_without_a_manifest_so_it_runs_again(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    summary = run_daily(
        cfg, DAY, Ed25519PrivateKey.generate(), lambda c, d, o: 1, lambda c, d, o: 0
    )
    assert not summary["ok"]
    assert not (day_dir(cfg, DAY) / MANIFEST).exists()
    now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert DAY in missed_days(cfg, now, since=DAY)


def test_missed_days_are_those_past_their_run_time_without_a_manifest(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    before_run = datetime(2026, 3, 5, 22, 0, tzinfo=UTC)
    after_run = datetime(2026, 3, 5, 23, 0, tzinfo=UTC)
    assert missed_days(cfg, before_run, since=date(2026, 3, 3)) == [
        date(2026, 3, 3),
        date(2026, 3, 4),
    ]
    assert missed_days(cfg, after_run, since=date(2026, 3, 3))[-1] == date(2026, 3, 5)
    folder = day_dir(cfg, date(2026, 3, 4))
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text("{}")
    assert missed_days(cfg, before_run, since=date(2026, 3, 3)) == [date(2026, 3, 3)]
    # Nothing journaled yet: nothing to catch up; never more than a week back.
    assert missed_days(cfg, after_run, since=None) == []
    assert len(missed_days(cfg, after_run, since=date(2025, 1, 1))) == 6
