"""An event that cannot be sent (an encoding bug, injected here by the test-only
QTINFRA_FAULT_DISPATCH hook) is journaled as dispatch.failed and answered (a client report:
the order's status instead; a child order: routed elsewhere), and every other message of
the same poll round still goes out: over real sockets, with venue processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.deployment import Deployment, deploy
from tests.integration.rawfix import RawFixClient, timestamp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CHILD_QTY = "7"  # the first child order of this quantity fails to send


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root: Path = tmp_path_factory.mktemp("dispatch-fault")
    env = {"QTINFRA_FAULT_DISPATCH": f"DISPFAIL-1,quantity=Decimal('{CHILD_QTY}')"}
    yield from deploy(root, f"sqlite:///{root / 'qtinfra.db'}", gateway_env=env)


@pytest.fixture
def raw(deployment: Deployment) -> Iterator[RawFixClient]:
    client = RawFixClient(deployment.client_port)
    client.logon()
    yield client
    client.close()
    time.sleep(0.3)


def order(cl_ord_id: str, qty: str) -> list[tuple[int, str]]:
    return [
        (11, cl_ord_id),
        (55, "AAPL"),
        (54, "1"),
        (38, qty),
        (40, "2"),
        (44, "200"),
        (59, "0"),
        (60, timestamp()),
    ]


def reports_for(raw: RawFixClient, cl_ord_ids: set[str], until: float) -> list[dict[int, str]]:
    """ExecutionReports about cl_ord_ids until each is done (or `until`)."""
    seen: list[dict[int, str]] = []
    open_ids = set(cl_ord_ids)
    while open_ids and time.monotonic() < until:
        try:
            msg = raw.receive(until - time.monotonic())
        except TimeoutError:
            break
        if msg is None:
            break
        if msg.get(35) == "8" and msg.get(11) in cl_ord_ids:
            seen.append(msg)
            if msg.get(39) in ("2", "4", "8", "C") or 790 in msg:
                open_ids.discard(msg[11])
    return seen


def test_a_report_that_cannot_be_sent_does_not_hold_back_the_others_of_its_round(
    raw: RawFixClient, deployment: Deployment
) -> None:
    # Both orders in one write: decided in the same poll round, released together.
    frames = raw.frame("D", order("DISPFAIL-1", "10"))
    raw.seq += 1
    frames += raw.frame("D", order("DISPOK-2", "10"))
    raw.seq += 1
    raw.sock.sendall(frames)
    seen = reports_for(raw, {"DISPFAIL-1", "DISPOK-2"}, time.monotonic() + 5)
    ok = [m for m in seen if m[11] == "DISPOK-2"]
    assert ok and ok[0][150] == "0" and ok[-1][39] == "2", seen  # acked and filled
    failed = [m for m in seen if m[11] == "DISPFAIL-1"]
    assert all(m[150] != "0" for m in failed), "the ack that failed was sent after all"
    # In its place the client is told the order's status, unsolicited (150=I, no 790).
    stand_in = [m for m in failed if m[150] == "I" and 790 not in m]
    assert stand_in, failed
    assert stand_in[0][39] == "0" and stand_in[0][151] == "10", stand_in
    assert "could not be sent; this is the order's status after it" in stand_in[0][58]
    rows = [r.payload for r in deployment.journal("dispatch.failed")]
    assert any(
        "ExecutionReport not sent" in p
        and "DISPFAIL-1" in p
        and "the client was sent the order's status (150=I) instead" in p
        for p in rows
    ), rows
    # The order itself is fine: its state is there for the asking.
    raw.send("H", [(11, "DISPFAIL-1"), (55, "AAPL"), (54, "1"), (790, "ASK-1")])
    [status] = [m for m in reports_for(raw, {"DISPFAIL-1"}, time.monotonic() + 3) if 790 in m]
    assert (status[150], status[39]) == ("I", "2")
    assert deployment.gateway is not None and deployment.gateway.poll() is None


def test_a_child_order_that_cannot_be_sent_is_routed_elsewhere(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.send("D", order("DISPCHILD-3", CHILD_QTY))
    seen = reports_for(raw, {"DISPCHILD-3"}, time.monotonic() + 8)
    assert seen and seen[0][150] == "0" and seen[-1][39] == "2", seen  # answered, filled
    rows = [r.payload for r in deployment.journal("dispatch.failed")]
    assert any("ChildOrderSent not sent" in p for p in rows), rows
