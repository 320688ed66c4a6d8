"""`qtinfra run` as an operator starts it: the gateway with its venue simulators as child
processes, stopped together by SIGTERM with a clean Logout on every session."""

from __future__ import annotations

import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import wait_until
from tests.integration.deployment import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _running(pattern: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return out.stdout.split()


def test_run_starts_venues_and_sigterm_stops_everything_cleanly(tmp_path: Path) -> None:
    d = Deployment(root=tmp_path, database_url=f"sqlite:///{tmp_path / 'qtinfra.db'}")
    d.write_config()
    gateway_toml = d.config_dir / "gateway.toml"
    # The client sessions come from --sessions (an operator's own file), not gateway.toml.
    own_sessions = tmp_path / "operator-sessions.cfg"
    (tmp_path / "clients.cfg").rename(own_sessions)
    gateway_toml.write_text(
        gateway_toml.read_text()
        .replace("start_venues = false", "")
        .replace(str(tmp_path / "clients.cfg"), "/nonexistent/clients.cfg")
    )
    log = (tmp_path / "run.log").open("wb")
    cli = [sys.executable, "-m", "qtinfra.cli", "--config-dir", str(d.config_dir), "run"]
    proc = subprocess.Popen([*cli, "--sessions", str(own_sessions)], stdout=log, stderr=log)
    try:
        d.venues = {}  # started by `qtinfra run`, not by the test
        assert wait_until(
            lambda: len([r for r in d.sessions() if r["kind"] == "venue" and r["logged_on"]]) == 3,
            30,
        ), (tmp_path / "run.log").read_text()[-3000:]
        assert len(_running(f"{d.config_dir} venue")) == 3
        client = d.client("CLIENT1")
        cl = client.new_order("AAPL", "1", 10, Decimal("191"))
        assert client.wait_for(lambda m: m.get(11) == cl and m.get(39) == "2")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert wait_until(lambda: not _running(f"{d.config_dir} venue"), 10)
        assert wait_until(lambda: not client.logged_on.is_set(), 5)
    finally:
        if proc.poll() is None:
            proc.kill()
        d.stop()
    logouts = [r.session for r in d.journal("fix.out") if "\x0135=5\x01" in r.payload]
    assert "FIX.4.4:QTGW->CLIENT1" in logouts
    assert {"FIX.4.4:QTGW->CBOE", "FIX.4.4:QTGW->TRQ", "FIX.4.4:QTGW->AQX"} <= set(logouts)
