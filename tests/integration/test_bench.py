"""`qtinfra bench` with a small N: it runs end to end, prints both figures and the ratio, and
the gateway journaled every order (the measured ones and the warm-up)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from qtinfra.bench import WARMUP_ORDERS, benchmark, format_report, run_benchmark
from qtinfra.cli import build_parser

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ORDERS = 300
IN_FLIGHT = 50


def test_bench_cli_runs_and_prints_both_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    args = build_parser().parse_args(
        ["bench", "--orders", str(ORDERS), "--in-flight", str(IN_FLIGHT), "--database-url", url]
    )
    assert run_benchmark(args) == 0
    out = capsys.readouterr().out

    for name in ("echo acceptor", "gateway (risk+journal on)"):
        line = next((ln for ln in out.splitlines() if ln.startswith(name)), None)
        assert line is not None, out
        fields = line.split()
        # orders, in flight, orders/s, then ack p50 / p99 / p99.9 / max in ms
        assert str(ORDERS) in fields and str(IN_FLIGHT) in fields, line
        assert line.count(" ms") == 4, line
    assert re.search(r"ratio gateway/echo \(orders/s\): \d+\.\d\d", out), out
    assert re.search(r"^hardware: nproc=\d+", out, re.M), out
    assert "journal on" in out
    assert re.search(r"pre-trade check chain per order .*: p50 [\d.]+ µs, p99 [\d.]+ µs", out), out
    assert f"{ORDERS}/{ORDERS} orders done" in out, out
    assert re.search(r"audit verify of that journal: [\d,]+ rows in [\d.]+ s .*intact", out), out
    assert "ERROR" not in out, out

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(text("SELECT COUNT(*) FROM orders")).scalar_one()
            executions = conn.execute(text("SELECT COUNT(*) FROM executions")).scalar_one()
            new_orders_in = conn.execute(
                text("SELECT COUNT(*) FROM journal WHERE kind = 'fix.in' AND payload LIKE :p"),
                {"p": "%\x0135=D\x01%"},
            ).scalar_one()
    finally:
        engine.dispose()
    assert orders == ORDERS + WARMUP_ORDERS
    assert new_orders_in == ORDERS + WARMUP_ORDERS
    assert executions >= ORDERS + WARMUP_ORDERS  # every marketable IOC order traded


def test_benchmark_report_figures(tmp_path: Path) -> None:
    report = benchmark(120, 20, warmup=20, root=tmp_path)
    assert not report.errors, report.errors
    assert report.echo is not None and report.gateway is not None
    assert report.echo.acks == 120 and not report.echo.timed_out
    assert report.gateway.acks == 120 and report.gateway.done == 120
    assert not report.gateway.timed_out
    assert report.gateway.fills >= 120
    assert report.gateway.rejected == 0
    assert report.echo.orders_per_second > 0 and report.gateway.orders_per_second > 0
    assert report.ratio is not None and report.ratio > 0
    assert report.db_counts["orders"] == 140
    assert len(report.gateway.latencies_ns) == 120
    assert 0 < report.gateway.percentile_us(0.5) <= report.gateway.percentile_us(0.999)
    text_ = format_report(report)
    assert "ratio gateway/echo" in text_


def test_bench_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(orders=0, in_flight=10, database_url=None, skip_echo=False)
    assert run_benchmark(args) == 2
