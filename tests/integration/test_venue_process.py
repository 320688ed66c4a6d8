"""A venue simulator in its own process, driven over a real socket by a real QuickFIX initiator."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as fix
import quickfix44 as fix44

from qtinfra.config import PROJECT_ROOT, load_config
from tests.helpers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

D = Decimal
SOH = "\x01"


@dataclass(frozen=True)
class Received:
    """One inbound application message as (tag, value) pairs, groups flattened in order."""

    pairs: tuple[tuple[int, str], ...]

    @property
    def msg_type(self) -> str:
        return self[35]

    def get(self, tag: int) -> str | None:
        for t, v in self.pairs:
            if t == tag:
                return v
        return None

    def __getitem__(self, tag: int) -> str:
        value = self.get(tag)
        if value is None:
            raise KeyError(f"tag {tag} not in {self.pairs}")
        return value

    def all(self, tag: int) -> list[str]:
        return [v for t, v in self.pairs if t == tag]

    def dec(self, tag: int) -> Decimal:
        return Decimal(self[tag])


class GatewayStub(fix.Application):  # type: ignore[misc]
    """The gateway side of a venue session: records what the venue sends."""

    def __init__(self) -> None:
        super().__init__()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.session_id: object | None = None

    def onCreate(self, sessionID: object) -> None:
        self.session_id = sessionID

    def onLogon(self, sessionID: object) -> None:
        self.logged_out.clear()
        self.logged_on.set()

    def onLogout(self, sessionID: object) -> None:
        self.logged_on.clear()
        self.logged_out.set()

    def toAdmin(self, message: object, sessionID: object) -> None:
        pass

    def fromAdmin(self, message: object, sessionID: object) -> None:
        pass

    def toApp(self, message: object, sessionID: object) -> None:
        pass

    def fromApp(self, message: fix.Message, sessionID: object) -> None:
        raw: str = message.toString()
        pairs = tuple((int(t), v) for t, _, v in (f.partition("=") for f in raw.split(SOH) if f))
        self.inbox.put(Received(pairs))

    def send(self, message: fix.Message) -> None:
        assert fix.Session.sendToTarget(message, self.session_id)

    def next(self, timeout: float = 5.0) -> Received:
        return self.inbox.get(timeout=timeout)

    def until(self, pred: Callable[[Received], bool], timeout: float = 5.0) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("expected message did not arrive")
            msg = self.inbox.get(timeout=left)
            if pred(msg):
                return msg

    def reports_for(self, cl_ord_id: str, count: int, timeout: float = 5.0) -> list[Received]:
        got: list[Received] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            msg = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            if msg.get(11) == cl_ord_id:
                got.append(msg)
        return got

    def drain(self) -> None:
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                return


@dataclass
class VenueProcess:
    process: subprocess.Popen[bytes]
    port: int
    config_dir: Path
    log_path: Path


def write_config(base: Path, latency_ms: float = 0.0) -> tuple[Path, int]:
    """A config dir: the repo's instruments and venues, CBOE on a free port, var under base."""
    config_dir = base / "config"
    config_dir.mkdir(parents=True)
    for name in ("instruments.toml", "calendars.toml", "risk.toml"):
        shutil.copy(PROJECT_ROOT / "config" / name, config_dir)
    port = free_port()
    venues = (PROJECT_ROOT / "config" / "venues.toml").read_text()
    venues = re.sub(r"port = 9881", f"port = {port}", venues)
    venues = re.sub(r"port = 9882", f"port = {free_port()}", venues)
    venues = re.sub(r"port = 9883", f"port = {free_port()}", venues)
    venues = venues.replace("latency_ms = 0.0", f"latency_ms = {latency_ms}", 1)
    (config_dir / "venues.toml").write_text(venues)
    gateway = (PROJECT_ROOT / "config" / "gateway.toml").read_text()
    gateway = gateway.replace('var_dir = "var"', f'var_dir = "{base / "var"}"')
    (config_dir / "gateway.toml").write_text(gateway)
    return config_dir, port


def start_venue(base: Path, latency_ms: float = 0.0) -> VenueProcess:
    config_dir, port = write_config(base, latency_ms)
    log_path = base / "venue.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qtinfra.venues.acceptor",
                "CBOE",
                "--config-dir",
                str(config_dir),
                "--root",
                str(PROJECT_ROOT),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return VenueProcess(process, port, config_dir, log_path)


def stop_process(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.returncode


@dataclass
class Client:
    app: GatewayStub
    initiator: object


def connect(base: Path, port: int, qualifier: str = "") -> Client:
    """Log on as QTGW. Sessions with the same ID in one process must differ by qualifier."""
    store = base / "client-store"
    cfg = base / "client.cfg"
    cfg.write_text(
        "\n".join(
            [
                "[DEFAULT]",
                "ConnectionType=initiator",
                "BeginString=FIX.4.4",
                "SenderCompID=QTGW",
                "TargetCompID=CBOE",
                "StartTime=00:00:00",
                "EndTime=00:00:00",
                "HeartBtInt=10",
                "ReconnectInterval=1",
                "SocketConnectHost=127.0.0.1",
                f"SocketConnectPort={port}",
                f"FileStorePath={store}",
                f"DataDictionary={PROJECT_ROOT / 'fix_specs' / 'FIX44-venues.xml'}",
                "UseDataDictionary=Y",
                "ValidateUserDefinedFields=N",
                "TimeStampPrecision=6",
                "",
                "[SESSION]",
                *([f"SessionQualifier={qualifier}"] if qualifier else []),
                "",
            ]
        )
    )
    settings = fix.SessionSettings(str(cfg))
    app = GatewayStub()
    initiator = fix.SocketInitiator(app, fix.FileStoreFactory(settings), settings)
    initiator.start()
    if not app.logged_on.wait(20):
        initiator.stop()
        raise AssertionError("the venue did not accept the logon")
    return Client(app, initiator)


@pytest.fixture(scope="module")
def venue_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStub]:
    base = tmp_path_factory.mktemp("venue")
    venue = start_venue(base)
    client: Client | None = None
    try:
        client = connect(base, venue.port)
        yield client.app
    finally:
        if client is not None:
            client.initiator.stop()  # type: ignore[attr-defined]
        stop_process(venue.process)


_counter = iter(range(1, 1_000_000))


def cl_id(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{time.time_ns()}"


def transact_time(message: fix.Message) -> None:
    message.setField(60, time.strftime("%Y%m%d-%H:%M:%S.000000", time.gmtime()))


def new_order(
    cl: str,
    side: str,
    qty: str,
    price: str | None,
    symbol: str = "AAPL",
    tif: str | None = None,
    isin: str | None = None,
    mifid: bool = True,
) -> fix.Message:
    msg = fix44.NewOrderSingle()
    msg.setField(11, cl)
    msg.setField(55, symbol)
    if isin is not None:
        msg.setField(48, isin)
        msg.setField(22, "4")
    msg.setField(54, side)
    msg.setField(38, qty)
    msg.setField(40, "1" if price is None else "2")
    if price is not None:
        msg.setField(44, price)
    if tif is not None:
        msg.setField(59, tif)
    transact_time(msg)
    if mifid:
        msg.setField(528, "A")  # the member's MiFID II order data, as the venue requires
        for party_id, role in (("123456", "3"), ("2001", "12")):
            party = fix44.NewOrderSingle.NoPartyIDs()
            party.setField(448, party_id)
            party.setField(447, "P")
            party.setField(452, role)
            msg.addGroup(party)
    return msg


def test_marketable_order_is_acknowledged_then_filled_in_several_trades(
    venue_session: GatewayStub,
) -> None:
    gw = venue_session
    gw.drain()
    cl = cl_id("buy")
    gw.send(new_order(cl, "1", "60", "190.05", isin="US0378331005"))

    ack = gw.reports_for(cl, 1)[0]
    assert (ack.msg_type, ack[150], ack[39]) == ("8", "0", "0")
    assert (ack.dec(38), ack.dec(151), ack.dec(14)) == (D(60), D(60), D(0))
    assert ack[48] == "US0378331005"
    order_id = ack[37]

    trades: list[Received] = []
    while not trades or trades[-1][39] != "2":
        trades += gw.reports_for(cl, 1)
    assert len(trades) >= 2, "60 shares across ~20-share levels must take several fills"
    assert all(t[150] == "F" and t[37] == order_id for t in trades)
    assert [t[39] for t in trades[:-1]] == ["1"] * (len(trades) - 1)
    cum = D(0)
    notional = D(0)
    for t in trades:
        last_qty, last_px = t.dec(32), t.dec(31)
        cum += last_qty
        notional += last_qty * last_px
        assert t.dec(14) == cum
        assert t.dec(151) == D(60) - cum
        assert t.dec(6) == notional / cum
        assert D("190.01") <= last_px <= D("190.05")
        assert t[30] == "CEUX"
        assert t[13] == "3"
        assert t.dec(12) == (D("0.30") / 10000 * last_qty * last_px).quantize(D("0.01"))
        assert re.fullmatch(r"\d{8}-\d{2}:\d{2}:\d{2}\.\d{6}", t[60])
        assert re.fullmatch(r"CEUX[A-Z0-9]+T\d+", t[880])  # the venue's trade id (TVTIC)
        assert t[851] == "2"  # a marketable order takes liquidity
    assert cum == D(60)
    assert len({t[17] for t in [ack, *trades]}) == len(trades) + 1


def test_resting_limit_order_is_canceled_on_request(venue_session: GatewayStub) -> None:
    gw = venue_session
    gw.drain()
    cl = cl_id("rest")
    gw.send(new_order(cl, "2", "10", "200.00"))
    ack = gw.reports_for(cl, 1)[0]
    assert (ack[150], ack[39], ack.dec(151)) == ("0", "0", D(10))

    cancel = fix44.OrderCancelRequest()
    cxl = cl_id("cxl")
    cancel.setField(11, cxl)
    cancel.setField(41, cl)
    cancel.setField(55, "AAPL")
    cancel.setField(54, "2")
    transact_time(cancel)
    gw.send(cancel)
    done = gw.reports_for(cxl, 1)[0]
    assert (done.msg_type, done[150], done[39]) == ("8", "4", "4")
    assert (done[41], done[37]) == (cl, ack[37])
    assert (done.dec(14), done.dec(151)) == (D(0), D(0))

    # A second cancel of the same order is too late (CxlRejReason 0).
    again = fix44.OrderCancelRequest()
    cxl2 = cl_id("cxl")
    again.setField(11, cxl2)
    again.setField(41, cxl)
    again.setField(55, "AAPL")
    again.setField(54, "2")
    transact_time(again)
    gw.send(again)
    rej = gw.reports_for(cxl2, 1)[0]
    assert (rej.msg_type, rej[102], rej[434], rej[39]) == ("9", "0", "1", "4")


def test_amend_replaces_the_order_and_reports_both_cl_ord_ids(
    venue_session: GatewayStub,
) -> None:
    gw = venue_session
    gw.drain()
    cl = cl_id("amend")
    gw.send(new_order(cl, "1", "10", "180.00", tif="1"))
    ack = gw.reports_for(cl, 1)[0]

    replace = fix44.OrderCancelReplaceRequest()
    new_cl = cl_id("amend")
    replace.setField(11, new_cl)
    replace.setField(41, cl)
    replace.setField(55, "AAPL")
    replace.setField(54, "1")
    replace.setField(38, "25")
    replace.setField(40, "2")
    replace.setField(44, "180.50")
    replace.setField(59, "1")
    transact_time(replace)
    gw.send(replace)
    rep = gw.reports_for(new_cl, 1)[0]
    assert (rep.msg_type, rep[150], rep[39]) == ("8", "5", "0")
    assert (rep[41], rep[37]) == (cl, ack[37])
    assert (rep.dec(38), rep.dec(44), rep.dec(151)) == (D(25), D("180.50"), D(25))

    status = fix44.OrderStatusRequest()
    status.setField(11, new_cl)
    status.setField(55, "AAPL")
    status.setField(54, "1")
    gw.send(status)
    st = gw.reports_for(new_cl, 1)[0]
    assert (st[150], st[39], st.dec(151), st.dec(44)) == ("I", "0", D(25), D("180.50"))


def test_market_data_subscription_gets_a_snapshot_then_updates(
    venue_session: GatewayStub,
) -> None:
    gw = venue_session
    gw.drain()
    request = fix44.MarketDataRequest()
    request.setField(262, "md-1")
    request.setField(263, "1")
    request.setField(264, "3")
    for entry_type in ("0", "1"):
        group = fix44.MarketDataRequest.NoMDEntryTypes()
        group.setField(269, entry_type)
        request.addGroup(group)
    sym = fix44.MarketDataRequest.NoRelatedSym()
    sym.setField(55, "MSFT")
    request.addGroup(sym)
    gw.send(request)

    snap = gw.until(lambda m: m.msg_type == "W")
    assert (snap[262], snap[55], snap[268]) == ("md-1", "MSFT", "6")
    types, prices, positions = snap.all(269), snap.all(270), snap.all(290)
    assert types == ["0", "0", "0", "1", "1", "1"]
    assert positions == ["1", "2", "3", "1", "2", "3"]
    bids = [D(p) for p in prices[:3]]
    asks = [D(p) for p in prices[3:]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    assert all(D(s) > 0 for s in snap.all(271))

    # A bid inside the spread changes the top of book: a new snapshot follows.
    inside = str(bids[0] + D("0.01"))
    gw.send(new_order(cl_id("md"), "1", "7", inside, symbol="MSFT"))
    update = gw.until(lambda m: m.msg_type == "W")
    assert D(update.all(270)[0]) == D(inside)  # FIX floats: no trailing zeros on the wire
    assert update.all(271)[0] == "7"


def test_market_data_request_for_unknown_symbol_is_rejected(venue_session: GatewayStub) -> None:
    gw = venue_session
    gw.drain()
    request = fix44.MarketDataRequest()
    request.setField(262, "md-bad")
    request.setField(263, "0")
    request.setField(264, "1")
    group = fix44.MarketDataRequest.NoMDEntryTypes()
    group.setField(269, "0")
    request.addGroup(group)
    sym = fix44.MarketDataRequest.NoRelatedSym()
    sym.setField(55, "JPM")  # JPM trades on TRQ and AQX, not on CBOE
    request.addGroup(sym)
    gw.send(request)
    rej = gw.until(lambda m: m.msg_type == "Y")
    assert (rej[262], rej[281]) == ("md-bad", "0")
    assert "JPM" in rej[58]


@pytest.mark.parametrize(
    ("order", "reason", "text"),
    [
        # 18 (invalid price increment) is FIX 5.0; a FIX 4.4 session gets 99 and the Text.
        (lambda cl: new_order(cl, "1", "10", "190.001"), "99", "tick"),
        (lambda cl: new_order(cl, "1", "10", "190.00", symbol="TSLA"), "1", "unknown symbol"),
        (lambda cl: new_order(cl, "1", "10", "190.00", isin="US5949181045"), "1", "ISIN"),
        (lambda cl: new_order(cl, "1", "0", "190.00"), "13", "positive"),
        # An EU venue takes no order without the member's MiFID II order data (RTS 24).
        (lambda cl: new_order(cl, "1", "10", "190.00", mifid=False), "99", "MiFID II"),
    ],
)
def test_orders_an_exchange_would_refuse_are_rejected(
    venue_session: GatewayStub,
    order: Callable[[str], fix.Message],
    reason: str,
    text: str,
) -> None:
    gw = venue_session
    cl = cl_id("rej")
    gw.send(order(cl))
    rej = gw.reports_for(cl, 1)[0]
    assert (rej.msg_type, rej[150], rej[39], rej[103]) == ("8", "8", "8", reason)
    assert text in rej[58]


def test_cancel_of_unknown_order_is_rejected_with_unknown_order(
    venue_session: GatewayStub,
) -> None:
    gw = venue_session
    cancel = fix44.OrderCancelRequest()
    cxl = cl_id("cxl")
    cancel.setField(11, cxl)
    cancel.setField(41, "never-sent")
    cancel.setField(55, "AAPL")
    cancel.setField(54, "1")
    transact_time(cancel)
    gw.send(cancel)
    rej = gw.reports_for(cxl, 1)[0]
    assert (rej.msg_type, rej[37], rej[102], rej[434]) == ("9", "NONE", "1", "1")


def test_status_of_unknown_order_and_unsupported_messages_are_answered(
    venue_session: GatewayStub,
) -> None:
    gw = venue_session
    gw.drain()
    status = fix44.OrderStatusRequest()
    status.setField(11, "never-sent-2")
    status.setField(55, "AAPL")
    status.setField(54, "1")
    gw.send(status)
    st = gw.reports_for("never-sent-2", 1)[0]
    assert (st[150], st[39], st[58]) == ("I", "8", "unknown order")

    quote_request = fix44.QuoteRequest()
    quote_request.setField(131, "q-1")
    group = fix44.QuoteRequest.NoRelatedSym()
    group.setField(55, "AAPL")
    quote_request.addGroup(group)
    gw.send(quote_request)
    rej = gw.until(lambda m: m.msg_type == "j")
    assert (rej[372], rej[380]) == ("R", "3")


def test_latency_delays_the_acknowledgement_and_sigterm_logs_the_session_out(
    tmp_path: Path,
) -> None:
    venue = start_venue(tmp_path, latency_ms=150)
    client: Client | None = None
    try:
        client = connect(tmp_path, venue.port, qualifier="LATENCY")
        gw = client.app
        cl = cl_id("slow")
        sent = time.monotonic()
        gw.send(new_order(cl, "1", "5", "150.00"))
        ack = gw.reports_for(cl, 1)[0]
        assert ack[150] == "0"
        assert time.monotonic() - sent >= 0.14

        assert stop_process(venue.process) == 0
        assert gw.logged_out.wait(10), "the venue stopped without logging the session out"
        cfg = load_config(venue.config_dir, PROJECT_ROOT)
        rendered = (cfg.var_dir / "run" / "venue-CBOE.cfg").read_text()
        assert f"SocketAcceptPort={venue.port}" in rendered
        assert (cfg.var_dir / "venues" / "CBOE").is_dir()
    finally:
        if client is not None:
            client.initiator.stop()  # type: ignore[attr-defined]
        stop_process(venue.process)
