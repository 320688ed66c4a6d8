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
from qtinfra.fix import codec
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
        self._decoders = {
            "D": codec.decode_new_order,
            "F": codec.decode_cancel,
            "G": codec.decode_replace,
            "H": codec.decode_status,
        }

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
        try:
            key = session_id.toString()
            if message.getHeader().getField(35) == "A":
                comp_id = session_id.getTargetCompID().getValue()
                refusal = check_logon(self.clients.get(comp_id), comp_id, message)
                if refusal is not None:
                    REJECTS.labels("logon").inc()
                    self.writer.record("logon.refused", refusal, key)
                    log.warning("logon_refused", session=key, reason=refusal)
        except Exception:
            log.exception("from_admin_failed")
            refusal = "logon could not be processed"
        if refusal is not None:
            raise fix.RejectLogon(refusal)

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        key = session_id.toString()
        try:
            msg_type = message.getHeader().getField(35)
            decoder = self._decoders.get(msg_type)
            if decoder is None:
                self.submit(codec.unsupported(message, key))
                return
            self.submit(decoder(message, key))
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
