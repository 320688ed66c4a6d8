"""Exactly once across a crash, at start, before any session connects (DESIGN.md: "an
inbound message whose sequence number was consumed is in the journal or is asked for
again; an outbound message the journal committed but the process never sent is sent at
restart"), and the test-only fault hook the tests of it use."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import quickfix as fix
import structlog
from sqlalchemy import Engine

from qtinfra.domain.events import Event
from qtinfra.fix import release_recovery
from qtinfra.fix.dispatch import Dispatcher
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.store.event_codec import RELEASED_KINDS, event_from_payload
from qtinfra.store.journal import JournalWriter
from qtinfra.store.repository import inbound_progress, journal_after

log = structlog.get_logger(__name__)


def settings_by_session(settings: fix.SessionSettings) -> dict[str, fix.SessionSettings]:
    """The settings object that holds each session's block, by session key."""
    return {sid.toString(): settings for sid in settings.getSessions()}


def rewind_inbound(engine: Engine, registry: SessionRegistry, writer: JournalWriter) -> None:
    """Exactly once inbound: QuickFIX stores the next expected MsgSeqNum as soon as a
    callback returns, before the round's group commit. A message whose number was
    consumed but whose effects the journal does not hold (the process died in between)
    must be asked for again: each session whose store is ahead of the number the last
    commit recorded (session_progress) goes back to it, so the counterparty's next
    message triggers a ResendRequest and the lost messages come back (PossDupFlag=Y,
    answered once). From then on every commit records each session's number."""
    recorded = inbound_progress(engine)
    sessions: dict[str, Any] = {}
    for session_id in registry.session_ids():
        key = session_id.toString()
        session = fix.Session.lookupSession(session_id)
        if session is None:
            continue
        sessions[key] = session
        committed = recorded.get(key)
        expected = session.getExpectedTargetNum()
        if committed is None or committed >= expected:
            continue
        session.setNextTargetMsgSeqNum(committed)
        text = (
            f"next expected inbound MsgSeqNum {expected} -> {committed}: messages "
            f"{committed}-{expected - 1} were consumed but not journaled; they will be "
            "asked for again"
        )
        writer.record("session.rewound", text, key)
        log.warning("session_rewound", session=key, expected=expected, journaled=committed)
    writer.progress = lambda: {k: s.getExpectedTargetNum() for k, s in sessions.items()}


def release_stranded(
    engine: Engine,
    registry: SessionRegistry,
    writer: JournalWriter,
    dispatcher: Dispatcher,
    settings: dict[str, fix.SessionSettings],
    postgresql_store: bool,
) -> None:
    """Exactly once outbound: the client and venue events journaled after the release
    mark that no session's message store holds (committed, then the process died before
    QuickFIX took them) are handed to QuickFIX now, in journal order, before any session
    connects; a counterparty keeping its sequence numbers gets them as the gap it asks
    for at logon (fix/release_recovery.py). Events from before a session's store was
    last reset (a new session day) are not sent again: both sides started afresh."""
    pg = engine if postgresql_store else None
    events: list[Event] = []
    session_of: dict[int, str] = {}
    created: dict[str, datetime | None] = {}
    stale = 0
    for seq, ts, kind, payload in journal_after(engine, writer.released, RELEASED_KINDS):
        try:
            event = event_from_payload(kind, payload)
            key = dispatcher.session_of(event)
        except Exception as exc:
            writer.record("release.failed", f"journal row {seq} ({kind}): {exc}", None)
            log.error("release_recovery_failed", seq=seq, kind=kind, error=str(exc))
            continue
        if key not in settings:
            continue
        if key not in created:
            created[key] = release_recovery.store_created(
                registry.session_id(key), settings[key], pg
            )
        born = created[key]
        if born is not None and ts.replace(tzinfo=ts.tzinfo or UTC) < born:
            stale += 1
            continue
        events.append(event)
        session_of[id(event)] = key
    sent: dict[str, set[release_recovery.Signature]] = {}
    for key in set(session_of.values()):
        raw = release_recovery.stored_messages(
            registry.session_id(key), settings[key], pg, len(events) + 10_000
        )
        sent[key] = {sig for m in raw if (sig := release_recovery.signature(m))}
    stranded = release_recovery.unsent(events, session_of, sent)
    if stranded:
        dispatcher.dispatch(stranded)
        for key in sorted({session_of[id(e)] for e in stranded}):
            count = sum(1 for e in stranded if session_of[id(e)] == key)
            writer.record(
                "release.recovered",
                f"{count} messages journaled before the restart but never sent were "
                "handed to the session again",
                key,
            )
        log.warning("release_recovered", messages=len(stranded), journaled=len(events))
    if stale:
        writer.record(
            "release.recovered",
            f"{stale} events journaled before their session's store was reset were not sent"
            " again (a new session day)",
            None,
        )
    writer.mark_released()


def fault_from_env() -> Callable[[str, list[dict[str, Any]]], None] | None:
    """Test-only: QTINFRA_FAULT="<stage>:<text>" ends the process (exit 137, as SIGKILL
    would) at that stage of the first group commit whose rows hold <text>; stage is
    before-commit (QuickFIX consumed the inbound numbers, the journal has nothing) or
    after-commit (journaled, nothing released). Unset in production."""
    spec = os.environ.get("QTINFRA_FAULT")
    if not spec:
        return None
    stage, _, needle = spec.partition(":")
    log.warning("fault_injection_armed", stage=stage, text=needle)

    def fault(at: str, rows: list[dict[str, Any]]) -> None:
        if at == stage and any(needle in str(r.get("payload", "")) for r in rows):
            os._exit(137)

    return fault


def dispatch_fault_from_env() -> Callable[[object], None] | None:
    """Test-only: QTINFRA_FAULT_DISPATCH="<text>[,<text>...]" makes the first event whose
    repr holds each <text> fail to send (as an encoding bug would), once per text. Unset in
    production."""
    spec = os.environ.get("QTINFRA_FAULT_DISPATCH")
    if not spec:
        return None
    armed = [t for t in spec.split(",") if t]
    log.warning("dispatch_fault_injection_armed", texts=armed)

    def fault(event: object) -> None:
        text = repr(event)
        for needle in armed:
            if needle in text:
                armed.remove(needle)
                raise RuntimeError(f"injected dispatch fault ({needle})")

    return fault
