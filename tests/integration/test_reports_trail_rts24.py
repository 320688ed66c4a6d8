"""The order trail and the RTS 24 order records of a real deployment (venue processes, the
gateway process, QuickFIX clients), on SQLite and on PostgreSQL.

CLIENT1 (Account ACC1, a legal person) sends an order that rests, replaces it larger and
marketable so it partly fills, then cancels it; an order that fills across venues; and one
the gateway rejects. CLIENT2 (ACC2, a natural person, FIXT.1.1) buys SAP.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qtinfra.config import QtinfraConfig, load_config
from qtinfra.reports.rts24 import FIELDNAMES, RECORDED, order_records, run_rts24
from qtinfra.reports.trail import OrderTrail, order_trail, run_order_trail
from qtinfra.store.privacy import reveal_config
from qtinfra.tools.buyside import BuySideClient
from tests.helpers import wait_until
from tests.integration.deployment import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

D = Decimal
DONE = {"2", "4", "8", "C"}


def until(client: BuySideClient, done: Any, timeout: float = 15.0) -> list[dict[int, str]]:
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


def quiet(client: BuySideClient, seconds: float = 1.0) -> list[dict[int, str]]:
    out = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            out.append(client.next_message(remaining))
        except Exception:
            break
    return out


@dataclass
class Session:
    """What the clients did, and the gateway's OrderIDs for it."""

    config: QtinfraConfig
    start: datetime
    end: datetime
    replaced: list[str]  # ClOrdIDs: new, replace, cancel
    replaced_id: str
    filled: str
    filled_id: str
    rejected: str
    natural: str
    natural_id: str


def _final_out_journaled(config: QtinfraConfig, order_id: str, status: str) -> bool:
    """The ExecutionReport with this OrdStatus was journaled as sent (released messages are
    written with the next commit)."""
    from qtinfra.store.db import make_engine

    engine = make_engine(config.database_url)
    try:
        trail = order_trail(engine, order_id)
    finally:
        engine.dispose()
    return any(
        e.kind == "fix.out" and ("39", status) in {(f.tag, f.value) for f in e.fields}
        for e in trail.entries
    )


@pytest.fixture(scope="module")
def session(deployment: Deployment) -> Iterator[Session]:
    start = datetime.now(UTC) - timedelta(seconds=1)
    c1 = deployment.client("CLIENT1")
    c2 = deployment.client("CLIENT2")
    try:
        # Rests (far below the market), is replaced larger and marketable: part fills.
        new = c1.new_order("AAPL", "1", 100, D("180"))
        ack = until(c1, lambda m: m.get(11) == new)[-1]
        assert ack[150] == "0", ack
        order_id = ack[37]
        rpl = c1.replace(new, "AAPL", "1", 3000, D("190.05"))
        until(c1, lambda m: m.get(11) == rpl and m.get(150) == "5")
        msgs = until(c1, lambda m: m.get(11) == rpl and m.get(150) == "F")
        msgs += quiet(c1, 1.5)
        assert all(m.get(39) not in DONE for m in msgs), msgs
        cxl = c1.cancel(rpl, "AAPL", "1", 3000)
        done = until(c1, lambda m: m.get(11) == cxl and m.get(39) in DONE)[-1]
        assert done[39] == "4" and D(done[14]) > 0, done

        # Fills across venues.
        filled = c1.new_order("AAPL", "1", 150, D("191"))
        last = until(c1, lambda m: m.get(11) == filled and m.get(39) in DONE)[-1]
        assert last[39] == "2", last

        # Rejected before booking.
        rejected = c1.new_order("ZZZZ", "1", 10, D("10"))
        reject = until(c1, lambda m: m.get(11) == rejected)[-1]
        assert (reject[39], reject[37]) == ("8", "NONE"), reject

        # A natural person's order on the FIX 5.0SP2 session.
        natural = c2.new_order("SAP", "1", 40, D("181"))
        last2 = until(c2, lambda m: m.get(11) == natural and m.get(39) in DONE)[-1]
        assert last2[39] == "2", last2
    finally:
        c1.stop()
        c2.stop()
        deployment.clients.remove(c1)
        deployment.clients.remove(c2)
    config = load_config(deployment.config_dir)
    for oid, status in ((order_id, "4"), (last[37], "2"), (last2[37], "2")):
        assert wait_until(lambda o=oid, s=status: _final_out_journaled(config, o, s), 10)
    yield Session(
        config=config,
        start=start,
        end=datetime.now(UTC) + timedelta(seconds=1),
        replaced=[new, rpl, cxl],
        replaced_id=order_id,
        filled=filled,
        filled_id=last[37],
        rejected=rejected,
        natural=natural,
        natural_id=last2[37],
    )


@pytest.fixture(autouse=True)
def _journal_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QTINFRA_DATABASE_URL", raising=False)


def trail_of(s: Session, ident: str) -> OrderTrail:
    from qtinfra.store.db import make_engine

    engine = make_engine(s.config.database_url)
    try:
        return order_trail(engine, ident)
    finally:
        engine.dispose()


def exec_types(trail: OrderTrail) -> list[str]:
    return [e.event["exec_type"] for e in trail.entries if e.kind == "ExecutionReport" and e.event]


# -- the trail ---------------------------------------------------------------------------------


def test_trail_of_a_replaced_partly_filled_cancelled_order_shows_every_step(
    session: Session,
) -> None:
    trail = trail_of(session, session.replaced[1])
    assert trail.order_id == session.replaced_id
    assert trail.cl_ord_ids == session.replaced
    keys = [(e.ts, e.seq) for e in trail.entries]
    assert keys == sorted(keys)
    types = exec_types(trail)
    assert types[:3] == ["0", "E", "5"] and types[-2:] == ["6", "4"]
    assert "F" in types[3:-2]
    children = [e.event for e in trail.entries if e.kind == "ChildOrderSent" and e.event]
    cancels = [e.event for e in trail.entries if e.kind == "ChildCancelSent" and e.event]
    assert len(children) >= 2 and len(cancels) >= 2
    client = "FIX.4.4:QTGW->CLIENT1"
    inbound = [e for e in trail.entries if e.kind == "fix.in" and e.session == client]
    assert [e.fields[2].render() for e in inbound] == [
        "35=D (MsgType=NewOrderSingle)",
        "35=G (MsgType=OrderCancelReplaceRequest)",
        "35=F (MsgType=OrderCancelRequest)",
    ]
    outbound = [e for e in trail.entries if e.kind == "fix.out" and e.session == client]
    assert len(outbound) == len(types)  # every ExecutionReport reached the client
    venue_out = [e for e in trail.entries if e.kind == "fix.out" and e.session != client]
    assert len(venue_out) == len(children) + len(cancels)
    venue_in = [e for e in trail.entries if e.kind == "fix.in" and e.session != client]
    assert {m.session for m in venue_in} == {m.session for m in venue_out}
    # Every fill the client got is paired with the venue's execution.
    assert len(trail.fills) == types.count("F") and all(f.venue_exec_id for f in trail.fills)
    assert sum(c.filled for c in trail.children) == sum(D(f.quantity) for f in trail.fills)


def test_trail_by_order_id_and_by_each_clordid_is_the_same(session: Session) -> None:
    by_id = trail_of(session, session.replaced_id).to_json()
    for cl in session.replaced:
        assert trail_of(session, cl).to_json() == by_id


def test_trail_of_an_order_filled_across_venues(session: Session) -> None:
    trail = trail_of(session, session.filled)
    assert exec_types(trail)[0] == "0" and exec_types(trail)[-1] == "F"
    assert len({c.venue for c in trail.children}) >= 2
    assert {f.mic for f in trail.fills} <= {"CEUX", "TRQX", "AQXE"}
    assert all(f.venue_exec_id for f in trail.fills)


def test_trail_of_a_rejected_order_and_of_a_fixt_session(session: Session) -> None:
    rejected = trail_of(session, session.rejected)
    assert rejected.order_id is None
    assert [e.kind for e in rejected.entries] == ["fix.in", "ExecutionReport", "fix.out"]
    natural = trail_of(session, session.natural)
    first = natural.entries[0]
    assert first.kind == "fix.in" and first.fields[0].value == "FIXT.1.1"
    assert "(MsgType=NewOrderSingle)" in first.fields[2].render()


def test_audit_order_prints_text_and_json(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_order_trail(session.config, session.replaced[0], as_json=False) == 0
    text = capsys.readouterr().out
    assert f"Order {session.replaced_id}" in text
    assert f"11={session.replaced[1]} (ClOrdID)" in text
    assert "150=5 (ExecType=REPLACED)" in text and "Children" in text and "Fills" in text
    assert run_order_trail(session.config, session.replaced_id, as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["seq"] for e in data] == [
        e.seq for e in trail_of(session, session.replaced_id).entries
    ]
    assert run_order_trail(session.config, "NO-SUCH-ORDER", as_json=False) == 1
    assert "no order" in capsys.readouterr().err


# -- RTS 24 ------------------------------------------------------------------------------------


def records_of(session: Session) -> list[dict[str, Any]]:
    from qtinfra.store.db import make_engine

    engine = make_engine(session.config.database_url)
    try:
        return order_records(
            engine,
            session.start,
            session.end,
            reveal_config(session.config).account_map(),
            session.config.firm.lei,
            venue_mics={v.name: v.mic for v in session.config.venues},
            people=reveal_config(session.config).person_map(),
        )
    finally:
        engine.dispose()


def test_rts24_records_match_each_orders_events_one_to_one(session: Session) -> None:
    records = records_of(session)
    for order_id in (session.replaced_id, session.filled_id, session.natural_id):
        trail = trail_of(session, order_id)
        recorded = [
            e.seq
            for e in trail.entries
            if e.kind == "ExecutionReport" and e.event and e.event["exec_type"] in RECORDED
        ]
        own = [r for r in records if r["order_id"] == order_id and r["child_order_id"] is None]
        assert [r["sequence_number"] for r in own] == recorded
        sent = [r for r in records if r["order_id"] == order_id and r["child_order_id"]]
        assert sent, order_id
        assert {r["segment_mic"] for r in sent} <= {"CEUX", "TRQX", "AQXE"}, sent
    codes = [
        r["event_type"]
        for r in records
        if r["order_id"] == session.replaced_id and r["child_order_id"] is None
    ]
    assert codes[:2] == ["NEWO", "REME"] and codes[-1] == "CAME"
    assert set(codes[2:-1]) == {"PARF"}
    filled = [
        r for r in records if r["order_id"] == session.filled_id and r["child_order_id"] is None
    ]
    assert filled[0]["event_type"] == "NEWO" and filled[-1]["event_type"] == "FILL"
    assert all(r["trading_venue_transaction_id"] for r in filled[1:])
    assert {r["segment_mic"] for r in filled[1:]} <= {"CEUX", "TRQX", "AQXE"}
    (rejected,) = [r for r in records if r["client_order_id"] == session.rejected]
    assert (rejected["event_type"], rejected["order_id"]) == ("REMO", None)


def test_rts24_fields_identify_client_decision_maker_and_capacity(session: Session) -> None:
    records = records_of(session)
    accounts = reveal_config(session.config).account_map()  # as the report reads them
    acc1 = next(r for r in records if r["order_id"] == session.filled_id)
    assert (acc1["client_id"], acc1["account"]) == (accounts["ACC1"].lei, "ACC1")
    decider = accounts["ACC1"].decision_maker.id  # type: ignore[union-attr]
    trader = accounts["ACC1"].executing_trader.id  # type: ignore[union-attr]
    people = reveal_config(session.config).person_map()
    # Fields 4 and 5 as RTS 22 fields 57 and 59 name them: a person by national id, an
    # algorithm by its code; the short codes the venues got beside them.
    assert (acc1["investment_decision_short_code"], acc1["execution_short_code"]) == (
        decider,
        trader,
    )
    assert (acc1["investment_decision_within_firm"], acc1["execution_within_firm"]) == (
        people[decider].national_id if decider in people else decider,
        people[trader].national_id if trader in people else trader,
    )
    assert decider in people  # the demo's decision maker is one of the firm's people
    assert (
        acc1["trading_capacity"] == "AOTC"
        and acc1["submitting_entity_id"] == session.config.firm.lei
    )
    acc2 = next(r for r in records if r["order_id"] == session.natural_id)
    assert (acc2["client_id"], acc2["instrument_id"], acc2["price_currency"]) == (
        accounts["ACC2"].national_id,
        "DE0007164600",
        "EUR",
    )


def test_rts24_csv_file_opens_as_the_json_says(session: Session, tmp_path: Path) -> None:
    csv_path, json_path = tmp_path / "rts24.csv", tmp_path / "rts24.json"
    assert run_rts24(session.config, session.start, session.end, "csv", csv_path) == 0
    assert run_rts24(session.config, session.start, session.end, "json", json_path) == 0
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    objects = json.loads(json_path.read_text())
    assert rows and list(rows[0]) == list(FIELDNAMES)
    assert rows == [{k: "" if v is None else str(v) for k, v in o.items()} for o in objects]
    ours = {session.replaced_id, session.filled_id, session.natural_id}
    assert ours <= {o["order_id"] for o in objects}
