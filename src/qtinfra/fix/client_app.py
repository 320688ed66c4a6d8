"""The client-facing QuickFIX application (acceptor).

Callbacks only authenticate, journal, decode and hand commands to the sequencer. Every
callback catches what it does not expect: in the Python binding an exception escaping a
callback ends the process, so the counterparty is answered and the error logged instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import quickfix as fix
import structlog

from qtinfra.config import ClientConfig
from qtinfra.domain.commands import Command, RejectInput
from qtinfra.fix import codec, wire
from qtinfra.fix.auth import same_text, verify_password
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.ops.metrics import REJECTS
from qtinfra.store.journal import JournalWriter

log = structlog.get_logger(__name__)


def check_logon(client: ClientConfig | None, comp_id: str, msg: fix.Message) -> str | None:
    """Why a Logon must be refused, or None to accept it."""
    if client is None:
        return f"unknown SenderCompID {comp_id}"
    if client.auth == "ip":
        return None  # the acceptor's AllowedRemoteAddresses already checked the address
    if not msg.isSetField(553) or not msg.isSetField(554):
        return "Logon must carry Username (553) and Password (554)"
    assert client.username is not None and client.password_hash is not None
    username_ok = same_text(msg.getField(553), client.username)
    password_ok = verify_password(msg.getField(554), client.password_hash)
    if not (username_ok and password_ok):
        return "invalid Username (553) or Password (554)"
    return None


class ClientApplication(fix.Application):  # type: ignore[misc]
    """QuickFIX application for client sessions; see the module docstring."""

    def __init__(
        self,
        clients: Mapping[str, ClientConfig],
        submit: Callable[[Command], None],
        writer: JournalWriter,
        registry: SessionRegistry,
    ) -> None:
        super().__init__()
        self.clients = dict(clients)
        self.submit = submit
        self.writer = writer
        self.registry = registry

    def onCreate(self, session_id: fix.SessionID) -> None:
        self.registry.add(session_id, "client")

    def onLogon(self, session_id: fix.SessionID) -> None:
        try:
            key, _ = self.registry.logged_on(session_id, True)
            self.writer.record("session.logon", key, key)
            log.info("client_logon", session=key)
        except Exception:
            log.exception("on_logon_failed")

    def onLogout(self, session_id: fix.SessionID) -> None:
        try:
            key, changed = self.registry.logged_on(session_id, False)
            if not changed:
                return
            self.writer.record("session.logout", key, key)
            log.info("client_logout", session=key)
        except Exception:
            log.exception("on_logout_failed")

    # Raw messages in and out are journaled by JournalLog (fix/journal_log.py), at the wire.

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        refusal: str | None = None
        bad: wire.BadField | None = None
        try:
            key = session_id.toString()
            raw = message.toString()
            pairs = wire.split(raw)
            msg_type = message.getHeader().getField(35)
            if msg_type not in ("3", "5"):  # a Reject is never rejected; a Logout ends anyway
                bad = wire.check_fields(raw, pairs, codec.FIELD_LIMITS, codec.DEFAULT_FIELD_LIMIT)
            if msg_type == "A":
                comp_id = session_id.getTargetCompID().getValue()
                refusal = logon_refusal(pairs, bad) or check_logon(
                    self.clients.get(comp_id), comp_id, message
                )
                if refusal is not None:
                    REJECTS.labels("logon").inc()
                    self.writer.record("logon.refused", refusal, key)
                    log.warning("logon_refused", session=key, reason=refusal)
            elif bad is not None:
                REJECTS.labels("session").inc()
                self.writer.record("session.rejected", bad.text, key)
                log.warning("session_reject", session=key, tag=bad.tag, reason=bad.text)
        except Exception:
            log.exception("from_admin_failed")
            refusal = "logon could not be processed"
        if refusal is not None:
            raise fix.RejectLogon(refusal)
        if bad is not None:
            # QuickFIX answers with a Reject (35=3) naming the tag, and does not act on the
            # message (no Heartbeat echoing a TestReqID that is not ASCII).
            if bad.reason == wire.RejectReason.INCORRECT_DATA_FORMAT:
                raise fix.IncorrectDataFormat(bad.tag)
            raise fix.IncorrectTagValue(bad.tag)

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        key = session_id.toString()
        try:
            self.submit(codec.decode_client(message, key))
        except Exception as exc:
            log.exception("from_app_failed", session=key)
            self.submit(
                RejectInput(
                    session=key,
                    kind="business",
                    text=f"message could not be processed: {type(exc).__name__}",
                    reason="0",
                )
            )


def logon_refusal(pairs: list[wire.Field], bad: wire.BadField | None) -> str | None:
    """Why a Logon is refused before its credentials are looked at: a field that is not
    printable ASCII or too long, a HeartBtInt out of range, an EncryptMethod other than
    none, or a FIXT DefaultApplVerID other than FIX.5.0SP2. (A tag repeated outside a
    repeating group never gets here: QuickFIX's validation refuses it first, and every
    occurrence of a secret is masked in the journal.)"""
    if bad is not None:
        return f"Logon refused: {bad.text}"
    begin_string = pairs[0][1] if pairs else ""
    for tag, value in pairs:
        if tag == 108 and not (value.isdigit() and 1 <= int(value) <= MAX_HEARTBEAT):
            return f"Logon refused: HeartBtInt (108) must be 1 to {MAX_HEARTBEAT} seconds"
        if tag == 98 and value != "0":
            return "Logon refused: EncryptMethod (98) must be 0 (none)"
        if tag == 1137 and begin_string == "FIXT.1.1" and value != APPL_VER_ID:
            return f"Logon refused: DefaultApplVerID (1137) must be {APPL_VER_ID} (FIX.5.0SP2)"
    return None


APPL_VER_ID = "9"
"""The one application version FIXT.1.1 sessions speak (DefaultApplVerID 1137)."""


MAX_HEARTBEAT = 3600
"""The longest HeartBtInt (108) a client may ask for, in seconds (rules of engagement)."""
