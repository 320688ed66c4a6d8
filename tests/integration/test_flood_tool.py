"""The flood tool (python -m qtinfra.tools.flood) measures a session's ack latency quiet,
while another process floods the client port without a Logon, and while the same process
floods a sink instead (the control), and prints all three."""

from __future__ import annotations

import pytest

from qtinfra.tools.flood import format_figures, measure

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_the_flood_tool_measures_the_three_conditions_on_a_live_gateway() -> None:
    out = measure(orders=40, flooders=1, rounds=1)
    assert [out[c]["acks"] for c in ("quiet", "control", "flooded")] == [40, 40, 40]
    assert out["control_flood"]["bytes"] > 64 * 1024  # the control's flood ran too
    assert out["gateway_alive"]
    # The flood really ran: connections were opened, and the gateway closed and journaled them.
    assert out["flood"]["connections"] >= 1 and out["flood"]["bytes"] > 64 * 1024
    assert out["dropped_connections_journaled"] >= 1
    table = format_figures(out)
    assert "| p99 |" in table and "flooded - control" in table and "flood sent:" in table
