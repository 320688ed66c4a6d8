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

from qtinfra.tools.buyside import BuySideClient
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


def test_an_order_committed_but_never_acknowledged_nor_routed_is_sent_after_the_restart(
    bare: Deployment,
) -> None:
    crash_at(bare, "after-commit", "11=STRANDED1\x01")
    client = bare.client("CLIENT1", reset=False)
    stranded = "STRANDED1"
    client.new_order("AAPL", "1", 10, D("191"), cl_ord_id=stranded)  # marketable
    assert died(bare) == 137  # journaled (booked, child orders routed), nothing sent
    assert orders_booked(bare, stranded) == 1

    bare.start_gateway()
    assert wait_until(client.logged_on.is_set, timeout=20), bare.gateway_log()
    # The client asks for nothing: the acknowledgement comes (as the gap it asks for at
    # logon), the child orders reach the venues, the fills come back, once each.
    seen = answers(client, stranded, settle=3.0)
    types = [m[150] for m in seen]
    assert types[0] == "0" and types.count("0") == 1, seen
    fills = [m for m in seen if m[150] == "F"]
    assert fills and D(fills[-1][14]) == 10 and fills[-1][39] == "2", seen
    assert sum(D(m[32]) for m in fills) == 10
    assert len({m[17] for m in fills}) == len(fills)  # no fill reported twice
    assert orders_booked(bare, stranded) == 1
    assert bare.journal("release.recovered")


def drain_all(client: BuySideClient, seconds: float) -> list[dict[int, str]]:
    out: list[dict[int, str]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(client.next_message(min(left, 0.5)))
        except Exception:
            continue
    return out


def client_view(messages: list[dict[int, str]]) -> dict[str, dict[str, object]]:
    """Per ClOrdID, what the client was told: the distinct acknowledgements and fills (a
    PossDup retransmission carries the ExecID it had), the last CumQty and OrdStatus."""
    view: dict[str, dict[str, object]] = {}
    for m in messages:
        if m.get(35) != "8":
            continue
        v = view.setdefault(m[11], {"acks": set(), "fills": {}, "cum": D(0), "status": ""})
        if m[150] == "0":
            v["acks"].add(m[17])  # type: ignore[attr-defined]
        elif m[150] == "F":
            v["fills"][m[17]] = D(m[32])  # type: ignore[index]
        if m[150] in ("0", "F", "4", "8"):
            v["cum"] = max(v["cum"], D(m[14]))  # type: ignore[type-var]
            v["status"] = m[39]
    return view


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_moments_of_a_burst_loses_and_doubles_nothing(
    bare: Deployment, seed: int
) -> None:
    import random
    import signal

    rng = random.Random(seed)
    bare.start_gateway()
    client = bare.client("CLIENT1", reset=False)
    sent: list[str] = []
    received: list[dict[int, str]] = []
    for round_ in range(3):
        for i in range(60):
            side, price = ("1", "191") if (i + round_) % 2 == 0 else ("2", "189")
            sent.append(client.new_order("AAPL", side, 5, D(price)))
            if i == 20 + rng.randrange(30):
                bare.kill_gateway(signal.SIGKILL)  # mid-burst: some sent, some in flight
                received += drain_all(client, 0.3)
                bare.start_gateway()
                assert wait_until(client.logged_on.is_set, timeout=20), bare.gateway_log()
        received += drain_all(client, 1.0)
    received += drain_all(client, 8.0)

    view = client_view(received)
    engine = bare.db()
    with engine.connect() as conn:
        booked = {
            r.cl_ord_id: (D(r.cum_qty), r.status)
            for r in conn.execute(
                text(
                    "SELECT c.cl_ord_id, o.cum_qty, o.status FROM cl_ord_ids c "
                    "JOIN orders o ON o.order_id = c.order_id"
                )
            )
        }
        doubles = conn.execute(
            text("SELECT cl_ord_id FROM cl_ord_ids GROUP BY cl_ord_id HAVING count(*) > 1")
        ).all()
    engine.dispose()
    assert not doubles
    unanswered = [cl for cl in sent if cl not in view]
    assert not unanswered, f"{len(unanswered)} of {len(sent)} orders got no answer"
    for cl in sent:
        v = view[cl]
        assert len(v["acks"]) == 1, (cl, v)  # type: ignore[arg-type]
        assert cl in booked, cl
        cum, status = booked[cl]
        # What the client was told equals what the gateway booked from the venues' fills.
        assert sum(v["fills"].values()) == v["cum"] == cum, (cl, v, booked[cl])  # type: ignore[attr-defined]
        assert v["status"] == status, (cl, v, status)
