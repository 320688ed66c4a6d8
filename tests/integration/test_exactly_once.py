"""Exactly once, both ways, across a crash (DESIGN.md: "an inbound message whose sequence
number was consumed is in the journal or is asked for again; an outbound message the journal
committed but the process never sent is sent at restart"). The gateway is ended at a chosen
point of its group commit by a test-only fault hook (QTINFRA_FAULT, gateway.fault_from_env),
exactly as SIGKILL would end it there; the client is a QuickFIX initiator that keeps its
sequence numbers and never resends anything by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from qtinfra.fix.buyside import BuySideClient
from tests.helpers import wait_until
from tests.integration.deployment import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

D = Decimal


@pytest.fixture(params=["sqlite", "postgresql"])
def bare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A deployment whose gateway the test starts itself (with a fault armed)."""
    url = (
        f"sqlite:///{tmp_path / 'qtinfra.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    d = Deployment(root=tmp_path, database_url=url)
    d.write_config()
    try:
        for name in ("CBOE", "TRQ", "AQX"):
            d.start_venue(name)
        yield d
    finally:
        d.stop()


def crash_at(d: Deployment, stage: str, needle: str) -> None:
    d.gateway_env = {"QTINFRA_FAULT": f"{stage}:{needle}"}
    d.start_gateway()
    d.gateway_env = {}


def died(d: Deployment) -> int:
    assert d.gateway is not None
    code = d.gateway.wait(20)
    d.gateway = None
    return code


def orders_booked(d: Deployment, cl_ord_id: str) -> int:
    engine = d.db()
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM cl_ord_ids WHERE cl_ord_id = :c"), {"c": cl_ord_id}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def answers(
    client: BuySideClient, cl_ord_id: str, timeout: float = 30.0, settle: float = 1.0
) -> list[dict[int, str]]:
    """The reports about cl_ord_id: waits up to timeout for the first, then `settle`
    seconds more for any other (a second answer would be a double)."""
    seen: list[dict[int, str]] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = client.next_message(left)
        except Exception:
            break
        if msg.get(11) == cl_ord_id:
            seen.append(msg)
            deadline = min(deadline, time.monotonic() + settle)
    return seen


def test_an_order_whose_sequence_number_was_consumed_before_the_commit_is_asked_for_again(
    bare: Deployment,
) -> None:
    crash_at(bare, "before-commit", "11=LOSTONE\x01")
    client = bare.client("CLIENT1", reset=False)
    first = client.new_order("AAPL", "1", 5, D("185"))
    assert answers(client, first, 10)[0][150] == "0"

    lost = "LOSTONE"
    client.new_order("AAPL", "1", 5, D("185"), cl_ord_id=lost)
    assert died(bare) == 137  # after QuickFIX consumed its MsgSeqNum, before the commit
    assert orders_booked(bare, lost) == 0

    bare.start_gateway()
    assert wait_until(client.logged_on.is_set, timeout=20), bare.gateway_log()
    # Nobody resends by hand: the gateway asks for it (ResendRequest) and books it once.
    seen = answers(client, lost)
    assert [m[150] for m in seen] == ["0"], seen
    assert seen[0].get(43) != "Y"  # a new report, not a replay
    assert orders_booked(bare, lost) == 1
    rewound = [r.payload for r in bare.journal("session.rewound")]
    assert any("FIX.4.4:QTGW->CLIENT1" in r or "asked for again" in r for r in rewound)
