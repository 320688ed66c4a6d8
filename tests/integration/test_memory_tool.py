"""The memory tool (python -m qtinfra.tools.memory) runs the order core with its history and
journal, and what the order manager holds stays at its bound however many orders pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtinfra.tools.memory import Sample, main, run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_what_the_core_holds_stays_bounded_over_many_orders(tmp_path: Path) -> None:
    samples: list[Sample] = []
    run(6000, 1000, per_day=2500, recent_done=500, directory=tmp_path, report=samples.append)
    assert [s.orders for s in samples] == [1000, 2000, 3000, 4000, 5000, 6000]
    for s in samples:
        assert s.open_orders == 0  # every order was filled
        assert s.done_in_memory == 500
        assert s.cl_ord_ids_in_memory == 500


def test_the_tool_prints_rss_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--orders", "2000", "--every", "1000", "--recent-done", "100"]) == 0
    out = capsys.readouterr().out
    assert "RSS MB" in out and "2,000" in out and "orders/s through the core" in out
