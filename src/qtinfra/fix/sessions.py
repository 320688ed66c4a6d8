"""Which sessions exist, whether they are logged on, their sequence numbers and last
message times: what `qtinfra sessions` and the ops endpoint show."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import quickfix as fix

from qtinfra.ops.metrics import FIX_MESSAGES, SESSION_LOGGED_ON


@dataclass(slots=True)
class _Entry:
    session_id: fix.SessionID
    kind: str
    logged_on: bool = False
    last_in: datetime | None = None
    last_out: datetime | None = None
    counter_in: Any = None
    counter_out: Any = None


class SessionRegistry:
    """The business thread writes (through QuickFIX callbacks and the journal log), the
    ops HTTP thread reads snapshots."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def add(self, session_id: fix.SessionID, kind: str) -> None:
        key = session_id.toString()
        with self._lock:
            self._entries[key] = _Entry(
                session_id=fix.SessionID(
                    session_id.getBeginString().getValue(),
                    session_id.getSenderCompID().getValue(),
                    session_id.getTargetCompID().getValue(),
                ),
                kind=kind,
                counter_in=FIX_MESSAGES.labels(key, "in"),
                counter_out=FIX_MESSAGES.labels(key, "out"),
            )
        SESSION_LOGGED_ON.labels(key, kind).set(0)

    def session_ids(self) -> list[fix.SessionID]:
        """Client sessions first, then venues (the order they are logged out in)."""
        with self._lock:
            entries = list(self._entries.values())
        return [e.session_id for e in sorted(entries, key=lambda e: e.kind != "client")]

    def keys(self, kind: str) -> list[str]:
        """The keys (FIX.4.4:QTGW->CLIENT1) of every session of a kind (client, venue)."""
        with self._lock:
            return [k for k, e in self._entries.items() if e.kind == kind]

    def session_id(self, key: str) -> fix.SessionID:
        return self._entries[key].session_id

    def logged_on(self, session_id: fix.SessionID, up: bool) -> tuple[str, bool]:
        """Record a logon or logout; returns the session key and whether the state changed
        (QuickFIX reports a logout for every failed connection attempt too)."""
        key = session_id.toString()
        entry = self._entries.get(key)
        if entry is None or entry.logged_on == up:
            return key, False
        entry.logged_on = up
        SESSION_LOGGED_ON.labels(key, entry.kind).set(1 if up else 0)
        return key, True

    def kind_of(self, key: str) -> str | None:
        """client or venue (None: no such session)."""
        entry = self._entries.get(key)
        return entry.kind if entry is not None else None

    def is_logged_on(self, key: str) -> bool:
        entry = self._entries.get(key)
        return bool(entry and entry.logged_on)

    def received_key(self, key: str, ts: datetime) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.last_in = ts
            entry.counter_in.inc()

    def sent_key(self, key: str, ts: datetime) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.last_out = ts
            entry.counter_out.inc()

    def snapshot(self) -> list[dict[str, Any]]:
        """One row per session: kind, logged on, next sequence numbers, last message times."""
        rows = []
        with self._lock:
            entries = list(self._entries.items())
        for key, entry in entries:
            session = fix.Session.lookupSession(entry.session_id)
            next_out = session.getExpectedSenderNum() if session else None
            next_in = session.getExpectedTargetNum() if session else None
            last = max((t for t in (entry.last_in, entry.last_out) if t), default=None)
            rows.append(
                {
                    "session": key,
                    "kind": entry.kind,
                    "logged_on": entry.logged_on,
                    "next_seq_in": next_in,
                    "next_seq_out": next_out,
                    "last_received": entry.last_in.isoformat() if entry.last_in else None,
                    "last_sent": entry.last_out.isoformat() if entry.last_out else None,
                    "last_message": last.isoformat() if last else None,
                }
            )
        return rows
