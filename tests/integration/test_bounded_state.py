"""Bounded state over real sockets: a gateway that holds only the newest 2 done orders
still answers for older ones from the database, by ClOrdID and by OrderID, before and after
a restart (which loads open orders and today's newest done ones only)."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import deploy_on
from tests.integration.deployment import Deployment, wait_done
from tests.integration.test_order_lifecycle import messages_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def small(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    yield from deploy_on(request, tmp_path_factory, gateway_settings={"recent_done_orders": "2"})


def _filled(d: Deployment, n: int) -> dict[str, str]:
    """n marketable orders, each filled; ClOrdID -> OrderID."""
    client = d.clients[0]
    orders = {}
    batch = uuid.uuid4().hex[:8]
    for i in range(n):
        cl = client.new_order("AAPL", "1", 10, "191.00", cl_ord_id=f"OLD-{batch}-{i}")
        seen = wait_done(client, cl)
        assert seen[-1][39] == "2", seen
        orders[cl] = seen[-1][37]
    return orders


def _answers_for_old_orders(d: Deployment, orders: dict[str, str]) -> None:
    client = d.clients[0]
    first, order_id = next(iter(orders.items()))
    # A status request by ClOrdID: the order's real state, read back from the database.
    client.status(first, "AAPL", "1", status_req_id="S1")
    [status] = messages_until(client, lambda m: m.get(790) == "S1")[-1:]
    assert (status[150], status[39], status[37], status[14]) == ("I", "2", order_id, "10")
    # The same ClOrdID again is a duplicate of that order, not a new one.
    client.new_order("AAPL", "1", 10, "191.00", cl_ord_id=first)
    dup = messages_until(client, lambda m: m.get(11) == first and m.get(150) == "8")[-1]
    assert (dup[103], dup[37], dup[39]) == ("6", order_id, "2"), dup
    # A cancel of it is too late.
    client.cancel(first, "AAPL", "1", 10, cl_ord_id=f"CXL-{first}")
    reject = messages_until(client, lambda m: m.get(35) == "9" and m.get(41) == first)[-1]
    assert (reject[102], reject[37]) == ("0", order_id), reject


def test_orders_pushed_out_of_memory_are_answered_from_the_database(small: Deployment) -> None:
    small.client("CLIENT1")
    orders = _filled(small, 5)
    _answers_for_old_orders(small, orders)
    for c in small.clients:
        c.stop()
    small.clients.clear()


def test_after_a_restart_old_orders_are_answered_from_the_database(small: Deployment) -> None:
    small.client("CLIENT1")
    orders = _filled(small, 4)
    for c in small.clients:
        c.stop()
    small.clients.clear()
    small.kill_gateway(signal.SIGTERM)
    small.start_gateway()
    # The restart loaded the newest 2 done orders and their ClOrdIDs, not the history.
    [restored] = [
        json.loads(line)
        for line in small.gateway_log(chars=200_000).splitlines()
        if '"state_restored"' in line
    ][-1:]
    assert (restored["open_orders"], restored["cl_ord_ids"]) == (0, 2), restored
    small.client("CLIENT1")
    _answers_for_old_orders(small, orders)
