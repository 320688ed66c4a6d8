"""Fills the gateway never got, recovered one execution at a time.

TRQ's session resets its sequence numbers at every logon (venues.toml reset_on_logon), so
what TRQ sent while the gateway was down is never resent. CLIENT1's AMZN bid rests at TRQ
(ExDestination TRQX, at 180.01: inside TRQ's synthetic spread of 180.00 / 180.02, so it is
alone at the top of the book). The gateway is killed; another member of TRQ (MEMBER2, on
its own FIX session to the venue) sells into the bid twice. When the gateway is back, the
venue's OrderStatus shows 50 filled that the gateway never booked; the gateway asks TRQ
for the executions (TradeCaptureReportRequest) and books each with the venue's own trade
id and time, the same ones the counterparty was told, so the client gets two fills and
RTS 22 reports two transactions, none held as an averaged reconciliation.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import quickfix44 as fix44
import tomlkit

from qtinfra.config import PROJECT_ROOT
from qtinfra.domain.values import utc_now
from qtinfra.fix.wire import fmt_time
from qtinfra.tools.buyside import BuySideClient, ClientSessionConfig
from tests.helpers import shipped_config, wait_until
from tests.integration.deployment import DATABASES, Deployment, database_for, deployed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

D = Decimal


def venues_toml() -> str:
    venues = tomlkit.parse(shipped_config("venues.toml"))
    for venue in venues["venue"]:  # type: ignore[union-attr]
        if venue["name"] == "TRQ":
            venue["reset_on_logon"] = True
            venue["members"] = ["MEMBER2"]
    return tomlkit.dumps(venues)


@pytest.fixture(params=DATABASES)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    with (
        database_for(request, tmp_path) as url,
        deployed(tmp_path, url, ("CBOE", "TRQ"), files={"venues.toml": venues_toml()}) as d,
    ):
        yield d


def member(deployment: Deployment) -> BuySideClient:
    """MEMBER2, another firm on TRQ, logged on to the venue itself."""
    cfg = ClientSessionConfig(
        sender_comp_id="MEMBER2",
        target_comp_id="TRQ",
        port=deployment.venue_ports["TRQ"],
        username=None,
        password=None,
        data_dictionary=PROJECT_ROOT / "fix_specs" / "FIX44-venues.xml",
        store_dir=deployment.root / "clients" / "MEMBER2",
    )
    client = BuySideClient(cfg)
    deployment.clients.append(client)
    assert client.start(wait=15), deployment.log_tail("venue-TRQ")
    return client


def member_sell(client: BuySideClient, cl_ord_id: str, qty: int) -> None:
    """A sell limit at 180.00 with the MiFID II order data TRQ requires."""
    msg = fix44.NewOrderSingle()
    for tag, value in (
        (11, cl_ord_id),
        (55, "AMZN"),
        (54, "2"),
        (38, str(qty)),
        (40, "2"),
        (44, "180.00"),
        (59, "3"),  # IOC: what it does not fill goes away
        (60, fmt_time(utc_now())),
        (528, "P"),
    ):
        msg.setField(tag, value)
    for party_id, role in (("77", "3"), ("9001", "12")):
        group = fix44.NewOrderSingle.NoPartyIDs()
        group.setField(448, party_id)
        group.setField(447, "P")
        group.setField(452, role)
        msg.addGroup(group)
    client.send(msg)


def test_fills_missed_while_down_are_booked_one_execution_at_a_time(
    deployment: Deployment,
) -> None:
    client = deployment.client("CLIENT1", reset=False)
    cl = client.new_order("AMZN", "1", 100, D("180.01"), extra={100: "TRQX"})
    ack = client.wait_for(lambda m: m.get(11) == cl)
    assert (ack[150], ack[39]) == ("0", "0"), ack

    def resting_at_trq() -> bool:
        # TRQ's acknowledgement of the child, as the gateway journaled it at the wire (the
        # client's ack goes out before the venue has the child).
        rows = deployment.journal("fix.in", "FIX.4.4:QTGW->TRQ")
        return any("\x0135=8\x01" in r.payload and "\x01150=0\x01" in r.payload for r in rows)

    assert wait_until(resting_at_trq, 10), deployment.gateway_log()
    deployment.kill_gateway(signal.SIGKILL)
    client.logged_on.clear()
    other = member(deployment)
    trade_ids: list[str] = []
    for n, qty in enumerate((30, 20), 1):
        member_sell(other, f"M{n}", qty)
        fill = other.wait_for(lambda m, n=n: m.get(11) == f"M{n}" and m.get(150) == "F")
        assert (fill[32], fill[31]) == (str(qty), "180.01"), fill
        trade_ids.append(fill[880])
        time.sleep(0.01)  # two executions at two times

    deployment.start_gateway()
    assert client.logged_on.wait(20), deployment.gateway_log()
    fills = [client.wait_for(lambda m: m.get(11) == cl and m.get(150) == "F", 20)]
    fills.append(client.wait_for(lambda m: m.get(11) == cl and m.get(150) == "F", 20))
    # Two fills as the venue executed them, not one averaged fill of 50.
    assert [(f[32], f[31], f[14], f[39]) for f in fills] == [
        ("30", "180.01", "30", "1"),
        ("20", "180.01", "50", "1"),
    ]
    assert all(f[30] == "TRQX" for f in fills)

    def booked() -> list[dict[str, object]]:
        rows = deployment.journal("ExecutionReport")
        events = [orjson.loads(r.payload) for r in rows]
        return [e for e in events if e["cl_ord_id"] == cl and e["exec_type"] == "F"]

    assert wait_until(lambda: len(booked()) == 2, 10)
    events = booked()
    # Each with the venue's own trade id (the one the counterparty got) and time; none is
    # a reconciliation fill RTS 22 would hold (rule RECON).
    assert [e["venue_trade_id"] for e in events] == trade_ids
    assert not any(e["reconciled"] for e in events)
    times = [str(e["venue_transact_time"]) for e in events]
    assert times[0] < times[1]
    queries = deployment.journal("TradeQuerySent")
    assert len(queries) == 1, queries
    # The client still works the rest at TRQ.
    client.status(cl, "AMZN", "1")
    status = client.wait_for(lambda m: m.get(11) == cl and m.get(150) == "I")
    assert (status[39], status[14], status[151]) == ("1", "50", "50")
