"""The pre-trade risk chain, the kill switch and limits control end to end: a real QuickFIX
client, the gateway process and three venue processes, on SQLite and on PostgreSQL.

The deployment runs with a risk configuration of its own (RISK_TOML), with limits small
enough that each check is hit by an ordinary order:

* ACC1 (CLIENT1's default account): max_order_quantity 500, max_order_notional 50,000 EUR,
  10 order messages per second, AMZN restricted, no short selling, a position limit of 150
  in MSFT; start-of-day positions AAPL 1,000 and MSFT 100;
* ACC2 (DESK2's account): credit_limit 3,000 EUR;
* ACC3 (DESK3's account): a client with no MiFID II defaults, so its orders must carry
  Parties and OrderCapacity;
* firm-wide: price collar 10%, GOOGL restricted;
* NOREF: an instrument without a reference price (the venues seed no book for it);
  SHUT: an instrument whose calendar trades on one weekday that is none of yesterday, today
  or tomorrow, so it is closed whenever the tests run.

Orders meant to rest are far from the market but inside the collar: AAPL (reference
190.00) buys at 185-186, SAP (180.00) buys at 170. The module's tests share one session
per client (CLIENT1; DESK2 and DESK3, FIX 4.4 sessions authenticated by address), each
logged on once: after each test every order message must have had its answer and each
session must still be the one logged on at the start. The DAY-expiry test needs a
calendar closing seconds after start, so it runs a deployment of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import quickfix as fix
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import URL

from qtinfra.config import PROJECT_ROOT
from qtinfra.domain.values import utc_now
from qtinfra.fix.wire import fmt_time, parse_time
from qtinfra.tools.buyside import BuySideClient, fields_of
from tests.helpers import wait_until
from tests.integration.deployment import Deployment, deploy, deployed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

D = Decimal
DONE = {"2", "3", "4", "8", "C"}
SESSION = "FIX.4.4:QTGW->CLIENT1"
THROTTLE = 10
"""ACC1's messages_per_second, the throttle of CLIENT1's session."""

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

RISK_TOML = """
[firm]
base_currency = "EUR"
price_collar_pct = "10"
max_order_quantity = "1000000"
max_order_notional = "10000000"
session_messages_per_second = 1000
messages_per_second = 5000
restricted = ["GOOGL"]

[fx]
EUR = "1"
USD = "0.92"
GBP = "1.17"
CHF = "1.06"

[[client]]
account = "ACC1"
max_order_quantity = "500"
max_order_notional = "50000"
messages_per_second = 10
restricted = ["AMZN"]
short_selling = false

  [[client.instrument]]
  symbol = "MSFT"
  position_limit = "150"

[[client]]
account = "ACC2"
credit_limit = "3000"
"""

POSITIONS_TOML = """
as_of = 2026-01-01

[[position]]
account = "ACC1"
symbol = "AAPL"
quantity = "1000"

[[position]]
account = "ACC1"
symbol = "MSFT"
quantity = "100"

[[position]]
account = "ACC2"
symbol = "AAPL"
quantity = "500"
"""

EXTRA_ACCOUNTS = """
# A client without MiFID II defaults: its orders must carry Parties (453) and OrderCapacity.
[[account]]
account = "ACC3"
name = "No Defaults"
kind = "natural"
country = "GB"
national_id = "GBJE654321C"
"""

EXTRA_INSTRUMENTS = """
[[instrument]]
symbol = "NOREF"
isin = "XS0000000017"
currency = "EUR"
tick_size = "0.01"
lot_size = "1"
venues = ["CBOE", "TRQ", "AQX"]
calendar = "SIM"

[[instrument]]
symbol = "SHUT"
isin = "XS0000000025"
currency = "EUR"
tick_size = "0.01"
lot_size = "1"
reference_price = "50.00"
venues = ["CBOE"]
calendar = "SHUT"
"""


DESKS = """
[[client]]
comp_id = "DESK2"
auth = "ip"
allowed_ips = ["127.0.0.1"]
account = "ACC2"

[[client]]
comp_id = "DESK3"
auth = "ip"
allowed_ips = ["127.0.0.1"]
account = "ACC3"
"""

DESK_SESSIONS = """
[SESSION]
BeginString=FIX.4.4
TargetCompID=DESK2
DataDictionary=fix_specs/FIX44.xml

[SESSION]
BeginString=FIX.4.4
TargetCompID=DESK3
DataDictionary=fix_specs/FIX44.xml
"""


def closed_calendar() -> str:
    """A calendar trading only on a weekday that is none of yesterday, today and tomorrow
    (UTC), so it is closed now and for as long as the tests run."""
    day = WEEKDAYS[(datetime.now(UTC).weekday() + 3) % 7]
    return (
        '\n[[calendar]]\nname = "SHUT"\ntimezone = "UTC"\nopen = 00:00:00\n'
        f'close = 23:59:59\ntrading_days = ["{day}"]\n'
    )


def risk_options() -> dict[str, Any]:
    """deploy() options: the test's configuration files and the DESK sessions."""
    config = PROJECT_ROOT / "config"
    files = {
        "risk.toml": RISK_TOML,
        "positions.toml": POSITIONS_TOML,
        "accounts.toml": (config / "accounts.toml").read_text() + EXTRA_ACCOUNTS,
        "instruments.toml": (config / "instruments.toml").read_text() + EXTRA_INSTRUMENTS,
        "calendars.toml": (config / "calendars.toml").read_text() + closed_calendar(),
    }
    return {"files": files, "extra_clients_toml": DESKS, "extra_sessions": DESK_SESSIONS}


# -- the deployment, its client and the operator's CLI -----------------------------------------


def _admin(server: URL) -> psycopg.Connection[tuple[object, ...]]:
    conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Three venues and the gateway with the test's risk configuration (one per database)."""
    root = tmp_path_factory.mktemp(f"risk-{request.param}")
    if request.param == "sqlite":
        yield from deploy(root, f"sqlite:///{root / 'qtinfra.db'}", **risk_options())
        return
    server: URL = request.getfixturevalue("pg_server_url")
    name = f"qtinfra_risk_{uuid.uuid4().hex[:12]}"
    with _admin(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        yield from deploy(root, url, **risk_options())
    finally:
        with _admin(server) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class Trader:
    """A client's FIX session. Every report is kept until a test takes it, so waiting for
    one never loses another; every order message sent is remembered, so the test can end
    by checking that each got an answer."""

    client: BuySideClient
    requests: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """ClOrdID -> (symbol, side, quantity) of each order message sent."""
    sent_at: deque[float] = field(default_factory=deque)
    """time.monotonic() of the order messages sent on this session (shared by the tests
    that use one session, so each can wait for room under the session's throttle)."""
    received: list[dict[int, str]] = field(default_factory=list)
    unread: list[dict[int, str]] = field(default_factory=list)

    # sending

    def order(
        self,
        symbol: str,
        side: str,
        quantity: int | str,
        price: str | None = None,
        **kw: object,
    ) -> str:
        cl = self.client.new_order(symbol, side, quantity, D(price) if price else None, **kw)  # type: ignore[arg-type]
        self.sent(cl, symbol, side, quantity)
        return cl

    def sent(self, cl: str, symbol: str, side: str, quantity: object) -> None:
        self.requests[cl] = (symbol, side, str(quantity))
        self.sent_at.append(time.monotonic())

    def wait_for_throttle_room(self, room: int) -> None:
        """Sleep until at most THROTTLE - room order messages went out in the last second
        (with a margin for the time they take to reach the gateway)."""
        while True:
            horizon = time.monotonic() - 1.1
            while self.sent_at and self.sent_at[0] <= horizon:
                self.sent_at.popleft()
            if len(self.sent_at) <= THROTTLE - room:
                return
            time.sleep(self.sent_at[0] - horizon + 0.01)

    def order_with_parties(
        self,
        symbol: str,
        side: str,
        quantity: int,
        price: str,
        *,
        parties: list[tuple[str, str, int, int]],
        order_capacity: str | None = None,
    ) -> str:
        """A NewOrderSingle carrying Parties (453): (PartyID, PartyIDSource, PartyRole,
        PartyRoleQualifier) each. BuySideClient.new_order's `extra` sets flat fields only,
        so the message is built here and sent through the same session."""
        cl = self.client.next_cl_ord_id()
        msg = fix.Message()
        msg.getHeader().setField(35, "D")
        for tag, value in (
            (11, cl),
            (55, symbol),
            (54, side),
            (38, str(quantity)),
            (40, "2"),
            (44, price),
            (59, "0"),
            (60, fmt_time(utc_now())),
        ):
            msg.setField(tag, value)
        for party_id, source, role, qualifier in parties:
            group = fix.Group(453, 448)
            group.setField(448, party_id)
            group.setField(447, source)
            group.setField(452, str(role))
            group.setField(2376, str(qualifier))
            msg.addGroup(group)
        if order_capacity is not None:
            msg.setField(528, order_capacity)
        self.client.send(msg)
        self.sent(cl, symbol, side, quantity)
        return cl

    def cancel(self, cl: str, symbol: str, side: str, quantity: int | str) -> str:
        request = self.client.cancel(cl, symbol, side, quantity)
        self.sent(request, symbol, side, quantity)
        return request

    def replace(self, cl: str, symbol: str, side: str, quantity: int, price: str) -> str:
        request = self.client.replace(cl, symbol, side, quantity, D(price))
        self.sent(request, symbol, side, quantity)
        return request

    # reading

    def take(
        self, predicate: Callable[[dict[int, str]], bool], timeout: float = 10.0
    ) -> dict[int, str]:
        """The first message, read or still to come, that satisfies predicate."""
        for i, msg in enumerate(self.unread):
            if predicate(msg):
                return self.unread.pop(i)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = self.client.next_message(remaining)
            except queue.Empty:
                break
            self.received.append(msg)
            if predicate(msg):
                return msg
            self.unread.append(msg)
        raise AssertionError(f"no matching message within {timeout} s; unread: {self.unread}")

    def answer(self, cl: str, timeout: float = 10.0) -> dict[int, str]:
        """The first ExecutionReport or OrderCancelReject about request cl."""
        return self.take(lambda m: m.get(11) == cl, timeout)

    def report(self, cl: str, exec_type: str, timeout: float = 10.0) -> dict[int, str]:
        return self.take(lambda m: m.get(11) == cl and m.get(150) == exec_type, timeout)

    def rest(self, symbol: str, side: str, quantity: int, price: str, **kw: object) -> str:
        """A new order that must be accepted (and rest: it is far from the market)."""
        cl = self.order(symbol, side, quantity, price, **kw)
        ack = self.answer(cl)
        assert (ack[35], ack[150], ack[39]) == ("8", "0", "0"), ack
        return cl

    def cancel_done(self, cl: str) -> dict[int, str]:
        symbol, side, quantity = self.requests[cl]
        request = self.cancel(cl, symbol, side, quantity)
        done = self.take(lambda m: m.get(11) == request and (m.get(35) == "9" or m.get(39) in DONE))
        assert (done[35], done[150], done[39]) == ("8", "4", "4"), done
        return done

    def rejected(self, cl: str) -> dict[int, str]:
        msg = self.answer(cl)
        assert (msg[35], msg[150], msg[39], msg[37]) == ("8", "8", "8", "NONE"), msg
        assert (msg[14], msg[151]) == ("0", "0"), msg
        return msg

    def unanswered(self) -> set[str]:
        answered = {m.get(11) for m in self.received}
        return set(self.requests) - answered

    def open_orders(self) -> list[str]:
        """Orders this test had accepted that no report has shown done yet."""
        accepted = [
            m[11]
            for m in self.received
            if m.get(35) == "8" and m.get(150) == "0" and m[11] in self.requests
        ]
        done = {
            m.get(k)
            for m in self.received
            if m.get(39) in DONE and m.get(35) == "8"
            for k in (11, 41)
        }
        return [cl for cl in accepted if cl not in done]


@dataclass
class Session:
    client: BuySideClient
    sent_at: deque[float] = field(default_factory=deque)


@pytest.fixture(scope="module")
def sessions(deployment: Deployment) -> Iterator[dict[str, Session]]:
    """The module's client sessions by CompID, each logged on once, when a test first
    needs it."""
    opened: dict[str, Session] = {}
    yield opened
    for s in opened.values():
        s.client.stop()
        deployment.clients.remove(s.client)


def logons_sent(client: BuySideClient) -> int:
    return sum("\x0135=A\x01" in m for m in client.sent_raw)


def _trade(deployment: Deployment, sessions: dict[str, Session], comp_id: str) -> Iterator[Trader]:
    """A Trader on the module's session of comp_id. Afterwards: every order message got an
    answer, the session is still the one logged on at the start (no Logout, no reconnect,
    no session-level Reject), and nothing the test left open keeps working (so the next
    test starts from the same exposure)."""
    session = sessions.get(comp_id)
    if session is None:
        ip_auth = comp_id.startswith("DESK")
        client = (
            deployment.client(comp_id, username="", password="")
            if ip_auth
            else deployment.client(comp_id)
        )
        session = sessions[comp_id] = Session(client)
    client = session.client
    t = Trader(client, sent_at=session.sent_at)
    t.wait_for_throttle_room(8)  # no test sends more than 8 order messages within a second
    try:
        yield t
        assert wait_until(lambda: not _drain(t), 10), f"unanswered: {t.unanswered()}"
        assert client.logged_on.is_set(), f"{comp_id}: the session must stay up"
        assert logons_sent(client) == 1, f"{comp_id}: the session must not log on again"
        admin = []
        while not client.admin.empty():
            admin.append(fields_of(client.admin.get()))
        assert not admin, f"{comp_id}: session-level messages: {admin}"
    finally:
        for cl in t.open_orders():
            with contextlib.suppress(AssertionError):  # best effort: the test failed
                t.cancel_done(cl)


@pytest.fixture
def trader(deployment: Deployment, sessions: dict[str, Session]) -> Iterator[Trader]:
    """CLIENT1 (account ACC1)."""
    yield from _trade(deployment, sessions, "CLIENT1")


@pytest.fixture
def desk2(deployment: Deployment, sessions: dict[str, Session]) -> Iterator[Trader]:
    """DESK2 (account ACC2)."""
    yield from _trade(deployment, sessions, "DESK2")


@pytest.fixture
def desk3(deployment: Deployment, sessions: dict[str, Session]) -> Iterator[Trader]:
    """DESK3 (account ACC3, no MiFID II defaults)."""
    yield from _trade(deployment, sessions, "DESK3")


def _drain(t: Trader) -> set[str]:
    """Read what has arrived; the requests still without an answer."""
    while True:
        try:
            msg = t.client.next_message(0.05)
        except queue.Empty:
            break
        t.received.append(msg)
        t.unread.append(msg)
    return t.unanswered()


def qtinfra(d: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's `qtinfra` command against the deployment's config directory."""
    env = dict(os.environ)
    env.pop("QTINFRA_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "qtinfra.cli", "--config-dir", str(d.config_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def risk_status(d: Deployment) -> dict[str, Any]:
    """GET /risk: trading states and usage."""
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/risk", timeout=5) as resp:
        status: dict[str, Any] = json.load(resp)
    return status


def ops_post(d: Deployment, path: str, **body: str) -> tuple[int, dict[str, Any]]:
    """POST to an operator control endpoint with the gateway's operator token."""
    status, answer = d.post(path, json.dumps(body).encode())
    return status, answer


def journal_events(d: Deployment, kind: str) -> list[dict[str, object]]:
    return [json.loads(r.payload) for r in d.journal(kind)]


def query(d: Deployment, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = d.db()
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


# -- each check refuses the order it is there for ------------------------------------------

CHECKS = [
    # (case, order kwargs, Text fragments, OrdRejReason)
    (
        "price collar 10%",
        {"symbol": "AAPL", "side": "1", "quantity": 10, "price": "210"},
        ["price collar: limit price 210 is", "beyond price_collar_pct 10% firm-wide"],
        "99",  # FIX 4.4 has no 16 (price band); see the FIX 5.0SP2 test below
    ),
    (
        "market order without reference price",
        {"symbol": "NOREF", "side": "1", "quantity": 10, "price": None},
        [
            "price collar: market order rejected, no reference price for NOREF",
            "no venue quotes it and none is configured",
        ],
        "99",
    ),
    (
        "max order quantity",
        {"symbol": "SAP", "side": "1", "quantity": 501, "price": "170"},
        ["order quantity 501 exceeds max_order_quantity 500 for client ACC1"],
        "3",
    ),
    (
        "max order notional",
        {"symbol": "SAP", "side": "1", "quantity": 300, "price": "170"},
        ["order notional 51,000.00 EUR exceeds max_order_notional 50,000.00 EUR for client ACC1"],
        "3",
    ),
    (
        "position limit",
        {"symbol": "MSFT", "side": "1", "quantity": 60, "price": "400"},
        [
            "position limit: MSFT position 100 with open buys 0 and this order 60 could "
            "reach 160, beyond position_limit 150 for client ACC1 in MSFT"
        ],
        "3",
    ),
    (
        "sell beyond the long position",
        {"symbol": "MSFT", "side": "2", "quantity": 120, "price": "420"},
        [
            "short selling: sell of 120 MSFT exceeds the long position available to sell (100)",
            "send it as a short sell (Side 5)",
        ],
        "0",
    ),
    (
        "short sell not allowed",
        {"symbol": "MSFT", "side": "5", "quantity": 10, "price": "420"},
        ["short selling: client ACC1 may not sell MSFT short"],
        "0",
    ),
    (
        "restricted for the client",
        {"symbol": "AMZN", "side": "1", "quantity": 10, "price": "175"},
        ["restricted list: AMZN is restricted for client ACC1"],
        "0",
    ),
    (
        "restricted firm-wide",
        {"symbol": "GOOGL", "side": "1", "quantity": 10, "price": "160"},
        ["restricted list: GOOGL is restricted firm-wide"],
        "0",
    ),
    (
        "trading hours",
        {"symbol": "SHUT", "side": "1", "quantity": 10, "price": "50"},
        ["trading hours: outside the trading hours of SHUT", "next open", "(SHUT)"],
        "2",
    ),
    (
        "ExDestination not a venue",
        {"symbol": "AAPL", "side": "1", "quantity": 10, "price": "185", "extra": {100: "XNYS"}},
        ["ExDestination (100) XNYS is not a venue this gateway routes to (AQXE, CEUX, TRQX)"],
        "99",
    ),
    (
        "ExDestination not trading the instrument",
        {"symbol": "JPM", "side": "1", "quantity": 10, "price": "195", "extra": {100: "CEUX"}},
        ["ExDestination (100) CEUX does not trade JPM"],
        "99",
    ),
    (
        "unknown account",
        {"symbol": "AAPL", "side": "1", "quantity": 10, "price": "185", "account": "ACC9"},
        ["MiFID II order data: Account ACC9 is not a known client"],
        "15",
    ),
    (
        "account of another session",
        {"symbol": "AAPL", "side": "1", "quantity": 10, "price": "185", "account": "ACC2"},
        ["MiFID II order data: Account ACC2 may not be traded on this session"],
        "15",
    ),
]


@pytest.mark.parametrize(("case", "order", "texts", "reason"), CHECKS, ids=[c[0] for c in CHECKS])
def test_each_check_rejects_its_order_with_text_and_ord_rej_reason(
    trader: Trader, case: str, order: dict[str, object], texts: list[str], reason: str
) -> None:
    args = dict(order)
    cl = trader.order(
        args.pop("symbol"), args.pop("side"), args.pop("quantity"), args.pop("price"), **args
    )  # type: ignore[arg-type]
    msg = trader.rejected(cl)
    for fragment in texts:
        assert fragment in msg[58], msg[58]
    assert msg[103] == reason, msg


def test_price_band_reason_on_a_fix50sp2_session(deployment: Deployment) -> None:
    """OrdRejReason 16 (price exceeds current price band) exists from FIX 5.0 on."""
    client = deployment.client("CLIENT2")
    try:
        t = Trader(client)
        cl = t.order("SAP", "1", 10, "200")  # 11% above 180.00
        msg = t.rejected(cl)
        assert msg[8] == "FIXT.1.1" and msg[103] == "16", msg
        assert msg[58].startswith("price collar: limit price 200 is"), msg[58]
        market = t.order("NOREF", "2", 10)
        msg = t.rejected(market)
        assert msg[103] == "16" and "no reference price for NOREF" in msg[58], msg
        assert client.logged_on.is_set()
    finally:
        client.stop()
        deployment.clients.remove(client)


def test_credit_limit_counts_open_orders(desk2: Trader) -> None:
    first = desk2.rest("SAP", "1", 10, "170")  # 1,700 EUR of ACC2's 3,000
    second = desk2.order("SAP", "1", 10, "170")
    msg = desk2.rejected(second)
    assert msg[103] == "3"
    assert msg[58] == (
        "credit limit: open orders and today's executions 1,700.00 EUR plus this order "
        "1,700.00 EUR exceed credit_limit 3,000.00 EUR for client ACC2"
    )
    desk2.cancel_done(first)
    # The cancelled order no longer uses credit.
    third = desk2.rest("SAP", "1", 10, "170")
    desk2.cancel_done(third)


def test_mifid_order_data_missing_then_from_parties_and_order_capacity_in_the_message(
    desk3: Trader, deployment: Deployment
) -> None:
    # ACC3 has no defaults and decides itself: an order without Parties (453) needs no
    # decision maker of the firm, but lacks its executing trader; dealt on own account
    # (OrderCapacity P) the firm decides, and must name who.
    msg = desk3.rejected(desk3.order("AAPL", "1", 10, "185"))
    assert msg[58] == (
        "MiFID II order data: executing trader or algorithm missing: send Parties (453) with "
        "PartyRole (452) 12, or set a default for account ACC3"
    )
    assert msg[103] == "99", msg
    own_account = desk3.order_with_parties(
        "AAPL", "1", 10, "185", parties=[("ALGO-9", "P", 12, 22)], order_capacity="P"
    )
    assert desk3.rejected(own_account)[58] == (
        "MiFID II order data: investment decision maker missing: the firm decides for "
        "account ACC3 (OrderCapacity P); send Parties (453) with PartyRole (452) 122, or set "
        "a default for it"
    )
    decision = ("DM-7", "P", 122, 24)
    executing = ("ALGO-9", "P", 12, 22)
    bad_qualifier = desk3.order_with_parties(
        "AAPL", "1", 10, "185", parties=[("DM-7", "P", 122, 1)], order_capacity="P"
    )
    assert (
        "PartyRoleQualifier (2376) 1 is not valid for PartyRole 122"
        in (desk3.rejected(bad_qualifier)[58])
    )
    no_trader = desk3.order_with_parties(
        "AAPL", "1", 10, "185", parties=[decision], order_capacity="P"
    )
    assert "executing trader or algorithm missing" in desk3.rejected(no_trader)[58]
    no_capacity = desk3.order_with_parties("AAPL", "1", 10, "185", parties=[decision, executing])
    msg = desk3.rejected(no_capacity)
    assert "trading capacity missing: send OrderCapacity (528)" in msg[58] and msg[103] == "99"
    # Dealing on own account, the firm decides: DM-7 is not one of its people (people.toml).
    not_ours = desk3.order_with_parties(
        "AAPL", "1", 10, "185", parties=[decision, executing], order_capacity="P"
    )
    msg = desk3.rejected(not_ours)
    assert "the firm deals on own account (OrderCapacity P)" in msg[58] and "DM-7" in msg[58]
    firm_person = ("1001", "P", 122, 24)
    cl = desk3.order_with_parties(
        "AAPL", "1", 10, "185", parties=[firm_person, executing], order_capacity="P"
    )
    ack = desk3.answer(cl)
    assert (ack[150], ack[39], ack[1]) == ("0", "0", "ACC3"), ack
    rows = query(
        deployment,
        "SELECT decision_maker_id, decision_maker_qualifier, executing_trader_id, "
        "executing_trader_qualifier, order_capacity FROM orders WHERE order_id = :o",
        o=ack[37],
    )
    assert rows == [("1001", 24, "ALGO-9", 22, "P")]
    desk3.cancel_done(cl)


def test_directed_order_goes_to_its_venue_only(trader: Trader, deployment: Deployment) -> None:
    cl = trader.order("AAPL", "1", 10, "185", extra={100: "CEUX"})
    ack = trader.answer(cl)
    assert (ack[150], ack[39]) == ("0", "0"), ack
    assert wait_until(lambda: _children(deployment, ack[37]))
    venues = [(v,) for _, v, _ in _children(deployment, ack[37])]
    assert {v for (v,) in venues} == {"CBOE"}
    trader.cancel_done(cl)


# -- the throttle ---------------------------------------------------------------------------


def test_throttle_holds_under_a_burst(trader: Trader) -> None:
    trader.wait_for_throttle_room(THROTTLE)  # nothing of earlier tests in the last second
    burst = [
        trader.client.new_order("AAPL", "1", 1, D("185"), tif="3") for _ in range(3 * THROTTLE)
    ]
    for cl in burst:
        trader.sent(cl, "AAPL", "1", 1)
    first = {cl: trader.answer(cl) for cl in burst}  # every order is answered
    accepted = [m for m in first.values() if m[150] == "0"]
    refused = [m for m in first.values() if m[150] == "8"]
    assert len(accepted) + len(refused) == 3 * THROTTLE
    times = sorted(parse_time(m[60]) for m in accepted)
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t - start < timedelta(seconds=1)]
        assert len(in_window) <= THROTTLE, times
    if times[-1] - times[0] < timedelta(seconds=1):
        assert len(accepted) == THROTTLE
    for m in refused:
        assert m[39] == "8" and m[103] == "99"
        assert m[58].startswith(
            f"throttle: more than {THROTTLE} order messages per second on this session"
        ), m[58]
    # The accepted IOC buys (far below the market) end Canceled; after a second the
    # session may send again.
    for m in accepted:
        assert trader.take(lambda r, cl=m[11]: r.get(11) == cl and r.get(39) in DONE)[39] == "4"
    trader.wait_for_throttle_room(THROTTLE)
    cl = trader.rest("AAPL", "1", 1, "185")
    trader.cancel_done(cl)


def test_limits_reload_keeps_the_throttle_window(trader: Trader, deployment: Deployment) -> None:
    trader.wait_for_throttle_room(THROTTLE)
    started = time.monotonic()
    first = [trader.order("AAPL", "1", 1, "185", tif="3") for _ in range(THROTTLE)]
    assert all(trader.answer(cl)[150] == "0" for cl in first)  # the window is full
    status, answer = ops_post(deployment, "/risk/reload", reason="no change", actor="throttle")
    assert status == 200, answer
    second = [trader.order("AAPL", "1", 1, "185", tif="3") for _ in range(THROTTLE)]
    elapsed = time.monotonic() - started
    accepted = [cl for cl in second if trader.answer(cl)[150] == "0"]
    if elapsed > 0.8:
        pytest.skip(f"the reload took too long ({elapsed:.2f} s) to tell")
    # A reload keeps the session's throttle window: the first ten are still in the last
    # second, so there is no room left.
    assert not accepted, f"{len(accepted)} accepted beyond the throttle after the reload"


# -- the kill switch ------------------------------------------------------------------------


def _children(d: Deployment, order_id: str) -> list[tuple[object, ...]]:
    return query(
        d, "SELECT child_id, venue, status FROM child_orders WHERE order_id = :o", o=order_id
    )


def test_kill_switch_cancels_open_orders_at_the_venues_halts_and_resumes(
    trader: Trader, desk2: Trader, deployment: Deployment
) -> None:
    reason = "risk test: runaway algorithm"
    orders = {}
    for qty, price in ((10, "185"), (20, "186")):
        cl = trader.order("AAPL", "1", qty, price)
        ack = trader.answer(cl)
        assert (ack[150], ack[39]) == ("0", "0"), ack
        orders[cl] = ack[37]
    other_client = desk2.rest("SAP", "1", 10, "170")  # ACC2's
    # Both are working at the venues before the switch is thrown.
    assert wait_until(
        lambda: all(
            (kids := _children(deployment, o)) and all(k[2] == "0" for k in kids)
            for o in orders.values()
        ),
        10,
    ), [_children(deployment, o) for o in orders.values()]
    try:
        started = datetime.now(UTC)
        done = qtinfra(
            deployment, "kill", "--client", "ACC1", "--reason", reason, "--by", "risk-officer"
        )
        returned = datetime.now(UTC)
        assert done.returncode == 0, done.stderr
        assert "client ACC1: HALTED; cancelling 2 open orders at the venues" in done.stdout
        canceled = []
        for cl in orders:
            msg = trader.report(cl, "4", timeout=5)
            assert (msg[39], msg[151], msg[14]) == ("4", "0", "0"), msg
            assert msg[58] == f"kill switch: {reason}"
            assert msg[378] == "4" and 41 not in msg  # unsolicited: broker option
            canceled.append(parse_time(msg[60]))
        # How fast it took effect, by the gateway's clock (same machine): from the state
        # change it journaled to the last Canceled report, and from the CLI call.
        (halt,) = [
            e for e in journal_events(deployment, "TradingStateChanged") if e["reason"] == reason
        ]
        switched = datetime.fromisoformat(str(halt["transact_time"]))
        effect = (max(canceled) - switched).total_seconds()
        print(
            f"\nkill: CLI ran {(returned - started).total_seconds():.3f} s; state changed "
            f"{(switched - started).total_seconds():.3f} s after the CLI call; both Canceled "
            f"{effect * 1000:.1f} ms after the state change, "
            f"{(max(canceled) - started).total_seconds():.3f} s after the CLI call"
        )
        assert started <= switched <= min(canceled)
        assert effect < 1.0
        assert max(canceled) <= returned + timedelta(seconds=1)
        # The venues cancelled the children (the gateway saw their Canceled reports).
        for order_id in orders.values():
            assert wait_until(
                lambda o=order_id: all(k[2] == "4" for k in _children(deployment, o)), 5
            ), _children(deployment, order_id)
            for child_id, venue, _ in _children(deployment, order_id):
                assert wait_until(
                    lambda c=child_id, v=venue: any(
                        "\x0135=8\x01" in r.payload
                        and "\x01150=4\x01" in r.payload
                        and f"\x0141={c}\x01" in r.payload
                        for r in deployment.journal("fix.in", f"FIX.4.4:QTGW->{v}")
                    ),
                    5,
                ), f"no Canceled report from {venue} for {child_id}"
        # Only cancels pass now.
        halted = trader.order("AAPL", "1", 10, "185")
        msg = trader.rejected(halted)
        assert msg[58] == (
            f"kill switch: trading is HALTED for client ACC1 ({reason}); only cancels are accepted"
        )
        assert msg[103] == "0"
        # The switch was for client ACC1: ACC2's order still works, ACC2 still trades.
        desk2.client.status(other_client, "SAP", "1")
        assert desk2.report(other_client, "I")[39] == "0"
        desk2.cancel_done(desk2.rest("SAP", "1", 5, "170"))
        states = risk_status(deployment)["states"]
        assert states == [
            {"scope": "client", "target": "ACC1", "state": "HALTED", "reason": reason}
        ]
    finally:
        resumed = qtinfra(
            deployment,
            "resume",
            "--client",
            "ACC1",
            "--reason",
            "risk test: resolved",
            "--by",
            "risk-officer",
        )
    assert resumed.returncode == 0, resumed.stderr
    assert "client ACC1: ACTIVE" in resumed.stdout
    cl = trader.rest("AAPL", "1", 10, "185")
    trader.cancel_done(cl)
    desk2.cancel_done(other_client)
    changes = [
        e
        for e in journal_events(deployment, "TradingStateChanged")
        if e["reason"].startswith("risk test")
    ]
    assert [
        (e["scope"], e["target"], e["state"], e["actor"], e["reason"], e["orders_canceled"])
        for e in changes
    ] == [
        ("client", "ACC1", "HALTED", "risk-officer", reason, 2),
        ("client", "ACC1", "ACTIVE", "risk-officer", "risk test: resolved", 0),
    ]


def test_reducing_lets_a_position_reducing_sell_through_and_rejects_a_buy(
    trader: Trader, deployment: Deployment
) -> None:
    before = trader.rest("AAPL", "1", 10, "185")  # working before the switch: it stays
    try:
        done = qtinfra(
            deployment,
            "kill",
            "--client",
            "ACC1",
            "--reducing",
            "--reason",
            "reduce only",
            "--by",
            "ops",
        )
        assert done.returncode == 0, done.stderr
        assert "client ACC1: REDUCING" in done.stdout
        sell = trader.rest("AAPL", "2", 10, "195")  # reduces the 1,000 long
        buy = trader.order("AAPL", "1", 10, "185")
        msg = trader.rejected(buy)
        assert msg[103] == "0"
        assert msg[58].startswith(
            "kill switch: trading is REDUCING for client ACC1 (reduce only); only orders that "
            "reduce a position are accepted"
        ), msg[58]
        assert "AAPL position 1,000" in msg[58] and "this buy could take it to 1,020" in msg[58]
        trader.client.status(before, "AAPL", "1")
        assert trader.report(before, "I")[39] == "0"
        trader.cancel_done(before)  # cancels pass in every state
    finally:
        resumed = qtinfra(deployment, "resume", "--client", "ACC1", "--reason", "reduce done")
    assert resumed.returncode == 0, resumed.stderr
    trader.cancel_done(sell)
    states = [e["state"] for e in journal_events(deployment, "TradingStateChanged")]
    assert states[-2:] == ["REDUCING", "ACTIVE"]


@pytest.mark.parametrize(
    ("scope", "where", "desk2_halted"),
    [
        (["--session", "CLIENT1"], f"for session {SESSION}", False),
        (["--all"], "firm-wide", True),
    ],
    ids=["session", "firm-wide"],
)
def test_kill_switch_by_session_and_firm_wide(
    trader: Trader,
    desk2: Trader,
    deployment: Deployment,
    scope: list[str],
    where: str,
    desk2_halted: bool,
) -> None:
    halted = f"kill switch: trading is HALTED {where} (scope test); only cancels are accepted"
    try:
        done = qtinfra(deployment, "kill", *scope, "--reason", "scope test", "--by", "ops")
        assert done.returncode == 0, done.stderr
        assert "HALTED" in done.stdout
        assert trader.rejected(trader.order("SAP", "1", 10, "170"))[58] == halted
        # Another client's session is halted only by the firm-wide switch.
        other = desk2.order("SAP", "1", 10, "170")
        if desk2_halted:
            assert desk2.rejected(other)[58] == halted
        else:
            assert desk2.answer(other)[150] == "0"
            desk2.cancel_done(other)
    finally:
        resumed = qtinfra(deployment, "resume", *scope, "--reason", "scope test done")
    assert resumed.returncode == 0, resumed.stderr
    assert risk_status(deployment)["states"] == []
    trader.cancel_done(trader.rest("SAP", "1", 10, "170"))


# -- replace --------------------------------------------------------------------------------


def test_replace_breaching_a_limit_is_refused_and_the_order_keeps_working(
    trader: Trader,
) -> None:
    cl = trader.rest("AAPL", "1", 100, "185")
    too_big = trader.replace(cl, "AAPL", "1", 600, "185")
    reject = trader.answer(too_big)
    assert (reject[35], reject[41], reject[434], reject[102], reject[39]) == (
        "9",
        cl,
        "2",
        "2",
        "0",
    ), reject
    assert reject[58] == "order quantity 600 exceeds max_order_quantity 500 for client ACC1"
    off_market = trader.replace(cl, "AAPL", "1", 100, "210")
    reject = trader.answer(off_market)
    assert (reject[35], reject[434], reject[102]) == ("9", "2", "2"), reject
    assert reject[58].startswith("price collar: limit price 210 is")
    trader.client.status(cl, "AAPL", "1")
    status = trader.report(cl, "I")
    assert (status[39], status[38], status[44], status[151]) == ("0", "100", "185", "100")
    done = trader.cancel_done(cl)
    assert (done[41], done[38], done[44]) == (cl, "100", "185")


# -- limits changed while running -----------------------------------------------------------


def test_limits_set_bad_value_and_reload_in_the_running_gateway(
    trader: Trader, deployment: Deployment
) -> None:
    path = deployment.config_dir / "risk.toml"
    original = path.read_text()
    try:
        done = qtinfra(
            deployment,
            "limits",
            "set",
            "--client",
            "ACC1",
            "max_order_quantity=5",
            "--reason",
            "test tightening",
            "--by",
            "limits-officer",
        )
        assert done.returncode == 0, done.stderr
        assert "client ACC1 max_order_quantity: 500 -> 5" in done.stdout
        msg = trader.rejected(trader.order("SAP", "1", 10, "170"))
        assert msg[58] == "order quantity 10 exceeds max_order_quantity 5 for client ACC1"
        written = path.read_bytes()

        bad = qtinfra(
            deployment,
            "limits",
            "set",
            "--client",
            "ACC1",
            "max_order_quantity=abc",
            "--reason",
            "typo",
        )
        assert bad.returncode != 0
        assert "max_order_quantity" in bad.stderr, bad.stderr
        assert path.read_bytes() == written
        msg = trader.rejected(trader.order("SAP", "1", 10, "170"))
        assert "exceeds max_order_quantity 5 for client ACC1" in msg[58]

        path.write_text(
            written.decode().replace('max_order_quantity = "5"', 'max_order_quantity = "20"')
        )
        done = qtinfra(
            deployment, "limits", "reload", "--reason", "file edited", "--by", "limits-officer"
        )
        assert done.returncode == 0, done.stderr
        assert "client ACC1 max_order_quantity: 5 -> 20" in done.stdout
        cl = trader.rest("SAP", "1", 10, "170")
        trader.cancel_done(cl)
        msg = trader.rejected(trader.order("SAP", "1", 25, "170"))
        assert "exceeds max_order_quantity 20 for client ACC1" in msg[58]

        # A broken file: the CLI refuses it (it reads the configuration first), and so
        # does the gateway when asked directly; nothing changes.
        path.write_text(original.replace('max_order_quantity = "500"', 'max_order_quantity = "-1"'))
        broken = qtinfra(deployment, "limits", "reload", "--reason", "broken file")
        assert broken.returncode != 0
        assert "max_order_quantity" in broken.stderr, broken.stderr
        status, answer = ops_post(deployment, "/risk/reload", reason="broken file", actor="t")
        assert status == 400 and "max_order_quantity" in answer["error"], answer
        msg = trader.rejected(trader.order("SAP", "1", 25, "170"))
        assert "exceeds max_order_quantity 20 for client ACC1" in msg[58]

        events = [
            e for e in journal_events(deployment, "LimitsChanged") if e["actor"] == "limits-officer"
        ]
        assert [(e["reason"], e["changes"]) for e in events] == [
            ("test tightening", "client ACC1 max_order_quantity: 500 -> 5"),
            ("file edited", "client ACC1 max_order_quantity: 5 -> 20"),
        ]
        # Each names the limits file and a SHA-256 of what was applied: the files differed.
        assert all(str(path) in str(e["source"]) for e in events)
        digests = [str(e["digest"]) for e in events]
        assert all(len(d) == 64 for d in digests) and digests[0] != digests[1]
    finally:
        path.write_text(original)
        restored = qtinfra(deployment, "limits", "reload", "--reason", "test limits restored")
    assert restored.returncode == 0, restored.stderr


def test_kill_switch_works_while_the_limits_file_is_broken(
    trader: Trader, deployment: Deployment
) -> None:
    """The kill switch is the emergency control (RTS 6 Art. 12); an operator's typo in
    config/risk.toml, which the running gateway refuses to load, must not disable it."""
    path = deployment.config_dir / "risk.toml"
    original = path.read_text()
    path.write_text(original.replace('max_order_quantity = "500"', 'max_order_quantity = "-1"'))
    try:
        done = qtinfra(deployment, "kill", "--client", "ACC1", "--reason", "broken file kill")
        assert done.returncode == 0, done.stderr
        msg = trader.rejected(trader.order("SAP", "1", 10, "170"))
        assert "trading is HALTED for client ACC1 (broken file kill)" in msg[58]
    finally:
        path.write_text(original)
        if risk_status(deployment)["states"]:
            resumed = qtinfra(deployment, "resume", "--client", "ACC1", "--reason", "restored")
            assert resumed.returncode == 0, resumed.stderr


# -- DAY orders expire at their calendar's close --------------------------------------------


@pytest.fixture
def closing(tmp_path: Path, db_url: str) -> Iterator[tuple[Deployment, datetime]]:
    """A deployment whose instruments' calendar (SIM) closes 20 s after it is configured,
    on SQLite and on PostgreSQL."""
    now = datetime.now(UTC)
    close = (now + timedelta(seconds=20)).replace(microsecond=0)
    if close.date() != now.date() or close.strftime("%H:%M:%S") >= "23:59:50":
        pytest.skip("the test calendar's close would wrap past midnight UTC")
    calendar = (
        '[[calendar]]\nname = "SIM"\ntimezone = "UTC"\nopen = 00:00:00\n'
        f"close = {close.strftime('%H:%M:%S')}\n"
        f"trading_days = {json.dumps(list(WEEKDAYS))}\n"
    )
    with deployed(tmp_path, db_url, files={"calendars.toml": calendar}) as d:
        yield d, close


def test_day_order_expires_at_its_calendars_close_and_gtc_keeps_working(
    closing: tuple[Deployment, datetime],
) -> None:
    deployment, close = closing
    assert datetime.now(UTC) < close - timedelta(seconds=3), "the gateway started too slowly"
    # CLIENT2 (FIX.5.0SP2, account ACC2): the module's CLIENT1 session may still be logged
    # on in this process, and QuickFIX keeps one registry of sessions per process, so a
    # second CLIENT1->QTGW initiator would send through the first one (and crash on stop).
    client = deployment.client("CLIENT2")
    t = Trader(client)
    day = t.rest("AAPL", "1", 100, "180", tif="0")
    gtc = t.rest("AAPL", "1", 100, "180", tif="1")
    expired = t.report(day, "C", timeout=40)
    at = datetime.now(UTC)
    assert (expired[39], expired[151], expired[14]) == ("C", "0", "0"), expired
    assert "expired" in expired[58]
    assert close <= parse_time(expired[60]) < close + timedelta(seconds=5), (expired[60], close)
    assert at < close + timedelta(seconds=5)

    def children(cl: str) -> list[object]:
        rows = query(
            deployment,
            "SELECT c.status FROM child_orders c JOIN orders o ON o.order_id = c.order_id "
            "WHERE o.cl_ord_id = :cl",
            cl=cl,
        )
        return [status for (status,) in rows]

    # The DAY order's children were cancelled at the venues; the GTC order's still work.
    assert children(day) and set(children(day)) == {"4"}, children(day)
    assert children(gtc) and set(children(gtc)) == {"0"}, children(gtc)
    client.status(gtc, "AAPL", "1")
    status = t.report(gtc, "I")
    assert (status[39], status[38], status[151]) == ("0", "100", "100")
    # The market is closed now: new orders are refused until it opens again.
    late = t.order("AAPL", "1", 10, "180")
    msg = t.rejected(late)
    assert msg[103] == "2" and "trading hours: outside the trading hours of SIM" in msg[58]
    assert client.logged_on.is_set()
    assert not t.unanswered()
