"""Failures: a venue session dropping mid-order, and the gateway killed with SIGKILL mid-flow.

AMZN trades on CBOE (synthetic mid 180.00: best bid 179.99, best ask 180.01) and TRQ (one
tick higher: best bid 180.00, best ask 180.02). A buy limit at 180.00 therefore crosses
nothing and rests at TRQ, the venue with the best bid; a large sell at 180.00 later sweeps
the 180.00 bids, ours included.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from qtinfra.tools.buyside import BuySideClient
from tests.helpers import wait_until
from tests.integration.deployment import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

D = Decimal


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    name = "fresh_deployment" if request.param == "sqlite" else "fresh_pg_deployment"
    yield request.getfixturevalue(name)


def next_matching(client: BuySideClient, predicate, timeout: float = 15.0) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return client.wait_for(predicate, timeout)


def rest_amzn_bid(client: BuySideClient, qty: int = 100) -> str:
    cl = client.new_order("AMZN", "1", qty, D("180.00"))
    ack = next_matching(client, lambda m: m.get(11) == cl)
    assert (ack[150], ack[39]) == ("0", "0"), ack
    return cl


def sweep_amzn_bids(deployment: Deployment) -> None:
    """CLIENT2 sells through every 180.00 bid."""
    seller = deployment.client("CLIENT2")
    try:
        cl = seller.new_order("AMZN", "2", 3000, D("180.00"))
        next_matching(seller, lambda m: m.get(11) == cl and m.get(150) == "0")
    finally:
        seller.stop()
        deployment.clients.remove(seller)


def order_rows(deployment: Deployment, cl_ord_id: str) -> list[tuple[str, str, str]]:
    engine = deployment.db()
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(
                        "SELECT o.order_id, o.status, o.cum_qty FROM cl_ord_ids c "
                        "JOIN orders o ON o.order_id = c.order_id WHERE c.cl_ord_id = :c"
                    ),
                    {"c": cl_ord_id},
                )
            ]
    finally:
        engine.dispose()


def test_venue_session_drop_mid_order_reroutes_the_remainder(deployment: Deployment) -> None:
    client = deployment.client("CLIENT1")
    cl = rest_amzn_bid(client)
    engine = deployment.db()
    with engine.connect() as conn:
        venue = conn.execute(
            text(
                "SELECT c.venue FROM child_orders c JOIN cl_ord_ids i ON i.order_id = c.order_id "
                "WHERE i.cl_ord_id = :c"
            ),
            {"c": cl},
        ).scalar()
    engine.dispose()
    assert venue == "TRQ"

    deployment.stop_venue("TRQ", signal.SIGKILL)
    assert wait_until(
        lambda: any(
            r["session"].endswith("TRQ") and not r["logged_on"] for r in deployment.sessions()
        ),
        10,
    )
    client.status(cl, "AMZN", "1")
    status = next_matching(client, lambda m: m.get(150) == "I")
    assert (status[39], status[151], status[14]) == ("0", "100", "0")

    # The venue comes back without its book: reconciliation learns the child is gone there
    # and the order is routed to CBOE instead.
    deployment.start_venue("TRQ")
    assert wait_until(deployment.venues_ready, 20)
    rerouted = wait_until(lambda: any(r[0] == "CBOE" for r in _children(deployment, cl)), 15)
    if not rerouted:
        # Printed whole (pytest shows a failing test's stdout): it failed once in CI, never
        # here, and an assertion message is cut to a line.
        print("\n".join(_venue_trace(deployment, "TRQ", rows=80)))
        print(deployment.gateway_log(20000))
    assert rerouted, _children(deployment, cl)

    sweep_amzn_bids(deployment)
    fills = []
    while sum(D(f[32]) for f in fills) < 100:
        fills.append(next_matching(client, lambda m: m.get(11) == cl and m.get(150) == "F"))
    assert fills[-1][39] == "2" and fills[-1][14] == "100"
    assert {f[30] for f in fills} == {"CEUX"}


def _venue_trace(deployment: Deployment, venue: str, rows: int = 25) -> list[str]:
    """The last journal rows of a venue's session (what was sent and received, its events),
    the child orders and status requests, and every dispatch failure: what a failing
    assertion needs to say why."""
    found = [
        r
        for r in deployment.journal()
        if (r.session or "").endswith(f">{venue}")
        or r.kind in ("dispatch.failed", "ChildOrderSent", "ChildStatusSent", "TradeQuerySent")
    ]
    return [
        f"{r.seq} {r.kind} {r.ts} {r.payload[:300].replace(chr(1), '|')}" for r in found[-rows:]
    ]


def _children(deployment: Deployment, cl: str) -> list[tuple[str, str]]:
    engine = deployment.db()
    try:
        with engine.connect() as conn:
            return [
                (r[0], r[1])
                for r in conn.execute(
                    text(
                        "SELECT c.venue, c.status FROM child_orders c JOIN cl_ord_ids i "
                        "ON i.order_id = c.order_id WHERE i.cl_ord_id = :c ORDER BY c.created_at"
                    ),
                    {"c": cl},
                )
            ]
    finally:
        engine.dispose()


def test_gateway_killed_mid_flow_restarts_without_losing_or_doubling_orders(
    deployment: Deployment,
) -> None:
    client = deployment.client("CLIENT1", reset=False)
    resting = rest_amzn_bid(client)

    acked: set[str] = set()
    sent: list[str] = []

    def order(i: int) -> tuple[str, Decimal]:
        return ("1", D("191")) if i % 2 == 0 else ("2", D("189"))

    def drain(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = client.next_message(left)
            except Exception:
                return
            if msg.get(150) == "0":
                acked.add(msg[11])

    for i in range(20):
        sent.append(client.new_order("AAPL", *order(i)[:1], 5, order(i)[1]))
    drain(1.0)
    assert len(acked) == 20
    # Mid-flow: orders on the wire, acks and fills being written and sent, and the kill.
    for i in range(20, 60):
        sent.append(client.new_order("AAPL", *order(i)[:1], 5, order(i)[1]))
    deployment.kill_gateway(signal.SIGKILL)
    drain(0.5)
    client.logged_on.clear()
    print(f"sent {len(sent)} orders, {len(acked)} acknowledged before the kill")

    deployment.start_gateway()
    assert client.logged_on.wait(20), deployment.gateway_log()

    # Resend, as PossDup, every order the client never saw acknowledged: each is answered
    # once, either with its state (it was booked) or by booking it now.
    for cl in sent:
        if cl in acked:
            continue
        side, price = order(sent.index(cl))
        import quickfix as fix

        from qtinfra.domain.values import utc_now
        from qtinfra.fix.wire import fmt_decimal, fmt_time

        msg = fix.Message()
        msg.getHeader().setField(35, "D")
        for tag, value in (
            (11, cl),
            (55, "AAPL"),
            (54, side),
            (38, "5"),
            (40, "2"),
            (44, fmt_decimal(price)),
            (59, "0"),
            (60, fmt_time(utc_now())),
        ):
            msg.setField(tag, value)
        client.resend_as_poss_dup(cl, msg)
        answer = next_matching(
            client, lambda m, cl=cl: m.get(11) == cl and m.get(150) in ("0", "I")
        )
        assert answer[39] != "8", answer

    for cl in [*sent, resting]:
        rows = order_rows(deployment, cl)
        assert len(rows) == 1, (cl, rows)

    # The resting order survived the crash and its later fills still reach the client.
    client.status(resting, "AMZN", "1")
    status = next_matching(client, lambda m: m.get(11) == resting and m.get(150) == "I")
    assert (status[39], status[38], status[151]) == ("0", "100", "100")
    sweep_amzn_bids(deployment)
    cum = D(0)
    deadline = time.monotonic() + 20
    while cum < 100 and time.monotonic() < deadline:
        fill = next_matching(client, lambda m: m.get(11) == resting and m.get(150) == "F")
        cum = D(fill[14])
    assert cum == 100
    assert order_rows(deployment, resting)[0][1] == "2"


def test_client_reconnecting_with_its_sequence_numbers_gets_missed_reports_resent(
    deployment: Deployment,
) -> None:
    client = deployment.client("CLIENT1", reset=False)
    cl = rest_amzn_bid(client)
    store = client.config
    client.stop()
    deployment.clients.remove(client)

    sweep_amzn_bids(deployment)  # fills our order while the client is away

    again = BuySideClient(store)
    deployment.clients.append(again)
    assert again.start(wait=15)
    fill = next_matching(again, lambda m: m.get(11) == cl and m.get(150) == "F", timeout=20)
    # Resent by the session layer after the client's ResendRequest: PossDupFlag=Y.
    assert fill[43] == "Y" and 122 in fill
    cum = D(fill[14])
    while cum < 100:
        cum = D(next_matching(again, lambda m: m.get(11) == cl and m.get(150) == "F")[14])
    assert cum == 100
