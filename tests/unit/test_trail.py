"""The order trail (`qtinfra audit order ID`), read back from a journal the real order
manager and journal writer wrote, with the FIX messages journaled as the sessions journal
them (inbound before the command is handled, outbound once the commit released them).

`Desk` and `trading_day` are shared with test_rts24.py: one trading day with a replaced,
partly filled, then cancelled order (C1 -> C2 -> C3), an order filled across two venues
(C10), an order rejected before booking (C11), an immediate order whose remainder the
venue cancels (K1, on a FIXT.1.1 session), a DAY order that expires (K2), and an hour
later a duplicate of C1's ClOrdID.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from qtinfra.config import QtinfraConfig
from qtinfra.domain.commands import (
    CancelOrder,
    Command,
    NewOrder,
    ReplaceOrder,
    VenueExecution,
    VenueQuote,
    VenueSessionStatus,
)
from qtinfra.domain.events import (
    CancelRejected,
    ChildCancelSent,
    ChildOrderSent,
    Event,
    ExecutionReport,
)
from qtinfra.domain.values import ExecType, Instrument, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.oms.manager import OrderManager
from qtinfra.oms.sequencer import batch_from_outbox
from qtinfra.reports.trail import (
    AmbiguousOrder,
    FixDictionary,
    UnknownOrder,
    VenueFill,
    dictionary_for,
    fix_specs_dir,
    match_fills,
    order_trail,
    render_text,
    run_order_trail,
)
from qtinfra.risk.engine import RiskEngine
from qtinfra.risk.exposure import Exposure
from qtinfra.risk.limits import AccountRecord, PartyDefault, RiskConfig
from qtinfra.store.db import make_engine
from qtinfra.store.journal import JournalWriter
from qtinfra.store.models import Base

D = Decimal
SOH = "\x01"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
S1 = "FIX.4.4:QTGW->CLIENT1"
S2 = "FIXT.1.1:QTGW->CLIENT2"
VENUES = ("CBOE", "TRQ", "AQX")
FEES = {"CBOE": D("0.30"), "TRQ": D("0.28"), "AQX": D("0.20")}
MICS = {"CBOE": "CEUX", "TRQ": "TRQX", "AQX": "AQXE"}
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), VENUES)
ACC1_LEI = "98450012DEMOACC1AM85"
ACC2_NATIONAL_ID = "GBJE123456C"
ACCOUNTS = {
    "ACC1": AccountRecord(
        account="ACC1",
        kind="legal",
        lei=ACC1_LEI,
        decision_maker=PartyDefault(id="1001", source="P", qualifier=24),
        executing_trader=PartyDefault(id="2001", source="P", qualifier=22),
        order_capacity="A",
    ),
    "ACC2": AccountRecord(
        account="ACC2",
        kind="natural",
        national_id=ACC2_NATIONAL_ID,
        country="GB",
        decision_maker=PartyDefault(id="1002", source="P", qualifier=24),
        executing_trader=PartyDefault(id="2002", source="P", qualifier=24),
        order_capacity="P",
    ),
}
FIRM_LEI = "98450012DEMOFIRMXX19"
UTC_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


# -- a desk: the order manager and the journal writer, wired as the gateway wires them ----------


def wire(session: str, inbound: bool, seq: int, when: datetime, body: list[tuple[int, str]]) -> str:
    """A raw FIX message on session as QuickFIX writes it (BodyLength and CheckSum right)."""
    begin, _, pair = session.partition(":")
    ours, _, theirs = pair.partition("->")
    sender, target = (theirs, ours) if inbound else (ours, theirs)
    msg_type, rest = body[0], body[1:]
    header = [
        msg_type,
        (34, str(seq)),
        (49, sender),
        (52, when.strftime("%Y%m%d-%H:%M:%S.%f")),
        (56, target),
    ]
    text = "".join(f"{t}={v}{SOH}" for t, v in header + rest)
    head = f"8={begin}{SOH}9={len(text)}{SOH}"
    checksum = sum((head + text).encode()) % 256
    return f"{head}{text}10={checksum:03d}{SOH}"


def _dec(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def outbound_body(event: Event) -> list[tuple[int, str]]:
    """What the FIX codec sends for an event (the fields the trail looks at)."""
    if isinstance(event, ExecutionReport):
        body = [(35, "8"), (37, event.order_id), (11, event.cl_ord_id)]
        if event.orig_cl_ord_id:
            body.append((41, event.orig_cl_ord_id))
        body += [(17, event.exec_id), (150, event.exec_type.value), (39, event.ord_status.value)]
        if event.account:
            body.append((1, event.account))
        body += [(55, event.symbol), (54, event.side.value), (38, _dec(event.order_qty))]
        if event.price is not None:
            body.append((44, _dec(event.price)))
        if event.last_qty is not None and event.last_px is not None:
            body += [
                (32, _dec(event.last_qty)),
                (31, _dec(event.last_px)),
                (30, event.last_mkt or ""),
            ]
        body += [(151, _dec(event.leaves_qty)), (14, _dec(event.cum_qty)), (6, _dec(event.avg_px))]
        if event.text:
            body.append((58, event.text))
        return body
    if isinstance(event, CancelRejected):
        return [
            (35, "9"),
            (37, event.order_id),
            (11, event.cl_ord_id),
            (41, event.orig_cl_ord_id),
            (39, event.ord_status.value),
            (434, event.response_to.value),
            (102, event.reason.value),
            (58, event.text),
        ]
    if isinstance(event, ChildOrderSent):
        body = [
            (35, "D"),
            (11, event.child_id),
            (55, event.symbol),
            (48, event.isin),
            (22, "4"),
            (54, event.side.value),
            (38, _dec(event.quantity)),
            (40, event.ord_type.value),
        ]
        if event.price is not None:
            body.append((44, _dec(event.price)))
        return [*body, (59, event.time_in_force.value)]
    if isinstance(event, ChildCancelSent):
        return [
            (35, "F"),
            (11, event.child_id),
            (41, event.orig_child_id),
            (55, event.symbol),
            (54, event.side.value),
            (38, _dec(event.quantity)),
        ]
    raise AssertionError(f"no FIX message for {event}")


@dataclass
class Desk:
    """One gateway's business logic with a journal in `url`: client and venue messages go
    in through the order manager, every event is committed before its message is
    journaled as sent."""

    url: str
    now: datetime = T0
    seqs: dict[tuple[str, bool], int] = field(default_factory=lambda: defaultdict(int))
    children: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    venue_exec_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    def __post_init__(self) -> None:
        self.engine: Engine = make_engine(self.url)
        Base.metadata.create_all(self.engine)
        self.failures: list[BaseException] = []
        self.writer = JournalWriter(self.engine, self.clock, self.failures.append)
        risk = RiskEngine(
            RiskConfig(fx={"EUR": D(1), "USD": D("0.92")}),
            ACCOUNTS,
            {},
            MICS,
            Exposure(T0.date(), {("ACC2", "AAPL"): D(100)}),
            session_accounts={S1: "ACC1", S2: "ACC2"},
        )
        self.m = OrderManager(
            [AAPL],
            FEES,
            MICS,
            self.clock,
            "QT",
            default_accounts={S1: "ACC1", S2: "ACC2"},
            risk=risk,
        )
        for venue in VENUES:
            self.m.handle(VenueSessionStatus(venue, True))
        self.m.handle(VenueQuote("CBOE", "AAPL", ((D("189.90"), D(50)),), ((D("190.00"), D(60)),)))
        self.m.handle(VenueQuote("TRQ", "AAPL", ((D("189.89"), D(50)),), ((D("190.01"), D(50)),)))
        self.m.take_outbox()

    def clock(self) -> datetime:
        return self.now

    def tick(self, micros: int = 1000) -> datetime:
        self.now += timedelta(microseconds=micros)
        return self.now

    def _record(self, session: str, inbound: bool, body: list[tuple[int, str]]) -> None:
        self.seqs[(session, inbound)] += 1
        when = self.tick(150)
        raw = wire(session, inbound, self.seqs[(session, inbound)], when, body)
        self.writer.record_message("fix.in" if inbound else "fix.out", session, raw, when)

    def _handle(self, command: Command) -> list[Event]:
        return self._apply(lambda: self.m.handle(command))

    def _apply(self, action: Callable[[], object]) -> list[Event]:
        """Run action on the order manager, commit what it decided, then journal the
        messages the commit released."""
        self.tick()
        action()
        out = self.m.take_outbox()
        events = list(out.events)
        for event in events:
            if isinstance(event, ChildOrderSent):
                self.children[event.order_id].append(event.child_id)

        def release() -> None:
            for event in events:
                if isinstance(event, ChildOrderSent | ChildCancelSent):
                    self._record(f"FIX.4.4:QTGW->{event.venue}", False, outbound_body(event))
                else:
                    self._record(event.session, False, outbound_body(event))  # type: ignore[union-attr]

        self.writer.write([batch_from_outbox(out, self.tick(), release)])
        assert not self.failures, self.failures
        return events

    def flush(self) -> None:
        """Write the messages released by the last commit."""
        self.writer.write([])

    # -- a client ------------------------------------------------------------------------------

    def new(
        self,
        session: str,
        cl: str,
        side: Side,
        qty: str,
        price: str | None,
        *,
        tif: TimeInForce = TimeInForce.DAY,
        symbol: str = "AAPL",
        extra: list[tuple[int, str]] | None = None,
    ) -> list[Event]:
        ord_type = OrdType.LIMIT if price is not None else OrdType.MARKET
        body = [
            (35, "D"),
            (11, cl),
            (55, symbol),
            (54, side.value),
            (38, qty),
            (40, ord_type.value),
        ]
        if price is not None:
            body.append((44, price))
        body += [(59, tif.value), *(extra or [])]
        self._record(session, True, body)
        return self._handle(
            NewOrder(
                session,
                cl,
                symbol,
                None,
                side,
                ord_type,
                tif,
                D(qty),
                D(price) if price else None,
                None,
            )
        )

    def replace(self, session: str, cl: str, orig: str, qty: str, price: str) -> list[Event]:
        self._record(
            session,
            True,
            [
                (35, "G"),
                (11, cl),
                (41, orig),
                (55, "AAPL"),
                (54, "1"),
                (38, qty),
                (40, "2"),
                (44, price),
                (59, "0"),
            ],
        )
        return self._handle(
            ReplaceOrder(
                session,
                cl,
                orig,
                None,
                "AAPL",
                Side.BUY,
                OrdType.LIMIT,
                TimeInForce.DAY,
                D(qty),
                D(price),
            )
        )

    def cancel(self, session: str, cl: str, orig: str, side: Side, qty: str) -> list[Event]:
        self._record(
            session,
            True,
            [(35, "F"), (11, cl), (41, orig), (55, "AAPL"), (54, side.value), (38, qty)],
        )
        return self._handle(CancelOrder(session, cl, orig, None, "AAPL", side))

    # -- a venue -------------------------------------------------------------------------------

    def venue(
        self,
        child_id: str,
        exec_type: ExecType,
        status: OrdStatus,
        *,
        qty: str = "0",
        px: str = "0",
        cancel: bool = False,
    ) -> tuple[str, list[Event]]:
        """The venue's ExecutionReport about a child (about our cancel of it: cancel)."""
        child = self.m.children[child_id]
        venue_exec_id = f"{child.venue}-E{next(self.venue_exec_ids)}"
        cl, orig = (f"{child_id}.X", child_id) if cancel else (child_id, None)
        cum = child.cum_qty + D(qty)
        body = [(35, "8"), (37, f"{child.venue}-O-{child_id}"), (11, cl)]
        if orig:
            body.append((41, orig))
        body += [
            (17, venue_exec_id),
            (150, exec_type.value),
            (39, status.value),
            (55, "AAPL"),
            (54, child.side.value),
        ]
        if exec_type is ExecType.TRADE:
            body += [(32, qty), (31, px), (30, MICS[child.venue])]
        body += [(151, _dec(child.quantity - cum)), (14, _dec(cum))]
        self._record(f"FIX.4.4:QTGW->{child.venue}", True, body)
        command = VenueExecution(
            venue=child.venue,
            mic=MICS[child.venue],
            child_id=cl,
            orig_child_id=orig,
            venue_order_id=f"{child.venue}-O-{child_id}",
            exec_id=venue_exec_id,
            exec_type=exec_type,
            ord_status=status,
            last_qty=D(qty),
            last_px=D(px),
            cum_qty=cum,
            leaves_qty=child.quantity - cum,
            commission=None,
            text=None,
            transact_time=self.now,
        )
        return venue_exec_id, self._handle(command)

    def ack(self, child_id: str) -> None:
        self.venue(child_id, ExecType.NEW, OrdStatus.NEW)

    def cancelled(self, child_id: str) -> None:
        self.venue(child_id, ExecType.CANCELED, OrdStatus.CANCELED, cancel=True)

    def expire(self, order_id: str) -> list[Event]:
        return self._apply(lambda: self.m.expire_day_orders(order_ids=[order_id]))

    def order_id(self, session: str, cl: str) -> str:
        return self.m.by_cl_ord_id[(session, cl)]


@dataclass
class Day:
    """What trading_day did, for the assertions."""

    desk: Desk
    order_ids: dict[str, str]
    venue_exec_ids: dict[str, list[str]]
    end: datetime


def trading_day(url: str) -> Day:
    d = Desk(url)
    ids: dict[str, str] = {}
    fills: dict[str, list[str]] = defaultdict(list)

    # C1: rests at CBOE (the best bid), is replaced (C2) larger and higher, part-fills, and
    # the client cancels it (C3).
    d.new(S1, "C1", Side.BUY, "100", "189.50")
    ids["C1"] = d.order_id(S1, "C1")
    first = d.children[ids["C1"]][0]
    d.ack(first)
    d.replace(S1, "C2", "C1", "120", "189.60")
    d.cancelled(first)
    second = d.children[ids["C1"]][1]
    d.ack(second)
    fills["C1"].append(
        d.venue(second, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, qty="30", px="189.60")[0]
    )
    d.cancel(S1, "C3", "C2", Side.BUY, "120")
    d.cancelled(second)

    # C10: marketable, split between CBOE (60 at 190.00) and TRQ (40 at 190.01), both fill.
    d.new(S1, "C10", Side.BUY, "100", "190.05")
    ids["C10"] = d.order_id(S1, "C10")
    cboe, trq = d.children[ids["C10"]]
    d.ack(cboe)
    d.ack(trq)
    fills["C10"].append(d.venue(cboe, ExecType.TRADE, OrdStatus.FILLED, qty="60", px="190.00")[0])
    fills["C10"].append(d.venue(trq, ExecType.TRADE, OrdStatus.FILLED, qty="40", px="190.01")[0])

    # C11: an unknown symbol, rejected before booking; its Parties name other people.
    parties = [
        (453, "2"),
        (448, "1009"),
        (447, "P"),
        (452, "122"),
        (2376, "24"),
        (448, "2009"),
        (447, "P"),
        (452, "12"),
        (2376, "22"),
        (528, "P"),
    ]
    d.new(S1, "C11", Side.BUY, "5", "10", symbol="XXXX", extra=parties)

    # K1 (a natural person's session, FIXT.1.1): sells IOC, 4 fill, the venue cancels the rest.
    d.new(S2, "K1", Side.SELL, "10", "189.80", tif=TimeInForce.IOC)
    ids["K1"] = d.order_id(S2, "K1")
    (k1,) = d.children[ids["K1"]]
    d.ack(k1)
    fills["K1"].append(
        d.venue(k1, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, qty="4", px="189.90")[0]
    )
    d.venue(k1, ExecType.CANCELED, OrdStatus.CANCELED)

    # K2: a DAY order that expires at the close.
    d.new(S2, "K2", Side.BUY, "5", "189.00")
    ids["K2"] = d.order_id(S2, "K2")
    (k2,) = d.children[ids["K2"]]
    d.ack(k2)
    d.expire(ids["K2"])
    d.cancelled(k2)
    end = d.tick()

    # An hour later CLIENT1 sends C1 again: a duplicate, rejected.
    d.now += timedelta(hours=1)
    d.new(S1, "C1", Side.BUY, "1", "189.00")
    d.flush()
    return Day(d, ids, dict(fills), end)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    path = tmp_path_factory.mktemp("trail") / "journal.db"
    result = trading_day(f"sqlite:///{path}")
    yield result
    result.desk.engine.dispose()


# -- the trail -----------------------------------------------------------------------------------


def _ids(trail: Any, tag: str) -> set[str]:
    return {f.value for e in trail.entries for f in e.fields if f.tag == tag}


def test_trail_by_a_replace_clordid_shows_every_step_of_the_order_in_time_order(day: Day) -> None:
    trail = order_trail(day.desk.engine, "C2")
    assert trail.order_id == day.order_ids["C1"]
    assert trail.cl_ord_ids == ["C1", "C2", "C3"]
    keys = [(e.ts, e.seq) for e in trail.entries]
    assert keys == sorted(keys)
    reports = [
        e.event["exec_type"] for e in trail.entries if e.kind == "ExecutionReport" and e.event
    ]
    assert reports == ["0", "E", "5", "F", "6", "4"]
    kinds = [e.kind for e in trail.entries if not e.is_message]
    assert kinds.count("ChildOrderSent") == 2 and kinds.count("ChildCancelSent") == 2
    client = [e for e in trail.entries if e.is_message and e.session == S1]
    venue = [e for e in trail.entries if e.is_message and e.session != S1]
    # In: D, G, F; out: one ExecutionReport per event.
    assert [m.fields[2].value for m in client if m.kind == "fix.in"] == ["D", "G", "F"]
    assert len([m for m in client if m.kind == "fix.out"]) == 6
    # At the venue, per child: NewOrderSingle, its ack, our cancel, the venue's Canceled; and
    # the fill on the second child.
    assert len(venue) == 9
    assert {m.session for m in venue} == {"FIX.4.4:QTGW->CBOE"}


def test_trail_is_the_same_by_order_id_and_by_every_clordid_of_the_chain(day: Day) -> None:
    by_id = order_trail(day.desk.engine, day.order_ids["C1"])
    for cl in ("C1", "C2", "C3"):
        assert order_trail(day.desk.engine, cl).to_json() == by_id.to_json()


def test_trail_never_takes_an_id_that_merely_starts_with_the_orders_id(day: Day) -> None:
    trail = order_trail(day.desk.engine, "C1")
    assert _ids(trail, "11") <= {
        "C1",
        "C2",
        "C3",
        *(c + s for c in day.desk.children[day.order_ids["C1"]] for s in ("", ".X")),
    }
    assert "C10" not in render_text(trail) and "C11" not in render_text(trail)
    c10_children = set(day.desk.children[day.order_ids["C10"]])
    assert not c10_children & _ids(trail, "11")


def test_trail_looks_for_messages_only_in_the_orders_time_window(day: Day) -> None:
    trail = order_trail(day.desk.engine, "C1")
    assert trail.entries[-1].ts < day.end
    # The duplicate C1 an hour later is another (rejected) message, not this order's life.
    assert all(e.ts < day.end for e in trail.entries)


def test_fix_messages_are_decoded_with_tag_names_and_meanings(day: Day) -> None:
    text = render_text(order_trail(day.desk.engine, "C1"))
    assert "35=D (MsgType=NewOrderSingle) 34=1 (MsgSeqNum)" in text
    assert "11=C1 (ClOrdID)" in text
    assert "35=G (MsgType=OrderCancelReplaceRequest)" in text
    assert "150=F (ExecType=TRADE)" in text
    assert "39=4 (OrdStatus=CANCELED)" in text
    stamps = re.findall(r"^(\S+)\s+\d+\s+(?:EVENT|CHILD|FIX)", text, re.M)
    assert stamps and all(UTC_MICROS.match(s) for s in stamps)


def test_fixt_sessions_are_decoded_with_the_fix50sp2_dictionary(day: Day) -> None:
    trail = order_trail(day.desk.engine, "K1")
    inbound = next(e for e in trail.entries if e.kind == "fix.in" and e.session == S2)
    assert inbound.fields[0].render().startswith("8=FIXT.1.1 (BeginString")
    assert "59=3 (TimeInForce=IMMEDIATE_OR_CANCEL)" in " ".join(f.render() for f in inbound.fields)
    reports = [
        e.event["exec_type"] for e in trail.entries if e.kind == "ExecutionReport" and e.event
    ]
    assert reports == ["0", "F", "4"]


def test_children_and_fills_are_summarised_with_the_venue_executions(day: Day) -> None:
    trail = order_trail(day.desk.engine, "C10")
    assert [(c.venue, c.quantity, c.filled, c.venue_status) for c in trail.children] == [
        ("CBOE", "60", D(60), "FILLED"),
        ("TRQ", "40", D(40), "FILLED"),
    ]
    assert [(f.quantity, f.price, f.mic, f.venue_exec_id) for f in trail.fills] == [
        ("60", "190.00", "CEUX", day.venue_exec_ids["C10"][0]),
        ("40", "190.01", "TRQX", day.venue_exec_ids["C10"][1]),
    ]
    text = render_text(trail)
    assert "Children" in text and "Fills" in text and day.venue_exec_ids["C10"][1] in text


def test_an_order_rejected_before_booking_is_found_by_its_clordid(day: Day) -> None:
    trail = order_trail(day.desk.engine, "C11")
    assert trail.order_id is None
    assert [e.kind for e in trail.entries] == ["fix.in", "ExecutionReport", "fix.out"]
    assert (
        trail.entries[1].event is not None and "unknown" in trail.entries[1].event["text"].lower()
    )
    assert "rejected, never booked" in render_text(trail)


def test_json_is_a_list_of_entries_a_machine_can_read(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    config = QtinfraConfig(gateway={"database_url": day.desk.url})  # type: ignore[arg-type]
    assert run_order_trail(config, "C3", as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list) and data
    assert all(UTC_MICROS.match(e["ts"]) for e in data)
    first = data[0]
    assert first["kind"] == "fix.in" and first["msg_type"] == "D"
    assert first["fields"][2] == {
        "tag": 35,
        "name": "MsgType",
        "value": "D",
        "meaning": "NewOrderSingle",
    }
    assert first["raw"].startswith("8=FIX.4.4\x01")
    events = [e for e in data if e["kind"] == "ExecutionReport"]
    assert events[0]["event"]["cl_ord_id"] == "C1" and events[-1]["event"]["ord_status"] == "4"


def test_unknown_id_says_so_and_exits_1(day: Day, capsys: pytest.CaptureFixture[str]) -> None:
    config = QtinfraConfig(gateway={"database_url": day.desk.url})  # type: ignore[arg-type]
    assert run_order_trail(config, "NOPE", as_json=False) == 1
    assert "no order with OrderID or ClOrdID NOPE" in capsys.readouterr().err
    with pytest.raises(UnknownOrder):
        order_trail(day.desk.engine, "NONE")
    with pytest.raises(UnknownOrder):
        order_trail(day.desk.engine, "C")  # a prefix of real ids is not an id


def test_a_clordid_two_sessions_used_is_ambiguous(tmp_path: Path) -> None:
    d = Desk(f"sqlite:///{tmp_path / 'j.db'}")
    d.new(S1, "SAME", Side.BUY, "1", "189.00")
    d.new(S2, "SAME", Side.BUY, "1", "189.00")
    d.flush()
    with pytest.raises(AmbiguousOrder, match="name one by its OrderID"):
        order_trail(d.engine, "SAME")
    assert order_trail(d.engine, d.order_id(S2, "SAME")).sessions == [S2]


# -- pieces --------------------------------------------------------------------------------------


def test_dictionary_names_tags_enumerations_and_message_types() -> None:
    fix44 = dictionary_for(fix_specs_dir(), "FIX.4.4")
    assert fix44.describe("35", "8").render() == "35=8 (MsgType=ExecutionReport)"
    assert fix44.describe("54", "5").render() == "54=5 (Side=SELL_SHORT)"
    assert fix44.describe("2376", "24").render() == "2376=24 (PartyRoleQualifier)"
    assert fix44.describe("9999", "x").render() == "9999=x"
    assert FixDictionary({}, {}, {}).describe("11", "A").render() == "11=A"


def _fill(
    seq: int, qty: str, px: str, child: str = "QTC1", exec_id: str | None = None
) -> VenueFill:
    return VenueFill(
        seq, T0, "FIX.4.4:QTGW->CBOE", child, exec_id or f"E{seq}", D(qty), D(px), "CEUX"
    )


def test_each_client_fill_pairs_with_the_earlier_venue_fill_of_the_same_size_and_price() -> None:
    fills = [
        _fill(1, "10", "190"),
        _fill(2, "10", "190", exec_id="E1"),
        _fill(3, "5", "191"),
        _fill(6, "10", "190"),
    ]
    paired = match_fills(
        [(4, D(5), D(191)), (5, D(10), D(190)), (7, D(10), D(190)), (8, D(1), D(1))], fills
    )
    assert {k: v.seq for k, v in paired.items()} == {4: 3, 5: 1, 7: 6}
