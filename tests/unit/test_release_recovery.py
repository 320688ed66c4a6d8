"""What a crash left committed but unsent: messages identified in QuickFIX's FileStore."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from qtinfra.domain.events import ChildOrderSent, SessionRejected
from qtinfra.domain.values import OrdType, Side, TimeInForce
from qtinfra.fix import codec, release_recovery, venue_codec

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOH = "\x01"


def stored(msgs: list[str], folder: Path, name: str = "FIX.4.4-QTGW-CBOE") -> None:
    body = folder / f"{name}.body"
    header = folder / f"{name}.header"
    data, index, offset = b"", [], 0
    for seq, m in enumerate(msgs, 1):
        raw = m.encode()
        index.append(f"{seq},{offset},{len(raw)} ")
        data += raw
        offset += len(raw)
    body.write_bytes(data)
    header.write_text("".join(index))


def child(child_id: str) -> ChildOrderSent:
    return ChildOrderSent(
        "CBOE", child_id, "O1", "AAPL", "US0378331005", Side.BUY, OrdType.LIMIT,
        TimeInForce.DAY, Decimal(10), Decimal(190), NOW,
    )  # fmt: skip


def test_file_store_messages_are_read_back_in_order(tmp_path: Path) -> None:
    msgs = [f"8=FIX.4.4{SOH}35=D{SOH}11=K{i}{SOH}10=000{SOH}" for i in range(5)]
    stored(msgs, tmp_path)
    got = release_recovery._file_store_messages(
        tmp_path / "FIX.4.4-QTGW-CBOE.header", tmp_path / "FIX.4.4-QTGW-CBOE.body", 3
    )
    assert got == msgs[-3:]


def test_an_event_the_store_holds_is_not_sent_again_and_one_it_lacks_is() -> None:
    sent_child, lost_child = child("K1"), child("K2")
    held = codec.raw(venue_codec.encode_child_new(sent_child))
    sent = {"V": {release_recovery.signature(held)}}
    session_of = {id(sent_child): "V", id(lost_child): "V"}
    assert release_recovery.unsent([sent_child, lost_child], session_of, sent) == [lost_child]  # type: ignore[arg-type]


def test_signatures_tell_session_rejects_of_different_messages_apart() -> None:
    a = SessionRejected("S", 7, "D", 58, "6", "x")
    b = SessionRejected("S", 8, "D", 58, "6", "x")
    assert release_recovery.event_signature(a, "S") != release_recovery.event_signature(b, "S")
