"""What a crash left committed but unsent, found by asking QuickFIX's message store.

Journal before release: a batch's events are committed, then handed to QuickFIX, which
stores each outbound message in its message store (FileStore files or the PostgreSQL
`messages` table) as it takes it. A process that dies between the two leaves events in the
journal that no session ever took. At start, each event journaled after the release mark
(store/journal.py) is looked up in its session's store by what identifies its message
(ExecID for an ExecutionReport, the ClOrdID of a child order...): the ones missing are
handed to QuickFIX again, in journal order, before any session connects. A client or venue
keeping its sequence numbers then receives them as the gap it asks for at logon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import quickfix as fix
from sqlalchemy import Engine, text

from qtinfra.domain.events import Event
from qtinfra.fix import codec, outbound, wire

Signature = tuple[str, ...]
# The fields that tell one outbound message from another, by MsgType.
_IDENTITY: dict[str, tuple[int, ...]] = {
    "8": (17,),  # ExecID: unique
    "9": (11, 41, 434, 102, 60),  # ClOrdID, OrigClOrdID, CxlRejResponseTo, reason, time
    "j": (45, 372, 379, 58),  # RefSeqNum, RefMsgType, BusinessRejectRefID, Text
    "3": (45, 371, 373),  # RefSeqNum, RefTagID, SessionRejectReason
    "D": (11,),  # child ClOrdID: unique
    "F": (11,),  # child cancel ClOrdID: unique (<child>.X<n>)
    "H": (11,),  # a status request: sent again at every venue logon anyway
}


def signature(raw: str) -> Signature | None:
    """What identifies a serialised outbound message (None: not one the gateway
    re-sends)."""
    fields = wire.by_tag(wire.split(raw))
    msg_type = fields.get(35, "")
    tags = _IDENTITY.get(msg_type)
    if tags is None:
        return None
    return (msg_type, *(fields.get(t, "") for t in tags))


def event_signature(event: Event, session: str) -> Signature | None:
    """The signature of the message `event` becomes (encoded as the dispatcher would)."""
    msg = outbound.encode_event(event, session)
    return None if msg is None else signature(codec.raw(msg))


def stored_messages(
    session_id: fix.SessionID,
    settings: fix.SessionSettings,
    engine: Engine | None,
    last: int,
) -> list[str]:
    """The last `last` messages QuickFIX's store holds as sent on a session: from the
    PostgreSQL store's table when engine is given, else from the FileStore's files."""
    key = _store_key(session_id)
    if engine is not None:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT message FROM messages WHERE beginstring = :b AND sendercompid = :s"
                    " AND targetcompid = :t AND session_qualifier = :q"
                    " ORDER BY msgseqnum DESC LIMIT :n"
                ),
                {**key, "n": last},
            ).scalars()
            return list(reversed(list(rows)))
    prefix = _file_prefix(session_id, settings, key)
    return _file_store_messages(
        prefix.with_name(prefix.name + ".header"), prefix.with_name(prefix.name + ".body"), last
    )


def store_created(
    session_id: fix.SessionID, settings: fix.SessionSettings, engine: Engine | None
) -> datetime | None:
    """When QuickFIX's store for a session was last created (reset): nothing journaled
    before it can be in it, and the counterparty started afresh then too."""
    key = _store_key(session_id)
    if engine is not None:
        with engine.connect() as conn:
            created = conn.execute(
                text(
                    "SELECT creation_time FROM sessions WHERE beginstring = :b AND "
                    "sendercompid = :s AND targetcompid = :t AND session_qualifier = :q"
                ),
                key,
            ).scalar()
        if not isinstance(created, datetime):
            return None
        return created if created.tzinfo else created.replace(tzinfo=UTC)
    prefix = _file_prefix(session_id, settings, key)
    path = prefix.with_name(prefix.name + ".session")
    if not path.exists():
        return None
    stamp = path.read_text().strip()
    fmt = "%Y%m%d-%H:%M:%S.%f" if "." in stamp else "%Y%m%d-%H:%M:%S"
    return datetime.strptime(stamp, fmt).replace(tzinfo=UTC)


def _store_key(session_id: fix.SessionID) -> dict[str, str]:
    """The session's key columns in QuickFIX's PostgreSQL store tables."""
    return {
        "b": session_id.getBeginString().getValue(),
        "s": session_id.getSenderCompID().getValue(),
        "t": session_id.getTargetCompID().getValue(),
        "q": session_id.getSessionQualifier(),
    }


def _file_prefix(
    session_id: fix.SessionID, settings: fix.SessionSettings, key: dict[str, str]
) -> Path:
    """The FileStore's files of a session: <FileStorePath>/<begin>-<sender>-<target>[-<q>]
    (QuickFIX's FileStore.cpp), without the extension."""
    name = f"{key['b']}-{key['s']}-{key['t']}" + (f"-{key['q']}" if key["q"] else "")
    return Path(settings.get(session_id).getString("FileStorePath")) / name


def _file_store_messages(header: Path, body: Path, last: int) -> list[str]:
    """FileStore: the header file lists `seq,offset,size ` per message, the body file holds
    the messages back to back (QuickFIX's FileStore.cpp)."""
    if not header.exists() or not body.exists():
        return []
    entries = header.read_text().split()[-last:]
    out: list[str] = []
    with body.open("rb") as fh:
        for entry in entries:
            parts = entry.split(",")
            if len(parts) != 3:
                continue
            fh.seek(int(parts[1]))
            out.append(fh.read(int(parts[2])).decode("utf-8", "surrogateescape"))
    return out


def unsent(
    events: Iterable[Event],
    session_of: Mapping[int, str],
    sent: Mapping[str, set[Signature]],
) -> list[Event]:
    """The events (in journal order) whose message no session's store holds. session_of:
    the session key of each event, by id(event)."""
    out: list[Event] = []
    for event in events:
        session = session_of[id(event)]
        sig = event_signature(event, session)
        if sig is not None and sig not in sent.get(session, set()):
            out.append(event)
    return out
