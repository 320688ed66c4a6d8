"""The order lifecycle end to end: a real QuickFIX client, the gateway process and three
venue processes, on SQLite and on PostgreSQL.

Reference data (config/instruments.toml): AAPL trades around 190.00 on CBOE, TRQ and AQX
with tick 0.01 and lot 1, so a buy limit of 191 is marketable and a buy limit of 150 rests.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from qtinfra.fix.journal_log import mask_password
from qtinfra.tools.buyside import BuySideClient
from tests.helpers import wait_until
from tests.integration.deployment import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

D = Decimal
DONE = {"2", "4", "8", "C"}


def messages_until(
    client: BuySideClient,
    done: callable,
    timeout: float = 10.0,  # type: ignore[valid-type]
) -> list[dict[int, str]]:
    """Application messages until one satisfies done (inclusive)."""
    seen: list[dict[int, str]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"condition not met; received {seen}")
        msg = client.next_message(remaining)
        seen.append(msg)
        if done(msg):
            return seen


def until_done(
    client: BuySideClient, cl_ord_id: str, timeout: float = 10.0
) -> list[dict[int, str]]:
    return messages_until(client, lambda m: m.get(11) == cl_ord_id and m.get(39) in DONE, timeout)


def until_status(
    client: BuySideClient, cl_ord_id: str, exec_type: str, timeout: float = 10.0
) -> list[dict[int, str]]:
    return messages_until(
        client, lambda m: m.get(11) == cl_ord_id and m.get(150) == exec_type, timeout
    )


def quiet(client: BuySideClient, seconds: float = 0.5) -> list[dict[int, str]]:
    """Whatever arrives within seconds."""
    out = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            out.append(client.next_message(remaining))
        except Exception:
            break
    return out


def rest(client: BuySideClient, qty: int = 100, price: str = "180") -> str:
    cl = client.new_order("AAPL", "1", qty, D(price))
    ack = client.next_message()
    assert (ack[11], ack[150], ack[39]) == (cl, "0", "0"), ack
    return cl


# -- fills ------------------------------------------------------------------------------------


def test_marketable_buy_fills_completely_across_two_venues(client: BuySideClient) -> None:
    cl = client.new_order("AAPL", "1", 150, D("191"))
    msgs = until_done(client, cl)
    assert msgs[0][150] == "0" and msgs[0][39] == "0" and msgs[0][151] == "150"
    assert msgs[0][1] == "ACC1"  # CLIENT1's default Account from config/clients.toml
    fills = [m for m in msgs if m[150] == "F"]
    assert len({m[30] for m in fills}) >= 2, "expected fills from at least two venues"
    assert {m[30] for m in fills} <= {"CEUX", "TRQX", "AQXE"}
    assert len({m[17] for m in fills}) == len(fills), "ExecIDs must be unique"
    cum = D(0)
    notional = D(0)
    for m in fills:
        cum += D(m[32])
        notional += D(m[32]) * D(m[31])
        assert D(m[14]) == cum
        assert D(m[14]) + D(m[151]) == D(150)
        assert D(m[31]) <= D("191")
    final = msgs[-1]
    assert (final[39], final[14], final[151]) == ("2", "150", "0")
    assert D(final[6]) == (notional / cum).quantize(D("0.00000001")).normalize()


def test_each_fill_journals_the_venues_execution_facts(
    deployment: Deployment, client: BuySideClient
) -> None:
    """RTS 22 fields 3, 28 and 36 come from what the venue's fill said: its TrdMatchID, its
    TransactTime, LastMkt as sent; the client sees LastLiquidityInd (851)."""
    cl = client.new_order("AAPL", "1", 40, D("191"))
    fills = [m for m in until_done(client, cl) if m[150] == "F"]
    assert fills and all(m[851] == "2" for m in fills)  # a marketable order takes liquidity
    journaled = {
        ev["exec_id"]: ev
        for row in deployment.journal("ExecutionReport")
        if (ev := json.loads(row.payload))["exec_type"] == "F" and ev["cl_ord_id"] == cl
    }
    assert set(journaled) == {m[17] for m in fills}
    for ev in journaled.values():
        assert re.fullmatch(rf"{ev['last_mkt']}[A-Z0-9]+T\d+", ev["venue_trade_id"]), ev
        assert ev["venue_transact_time"] and ev["venue_exec_id"] and ev["child_id"]
        assert ev["last_liquidity_ind"] == "2"
    assert len({ev["venue_trade_id"] for ev in journaled.values()}) == len(journaled)


def test_limit_order_partially_fills_then_rests_and_cancels(client: BuySideClient) -> None:
    cl = client.new_order("AAPL", "1", 3000, D("190.02"))
    first = client.next_message()
    assert (first[11], first[150]) == (cl, "0")
    msgs = messages_until(client, lambda m: m.get(150) == "F")
    msgs += quiet(client, 1.0)
    fills = [m for m in msgs if m.get(150) == "F"]
    assert fills, "the marketable part must fill"
    last = fills[-1]
    cum = D(last[14])
    assert 0 < cum < 3000
    assert last[39] == "1"
    assert D(last[151]) == 3000 - cum
    cxl = client.cancel(cl, "AAPL", "1", 3000)
    msgs = messages_until(client, lambda m: m.get(39) in DONE or m.get(35) == "9")
    final = msgs[-1]
    assert final[35] == "8" and final[150] == "4" and final[39] == "4"
    assert final[11] == cxl and final[41] == cl
    assert D(final[14]) >= cum and final[151] == "0"


def test_fix50sp2_session_orders_and_fills(deployment: Deployment) -> None:
    client = deployment.client("CLIENT2")
    try:
        cl = client.new_order("SAP", "1", 40, D("181"))
        msgs = until_done(client, cl)
        assert msgs[-1][39] == "2" and msgs[-1][14] == "40"
        assert all(m[8] == "FIXT.1.1" for m in msgs)
    finally:
        client.stop()
        deployment.clients.remove(client)


def test_order_named_by_isin_only(client: BuySideClient) -> None:
    cl = client.new_order(None, "2", 10, D("189"), isin="US0378331005")
    msgs = until_done(client, cl)
    assert msgs[-1][39] == "2" and msgs[-1][55] == "AAPL" and msgs[-1][48] == "US0378331005"


# -- cancel and replace -----------------------------------------------------------------------


def test_resting_order_then_cancel(client: BuySideClient) -> None:
    cl = rest(client)
    cxl = client.cancel(cl, "AAPL", "1", 100)
    pending = client.next_message()
    assert (pending[150], pending[39], pending[11], pending[41]) == ("6", "6", cxl, cl)
    done = client.next_message()
    assert (done[150], done[39], done[11], done[41]) == ("4", "4", cxl, cl)
    assert (done[14], done[151]) == ("0", "0")


def test_replace_changes_quantity_and_price(client: BuySideClient) -> None:
    cl = rest(client)
    rpl = client.replace(cl, "AAPL", "1", 200, D("181"))
    pending = client.next_message()
    assert (pending[150], pending[39], pending[11], pending[41]) == ("E", "E", rpl, cl)
    done = client.next_message()
    assert (done[150], done[39], done[11], done[41]) == ("5", "0", rpl, cl)
    assert (done[38], done[44], done[151]) == ("200", "181", "200")
    client.status(rpl, "AAPL", "1")
    status = client.next_message()
    assert (status[150], status[39], status[38], status[44]) == ("I", "0", "200", "181")
    cxl = client.cancel(rpl, "AAPL", "1", 200)
    done = messages_until(client, lambda m: m.get(39) == "4")[-1]
    assert (done[11], done[41], done[38]) == (cxl, rpl, "200")


def test_replace_below_cum_qty_ends_the_order_filled_at_its_cum_qty(client: BuySideClient) -> None:
    # FIX 4.4 Vol 4 D.11/D.12: a replace to a quantity at or below CumQty asks for the rest
    # to be cancelled; the order is Replaced with OrderQty = CumQty and is Filled.
    cl = client.new_order("AAPL", "1", 3000, D("190.02"))
    messages_until(client, lambda m: m.get(150) == "F")
    rpl = client.replace(cl, "AAPL", "1", 1, D("190.02"))
    msgs = messages_until(client, lambda m: m.get(150) == "5", timeout=15)
    assert not [m for m in msgs if m.get(35) == "9"]
    done = msgs[-1]
    assert (done[11], done[41], done[39], done[151]) == (rpl, cl, "2", "0")
    assert done[38] == done[14] and D(done[14]) >= 1
    assert not [m for m in quiet(client, 1.0) if m.get(150) in ("0", "F")]  # nothing re-routed


def test_cancel_of_filled_order_is_rejected_too_late(client: BuySideClient) -> None:
    cl = client.new_order("AAPL", "1", 10, D("191"))
    until_done(client, cl)
    cxl = client.cancel(cl, "AAPL", "1", 10)
    reject = client.next_message()
    assert (reject[35], reject[11], reject[41], reject[102], reject[434]) == (
        "9",
        cxl,
        cl,
        "0",
        "1",
    )
    assert reject[39] == "2"
    assert "too late" in reject[58]


def test_cancel_and_replace_of_unknown_order_are_rejected(client: BuySideClient) -> None:
    cxl = client.cancel("NO-SUCH-ORDER", "AAPL", "1", 10)
    reject = client.next_message()
    assert (reject[35], reject[11], reject[102], reject[434], reject[37]) == (
        "9",
        cxl,
        "1",
        "1",
        "NONE",
    )
    rpl = client.replace("NO-SUCH-ORDER", "AAPL", "1", 10, D("180"))
    reject = client.next_message()
    assert (reject[35], reject[11], reject[102], reject[434]) == ("9", rpl, "1", "2")
    assert "unknown order" in reject[58]


def test_status_of_unknown_order(client: BuySideClient) -> None:
    client.status("NO-SUCH-ORDER", "AAPL", "1", status_req_id="Q-1")
    msg = client.next_message()
    assert (msg[35], msg[150], msg[39], msg[11], msg[37], msg[103]) == (
        "8",
        "I",
        "8",
        "NO-SUCH-ORDER",
        "NONE",
        "5",
    )
    assert "unknown order" in msg[58]
    assert msg[790] == "Q-1"
    assert not ({38, 40, 44, 59} & msg.keys())  # no order terms invented


def test_status_request_echoes_ord_status_req_id(client: BuySideClient) -> None:
    cl = rest(client)
    client.status(cl, "AAPL", "1", status_req_id="Q-2")
    msg = client.next_message()
    assert (msg[150], msg[39], msg[11], msg[790]) == ("I", "0", cl, "Q-2")
    assert 41 not in msg  # OrigClOrdID only on reports answering a cancel or replace
    client.cancel(cl, "AAPL", "1", 100)
    messages_until(client, lambda m: m.get(39) == "4")


def test_poss_resend_of_a_known_order_is_answered_with_its_state(client: BuySideClient) -> None:
    import quickfix as fix

    from qtinfra.fix.wire import fmt_time

    cl = rest(client)
    # PossResend (97=Y, a header field; FIX 4.4 Vol 2): an application-level duplicate check.
    again = fix.Message()
    again.getHeader().setField(35, "D")
    again.getHeader().setField(97, "Y")
    for tag, value in ((11, cl), (55, "AAPL"), (54, "1"), (38, "100"), (40, "2"), (44, "180")):
        again.setField(tag, value)
    again.setField(59, "0")
    again.setField(60, fmt_time(datetime.now(UTC)))
    client.send(again)
    msg = client.next_message()
    assert (msg[11], msg[150], msg[39], msg[38]) == (cl, "I", "0", "100")
    client.cancel(cl, "AAPL", "1", 100)
    messages_until(client, lambda m: m.get(39) == "4")


def test_fix50sp2_status_and_cancel_by_order_id_alone(deployment: Deployment) -> None:
    client = deployment.client("CLIENT2")
    try:
        cl = rest(client)
        client.status(cl, "AAPL", "1")
        order_id = client.next_message()[37]
        client.status(None, "AAPL", "1", order_id=order_id)
        status = client.next_message()
        assert (status[150], status[39], status[37], status[11]) == ("I", "0", order_id, cl)
        cxl = client.cancel(None, "AAPL", "1", 100, order_id=order_id)
        done = messages_until(client, lambda m: m.get(39) == "4")[-1]
        assert (done[11], done[41], done[37]) == (cxl, cl, order_id)
    finally:
        client.stop()
        deployment.clients.remove(client)


# -- validation ---------------------------------------------------------------------------------

REJECTS = [
    # (description, new_order kwargs, expected Text fragment, OrdRejReason)
    ("zero quantity", {"quantity": 0, "price": D("180")}, "must be positive", "13"),
    ("negative quantity", {"quantity": -5, "price": D("180")}, "must be positive", "13"),
    ("quantity off lot", {"quantity": D("10.5"), "price": D("180")}, "lot size", "13"),
    ("price off tick", {"quantity": 10, "price": D("150.005")}, "tick size", "99"),
    (
        "limit without price",
        {"quantity": 10, "price": None, "ord_type": "2"},
        "Price (44) is required",
        "99",
    ),
    (
        "market with price",
        {"quantity": 10, "price": D("180"), "ord_type": "1"},
        "must not be sent",
        "99",
    ),
    ("market GTC", {"quantity": 10, "price": None, "tif": "1"}, "good-till-cancel", "99"),
    (
        "unknown symbol",
        {"symbol": "ZZZZ", "quantity": 10, "price": D("1")},
        "unknown instrument",
        "1",
    ),
    (
        "unknown ISIN",
        {"symbol": None, "isin": "US0000000002", "quantity": 10, "price": D("1")},
        "unknown instrument",
        "1",
    ),
    (
        "ISIN check digit",
        {"symbol": None, "isin": "US0000000000", "quantity": 10, "price": D("1")},
        "not a valid ISIN (ISO 6166 check digit)",
        "99",
    ),
    (
        "symbol and ISIN disagree",
        {"isin": "US5949181045", "quantity": 10, "price": D("180")},
        "name different instruments",
        "1",
    ),
    ("stop order", {"quantity": 10, "price": D("180"), "ord_type": "3"}, "OrdType (40)", "99"),
    ("good till date", {"quantity": 10, "price": D("180"), "tif": "6"}, "TimeInForce (59)", "99"),
]


@pytest.mark.parametrize(("what", "kwargs", "text", "reason"), REJECTS, ids=[r[0] for r in REJECTS])
def test_invalid_new_order_is_rejected_with_reason(
    client: BuySideClient, what: str, kwargs: dict[str, object], text: str, reason: str
) -> None:
    args = {"symbol": "AAPL", "side": "1", **kwargs}
    cl = client.new_order(
        args.pop("symbol"),
        args.pop("side"),
        args.pop("quantity"),
        args.pop("price"),
        **args,  # type: ignore[arg-type]
    )
    msg = client.next_message()
    assert (msg[35], msg[11], msg[150], msg[39], msg[37]) == ("8", cl, "8", "8", "NONE"), msg
    assert text in msg[58], msg[58]
    assert msg[103] == reason
    assert (msg[14], msg[151]) == ("0", "0")


def test_missing_order_qty_is_rejected(client: BuySideClient) -> None:
    import quickfix as fix

    msg = fix.Message()
    msg.getHeader().setField(35, "D")
    for tag, value in (
        (11, "NOQTY-1"),
        (55, "AAPL"),
        (54, "1"),
        (40, "2"),
        (44, "180"),
        (60, "20260101-00:00:00.000000"),
    ):
        msg.setField(tag, value)
    client.send(msg)
    reply = client.next_message()
    assert (reply[11], reply[39]) == ("NOQTY-1", "8")
    assert "OrderQty (38) is required" in reply[58]


def test_duplicate_cl_ord_id_is_rejected_and_original_keeps_working(client: BuySideClient) -> None:
    cl = rest(client)
    client.new_order("AAPL", "1", 5, D("180"), cl_ord_id=cl)
    dup = client.next_message()
    # FIX 4.4 Vol 4 F.1.b: ExecType Rejected, OrdRejReason 6, with the status and quantities
    # of the order the ClOrdID names, not a reject of that order.
    assert (dup[11], dup[150], dup[39], dup[103], dup[38], dup[151]) == (
        cl,
        "8",
        "0",
        "6",
        "100",
        "100",
    )
    assert "duplicate ClOrdID" in dup[58]
    client.status(cl, "AAPL", "1")
    status = client.next_message()
    assert (status[39], status[38]) == ("0", "100")
    client.cancel(cl, "AAPL", "1", 100)
    messages_until(client, lambda m: m.get(39) == "4")


def test_poss_dup_resend_is_answered_with_current_state_not_booked_twice(
    client: BuySideClient, deployment: Deployment
) -> None:
    cl = rest(client, qty=70)
    import quickfix as fix

    from qtinfra.domain.values import utc_now
    from qtinfra.fix.wire import fmt_time

    msg = fix.Message()
    msg.getHeader().setField(35, "D")
    for tag, value in (
        (11, cl),
        (55, "AAPL"),
        (54, "1"),
        (38, "70"),
        (40, "2"),
        (44, "180"),
        (60, fmt_time(utc_now())),
    ):
        msg.setField(tag, value)
    client.resend_as_poss_dup(cl, msg)
    answer = client.next_message()
    assert (answer[11], answer[150], answer[39], answer[38]) == (cl, "I", "0", "70")
    engine = deployment.db()
    try:
        from sqlalchemy import text

        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM orders WHERE cl_ord_id = :c OR orig_cl_ord_id = :c"),
                {"c": cl},
            ).scalar()
    finally:
        engine.dispose()
    assert count == 1
    client.cancel(cl, "AAPL", "1", 70)
    messages_until(client, lambda m: m.get(39) == "4")


def test_unsupported_message_type_gets_business_message_reject(client: BuySideClient) -> None:
    import quickfix as fix

    msg = fix.Message()
    msg.getHeader().setField(35, "R")
    msg.setField(131, "QR-1")
    group = fix.Group(146, 55)
    group.setField(55, "AAPL")
    msg.addGroup(group)
    client.send(msg)
    reject = client.next_message()
    assert (reject[35], reject[372], reject[380]) == ("j", "R", "3")
    assert "not supported" in reject[58]


# -- logon ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "text"),
    [
        ("client1", "wrong-password", "invalid Username (553) or Password (554)"),
        ("someone", "client1-demo-pass", "invalid Username (553) or Password (554)"),
        ("client1", "", "must carry Username (553) and Password (554)"),
    ],
    ids=["wrong password", "wrong username", "missing password"],
)
def test_bad_credentials_get_logout_with_text(
    deployment: Deployment, username: str, password: str, text: str
) -> None:
    client = deployment.client("CLIENT1", username=username, password=password, wait=False)
    try:
        logout = client.admin.get(timeout=10)
        from qtinfra.tools.buyside import fields_of

        fields = fields_of(logout)
        assert fields[35] == "5"
        assert text in fields[58]
        assert not client.logged_on.is_set()
    finally:
        client.stop()
        deployment.clients.remove(client)
    assert wait_until(
        lambda: any(text in r.payload for r in deployment.journal(kind="logon.refused")), 5
    )


# -- the journal ------------------------------------------------------------------------------


def test_every_message_in_and_out_is_journaled(deployment: Deployment) -> None:
    client = deployment.client("CLIENT1")
    try:
        cl = client.new_order("AAPL", "1", 20, D("191"))
        until_done(client, cl)
        rest_cl = rest(client)
        client.cancel(rest_cl, "AAPL", "1", 100)
        messages_until(client, lambda m: m.get(39) == "4")
        client.new_order("AAPL", "1", 0, D("180"))
        client.next_message()
    finally:
        client.stop()
        deployment.clients.remove(client)
    time.sleep(0.5)  # the writer flushes session messages at least every 0.2 s
    session = "FIX.4.4:QTGW->CLIENT1"
    outbound = {r.payload for r in deployment.journal("fix.out", session)}
    inbound = {r.payload for r in deployment.journal("fix.in", session)}
    assert client.received_raw and client.sent_raw
    missing_out = [m for m in client.received_raw if m not in outbound]
    missing_in = [m for m in client.sent_raw if mask_password(m) not in inbound]
    assert not missing_out, missing_out[:3]
    assert not missing_in, missing_in[:3]
    events = {r.kind for r in deployment.journal()}
    assert {"ExecutionReport", "ChildOrderSent", "ChildCancelSent", "session.logon"} <= events
    assert all("554=client1-demo-pass" not in p for p in inbound)


def test_metrics_and_sessions_endpoints(deployment: Deployment) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{deployment.http_port}/metrics") as resp:
        body = resp.read().decode()
    assert "qtinfra_orders_total" in body and "qtinfra_fix_messages_total" in body
    rows = deployment.sessions()
    venue_rows = [r for r in rows if r["kind"] == "venue"]
    assert len(venue_rows) == 3 and all(r["logged_on"] for r in venue_rows)
    assert all(r["next_seq_out"] > 1 for r in venue_rows)


def test_logon_from_unknown_comp_id_is_closed_without_a_word_and_journaled(
    deployment: Deployment,
) -> None:
    import queue

    # FIX session test cases: a stranger learns nothing of which CompIDs exist.
    stranger = deployment.client("STRANGER", password="stranger-secret", wait=False)
    try:
        with pytest.raises(queue.Empty):
            stranger.admin.get(timeout=3)
        assert not stranger.logged_on.is_set()
    finally:
        stranger.stop()
        deployment.clients.remove(stranger)

    def refused() -> list[str]:
        return [
            r.payload
            for r in deployment.journal(kind="fix.event")
            if "Session not found" in r.payload and "49=STRANGER" in r.payload
        ]

    assert wait_until(refused, 5)
    assert all("stranger-secret" not in p for p in refused())
    assert all("stranger-secret" not in r.payload for r in deployment.journal(kind="fix.in"))


def test_timestamps_are_milliseconds_on_fix44_and_microseconds_on_fixt(
    client: BuySideClient, deployment: Deployment
) -> None:
    # FIX 4.4's UTCTimestamp stops at milliseconds; FIXT.1.1 sessions (and the journal, RTS
    # 25) carry microseconds.
    cl = rest(client)
    client.status(cl, "AAPL", "1")
    ack = client.next_message()
    assert len(ack[60]) == len("20260302-09:30:00.123"), ack[60]
    client.cancel(cl, "AAPL", "1", 100)
    messages_until(client, lambda m: m.get(39) == "4")
    sp2 = deployment.client("CLIENT2")
    try:
        cl2 = rest(sp2)
        sp2.status(cl2, "AAPL", "1")
        ack2 = sp2.next_message()
        assert len(ack2[60]) == len("20260302-09:30:00.123456"), ack2[60]
        sp2.cancel(cl2, "AAPL", "1", 100)
        messages_until(sp2, lambda m: m.get(39) == "4")
    finally:
        sp2.stop()
        deployment.clients.remove(sp2)
    events = [r.payload for r in deployment.journal("ExecutionReport") if cl in r.payload]
    assert events and all('"transact_time":"' in e for e in events)
    stamp = events[0].split('"transact_time":"')[1].split('"')[0]
    assert len(stamp.split(".")[1].split("+")[0]) == 6  # the journal keeps microseconds
