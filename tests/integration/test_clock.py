"""The clock record in a running gateway (MiFID II RTS 25): a clock.status row is journaled
at start and every [clock] interval_seconds, /metrics shows the reading, a reading outside
the limit is warned about, and `qtinfra audit clock` reads it all back.

Once as this machine's OS reports its clock (whatever the host runs: chrony, the kernel
alone, or nothing readable), on SQLite and PostgreSQL; once with a stand-in `chronyc` on
the gateway's PATH printing recorded tracking lines the test switches between.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qtinfra.ops import clock
from tests.helpers import wait_until
from tests.integration.conftest import deploy_on
from tests.integration.deployment import Deployment, deploy

pytestmark = pytest.mark.integration

SYNCED = "C0000201,192.0.2.1,3,1772443800.1,0.000012345,0.0,0.000023456,-12.345,0.001,0.012,0.001234567,0.000345678,64.2,Normal\n"
WIDE = SYNCED.replace("0.000345678", "0.000900000")  # bound 1,529.6285 µs: outside 1 ms


def metrics(d: Deployment) -> dict[str, str]:
    """/metrics as {sample with labels: value}, the clock's lines only."""
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("qtinfra_clock_"):
            name, _, value = line.rpartition(" ")
            out[name] = value
    return out


def utc(value: object) -> datetime:
    """A journal ts as raw SQL returns it (text on SQLite) as an aware UTC datetime."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def clock_rows(d: Deployment) -> list[dict[str, object]]:
    return [
        {"seq": r.seq, "ts": utc(r.ts), **json.loads(r.payload)}
        for r in d.journal(kind=clock.JOURNAL_KIND)
    ]


def audit_clock(d: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "qtinfra.cli", "--config-dir", str(d.config_dir), "audit"]
    return subprocess.run(
        [*cmd, "clock", *args, "--database-url", d.database_url],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "QTINFRA_DATABASE_URL"},
        check=False,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def host_clock(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """The gateway alone (no venues), reading this machine's clock."""
    yield from deploy_on(request, tmp_path_factory, venues=())


def test_the_gateway_journals_the_clock_as_the_os_reports_it_at_start(
    host_clock: Deployment,
) -> None:
    assert wait_until(lambda: clock_rows(host_clock), 10), host_clock.gateway_log()
    first = clock_rows(host_clock)[0]
    # What this process reads of the same clock, moments later.
    here = clock.read_clock()
    assert (first["source"], first["state"]) == (here.source, here.state.value)
    assert first["source"] in ("chrony", "kernel adjtimex", "unknown")
    assert first["max_divergence_us"] == 1000
    assert first["hft"] is False
    assert first["within"] is (not first["problems"])
    assert isinstance(first["detail"], str) and first["detail"].startswith(
        ("chrony:", "kernel adjtimex:", "unknown:")
    )
    if first["state"] == "unknown":
        assert first["offset_us"] is None and first["max_error_us"] is None
    # At start: in the journal's first rows, not a minute later.
    rows = host_clock.journal()
    assert isinstance(first["ts"], datetime)
    assert first["ts"] - utc(rows[0].ts) < timedelta(seconds=10)
    # The row is chained like every other: the journal verifies.
    verify = subprocess.run(
        [
            sys.executable, "-m", "qtinfra.cli", "--config-dir", str(host_clock.config_dir),
            "audit", "verify", "--quiet", "--database-url", host_clock.database_url,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_metrics_show_the_reading_and_the_limit(host_clock: Deployment) -> None:
    assert wait_until(lambda: clock_rows(host_clock), 10)
    first = clock_rows(host_clock)[0]
    seen = metrics(host_clock)
    assert seen["qtinfra_clock_max_divergence_seconds"] == "0.001"
    assert seen["qtinfra_clock_hft"] == "0.0"
    assert seen["qtinfra_clock_synchronised"] == (
        "1.0" if first["state"] == "synchronised" else "0.0"
    )
    for name in (
        "qtinfra_clock_offset_seconds",
        "qtinfra_clock_max_error_seconds",
        "qtinfra_clock_estimated_error_seconds",
        "qtinfra_clock_read_timestamp_seconds",
    ):
        assert name in seen
    if first["max_error_us"] is not None:
        assert float(seen["qtinfra_clock_max_error_seconds"]) == pytest.approx(
            float(str(first["max_error_us"])) / 1e6
        )
    info = [k for k in seen if k.startswith("qtinfra_clock_source_info{")]
    assert len(info) == 1
    assert f'source="{first["source"]}"' in info[0] and f'state="{first["state"]}"' in info[0]


def test_audit_clock_reads_the_record_back(host_clock: Deployment) -> None:
    assert wait_until(lambda: clock_rows(host_clock), 10)
    first = clock_rows(host_clock)[0]
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    done = audit_clock(host_clock, "--from", start, "--to", end)
    assert done.returncode == (0 if first["within"] else 1), done.stdout + done.stderr
    assert f"sources: {first['source']} " in done.stdout
    if not first["within"]:
        assert "OUTSIDE: " in done.stdout


@pytest.fixture
def fake_chrony(tmp_path: Path) -> Iterator[tuple[Deployment, Path]]:
    """The gateway (SQLite, no venues) reading the clock every second from a stand-in
    chronyc that prints the line in `tracking.csv`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tracking = bin_dir / "tracking.csv"
    tracking.write_text(SYNCED)
    fake = bin_dir / "chronyc"
    fake.write_text(f'#!/bin/sh\n[ "$*" = "-c -n tracking" ] || exit 2\ncat "{tracking}"\n')
    fake.chmod(0o755)
    yield from (
        (d, tracking)
        for d in deploy(
            tmp_path,
            f"sqlite:///{tmp_path / 'qtinfra.db'}",
            venues=(),
            gateway_env={"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
            extra_gateway_toml="\n[clock]\ninterval_seconds = 1\n",
        )
    )


def test_chrony_readings_every_interval_and_a_warning_when_outside(
    fake_chrony: tuple[Deployment, Path],
) -> None:
    d, tracking = fake_chrony
    assert wait_until(lambda: len(clock_rows(d)) >= 2, 15), d.gateway_log()
    first = clock_rows(d)[0]
    assert first["source"] == "chrony"
    assert first["reference"] == "192.0.2.1 (C0000201)"
    assert (first["offset_us"], first["max_error_us"]) == ("-12.345", "975.3065")
    assert first["within"] is True
    seen = metrics(d)
    assert float(seen["qtinfra_clock_offset_seconds"]) == pytest.approx(-12.345e-6)
    assert seen["qtinfra_clock_synchronised"] == "1.0"
    assert (
        'qtinfra_clock_source_info{reference="192.0.2.1 (C0000201)",source="chrony",'
        'state="synchronised"}' in seen
    )
    assert "clock_divergence" not in d.gateway_log(100_000)

    tracking.write_text(WIDE)
    assert wait_until(lambda: not clock_rows(d)[-1]["within"], 15), d.gateway_log()
    outside = clock_rows(d)[-1]
    assert outside["problems"] == ["max error 1,529.6285 µs exceeds 1,000 µs"]
    assert wait_until(lambda: "clock_divergence" in d.gateway_log(100_000), 5)
    warning = next(
        json.loads(line)
        for line in d.gateway_log(100_000).splitlines()
        if '"clock_divergence"' in line
    )
    assert warning["level"] == "warning"
    assert warning["max_error_us"] == "1529.6285"
    assert warning["max_divergence_us"] == 1000
    assert float(metrics(d)["qtinfra_clock_max_error_seconds"]) == pytest.approx(1529.6285e-6)

    tracking.write_text("506 Cannot talk to daemon\n")  # chronyc answers nonsense: the kernel
    assert wait_until(lambda: clock_rows(d)[-1]["source"] != "chrony", 15)
    assert "chronyc tracking: expected 14 fields" in str(clock_rows(d)[-1]["detail"])
