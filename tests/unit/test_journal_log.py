"""QuickFIX's log pointed at the journal (fix/journal_log.py): which of QuickFIX's own events
are a client's refused Logon (journaled as logon.refused with the Logout's reason), and which
are not: a message that was no Logon, a venue session, a session logged on."""

from __future__ import annotations

from datetime import datetime

import pytest
import quickfix as fix

from qtinfra.fix.journal_log import JournalLog
from qtinfra.fix.sessions import SessionRegistry

CLIENT = "FIX.4.4:QTGW->CLIENT1"
VENUE = "FIX.4.4:QTGW->TRQ"
LOGON = "8=FIX.4.4\x019=60\x0135=A\x0134=1\x0149=CLIENT1\x01554=x\x01554=y\x0110=000\x01"
TEST_REQUEST = "8=FIX.4.4\x019=40\x0135=1\x0134=2\x0149=CLIENT1\x0110=000\x01"


class Writer:
    """What the log writes to the journal."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str | None]] = []

    def record(self, kind: str, payload: str, session: str | None = None) -> None:
        self.rows.append((kind, payload, session))

    def record_message(self, kind: str, session: str, raw: str, ts: datetime) -> None:
        self.rows.append((kind, raw, session))

    def refused(self) -> list[str]:
        return [payload for kind, payload, _ in self.rows if kind == "logon.refused"]


def log_for(key: str, kind: str, logged_on: bool = False) -> tuple[JournalLog, Writer]:
    registry = SessionRegistry()
    session_id = fix.SessionID(*key.replace("->", ":").split(":"))
    registry.add(session_id, kind)
    if logged_on:
        registry.logged_on(session_id, True)
    writer = Writer()
    return JournalLog(key, writer, registry), writer  # type: ignore[arg-type]


def test_a_logon_quickfix_rejects_is_journaled_as_refused_with_the_logouts_reason() -> None:
    log, writer = log_for(CLIENT, "client")
    log.onIncoming(LOGON)
    log.onEvent("Message 1 Rejected: Tag appears more than once:554")
    assert writer.refused() == ["Logon refused: Tag appears more than once (tag 554)"]


def test_a_garbled_logon_is_journaled_as_refused_with_the_parsers_reason() -> None:
    log, writer = log_for(CLIENT, "client")
    log.onIncoming(LOGON)
    log.onEvent("Invalid message: Data field 96 does not end where its length field 95 says: -1")
    log.onEvent("Logon message is not valid")
    assert writer.refused() == [
        "Logon refused: Data field 96 does not end where its length field 95 says: -1"
    ]


@pytest.mark.parametrize(
    ("key", "kind", "logged_on", "received"),
    [
        (CLIENT, "client", False, TEST_REQUEST),  # no Logon: e.g. left behind after a Logout
        (VENUE, "venue", False, LOGON),  # our own initiator: the venue's answer
        (CLIENT, "client", True, LOGON),  # a session already logged on
    ],
    ids=["not-a-logon", "venue-session", "logged-on"],
)
def test_other_rejections_are_not_refused_logons(
    key: str, kind: str, logged_on: bool, received: str
) -> None:
    log, writer = log_for(key, kind, logged_on)
    log.onIncoming(received)
    log.onEvent("Message 2 Rejected: Required tag missing:112")
    assert writer.refused() == []
    assert ("fix.event", "Message 2 Rejected: Required tag missing:112", key) in writer.rows


def test_a_password_quoted_in_an_event_is_masked() -> None:
    log, writer = log_for(CLIENT, "client")
    log.onIncoming(LOGON)
    log.onEvent("Invalid message: Field tag is invalid: 554s3cret\x0110")
    log.onEvent("Logon message is not valid")
    assert all("s3cret" not in payload for _, payload, _ in writer.rows)
    assert writer.refused() == ["Logon refused: Field tag is invalid: 554*****\x0110"]
