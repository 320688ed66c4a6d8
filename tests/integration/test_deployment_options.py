"""Deployment options end to end: the trading day's end expires DAY orders, QuickFIX's
PostgreSQL message store, and sessions authenticated by source address alone."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import wait_until
from tests.integration.deployment import Deployment, deploy, deployed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

D = Decimal

IP_CLIENTS = """
[[client]]
comp_id = "CLIENT3"
auth = "ip"
allowed_ips = ["127.0.0.1"]
account = "ACC1"

[[client]]
comp_id = "CLIENT4"
auth = "ip"
allowed_ips = ["192.0.2.10"]
"""

IP_SESSIONS = """
[SESSION]
BeginString=FIX.4.4
TargetCompID=CLIENT3
DataDictionary=fix_specs/FIX44.xml

[SESSION]
BeginString=FIX.4.4
TargetCompID=CLIENT4
DataDictionary=fix_specs/FIX44.xml
"""


@pytest.fixture
def closing_soon(tmp_path: Path) -> Iterator[Deployment]:
    """A deployment whose instruments' calendar closes 12 seconds after it is configured."""
    now = datetime.now(UTC)
    if now.hour == 23 and now.minute == 59:
        pytest.skip("the test calendar cannot close past midnight UTC")
    end = (now + timedelta(seconds=12)).strftime("%H:%M:%S")
    calendar = (
        '[[calendar]]\nname = "SIM"\ntimezone = "UTC"\nopen = 00:00:00\n'
        f"close = {end}\n"
        'trading_days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]\n'
    )
    yield from deploy(
        tmp_path, f"sqlite:///{tmp_path / 'qtinfra.db'}", files={"calendars.toml": calendar}
    )


def test_day_order_expires_at_the_end_of_the_trading_day_gtc_does_not(
    closing_soon: Deployment,
) -> None:
    client = closing_soon.client("CLIENT1")
    day = client.new_order("AAPL", "1", 100, D("180"), tif="0")
    gtc = client.new_order("AAPL", "1", 100, D("180"), tif="1")
    acks = [client.next_message(), client.next_message()]
    assert {a[11] for a in acks} == {day, gtc} and all(a[39] == "0" for a in acks)
    expired = client.wait_for(lambda m: m.get(11) == day and m.get(150) == "C", timeout=30)
    assert (expired[39], expired[151], expired[14]) == ("C", "0", "0")
    assert "expired" in expired[58]
    client.status(gtc, "AAPL", "1")
    status = client.wait_for(lambda m: m.get(11) == gtc and m.get(150) == "I")
    assert status[39] == "0"


def test_quickfix_session_state_in_postgresql(tmp_path: Path, pg_url: str) -> None:
    with deployed(tmp_path, pg_url, gateway_settings={"message_store": '"postgresql"'}) as d:
        client = d.client("CLIENT1")
        cl = client.new_order("AAPL", "1", 10, D("191"))
        client.wait_for(lambda m: m.get(11) == cl and m.get(39) == "2")
        engine = d.db()
        try:
            with engine.connect() as conn:
                sessions = {
                    r.targetcompid: (r.incoming_seqnum, r.outgoing_seqnum)
                    for r in conn.execute(text("SELECT * FROM sessions"))
                }
                stored = conn.execute(text("SELECT count(*) FROM messages")).scalar()
        finally:
            engine.dispose()
        assert {"CLIENT1", "CBOE", "TRQ", "AQX"} <= set(sessions)
        assert sessions["CLIENT1"][1] > 2  # Logon, New, Trade... were sent
        assert stored and stored > 0


def test_ip_allowlisted_session_logs_on_without_password(tmp_path: Path) -> None:
    with deployed(
        tmp_path,
        f"sqlite:///{tmp_path / 'qtinfra.db'}",
        extra_clients_toml=IP_CLIENTS,
        extra_sessions=IP_SESSIONS,
    ) as d:
        allowed = d.client("CLIENT3", username="", password="")
        cl = allowed.new_order("AAPL", "1", 10, D("191"))
        assert allowed.wait_for(lambda m: m.get(11) == cl and m.get(39) == "2")
        refused = d.client("CLIENT4", username="", password="", wait=False)
        # The address is checked before the Logon is processed: the connection is closed
        # without a word (a stranger learns nothing), and the session never logs on.
        with pytest.raises(queue.Empty):
            refused.admin.get(timeout=3)
        assert not refused.logged_on.is_set()
        rows = {r["session"]: r for r in d.sessions()}
        assert rows["FIX.4.4:QTGW->CLIENT3"]["logged_on"]
        assert not rows["FIX.4.4:QTGW->CLIENT4"]["logged_on"]
        assert wait_until(
            lambda: any(
                "Deny connections" in r.payload
                for r in d.journal("fix.event", "FIX.4.4:QTGW->CLIENT4")
            ),
            5,
        )
