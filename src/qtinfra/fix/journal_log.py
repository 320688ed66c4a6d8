"""QuickFIX's Log, pointed at the journal: every message a session reads or writes, as the
raw bytes on the wire, and every session event QuickFIX reports.

QuickFIX calls onIncoming before it parses or validates a message, so an inbound message
it rejects at the session level (35=3) or a garbled Logon is journaled too, which the
application callbacks would never see. Passwords in Logon messages are masked.
"""

from __future__ import annotations

import re

import quickfix as fix
import structlog

from qtinfra.domain.values import utc_now
from qtinfra.fix import wire
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.ops.metrics import FIX_DISCARDED_BYTES, REJECTS
from qtinfra.store.journal import JournalWriter

log = structlog.get_logger(__name__)

SECRET_TAGS = (553, 554, 925)  # Username, Password, NewPassword


def secret_pattern(tags: tuple[int, ...] = SECRET_TAGS) -> re.Pattern[str]:
    """Matches every occurrence of every secret tag's value (wherever it stands), the tag
    written with leading zeros too (QuickFIX reads 0554 as 554), and a secret tag run into
    its value without the '=' (554secret: QuickFIX quotes it in "Field tag is invalid")."""
    tags_re = "|".join(str(t) for t in tags)
    return re.compile(f"((?:^|\x01|tag is invalid: )0*(?:{tags_re})(?![0-9])=?)[^\x01]*")


_SECRETS = secret_pattern()
_REFUSED_CONNECTIONS = ("Session not found", "Session already connected")
# QuickFIX's events when it refuses a Logon itself (the patch answers a Logon that fails
# validation with a Logout, and closes a garbled one): the reason, then these.
_REJECTED = re.compile(r"Message \d+ Rejected: (?P<reason>.*?)(?::(?P<tag>\d+))?")
_GARBLED_LOGON = "Logon message is not valid"
_LOGON = "\x0135=A\x01"
_INVALID = "Invalid message: "
_DISCARDED = "Discarded "
MASK = "\\1*****"


def mask_password(raw: str, pattern: re.Pattern[str] = _SECRETS) -> str:
    """The raw message with every occurrence of Username (553), Password (554) and
    NewPassword (925) (or the tags `pattern` was made for) replaced, fit for the journal."""
    return pattern.sub(MASK, raw)


class JournalLog(fix.Log):  # type: ignore[misc]
    """One session's log (or QuickFIX's global log when key is None)."""

    def __init__(
        self,
        key: str | None,
        writer: JournalWriter,
        registry: SessionRegistry,
        secrets: re.Pattern[str] = _SECRETS,
    ) -> None:
        super().__init__()
        self.key = key
        self.writer = writer
        self.registry = registry
        self.secrets = secrets
        self._last_event = ""
        self._last_in_logon = False
        """The last message this session received was a Logon (35=A)."""

    def clear(self) -> None:
        pass

    def backup(self) -> None:
        pass

    def onIncoming(self, raw: str) -> None:
        try:
            raw = self.secrets.sub(MASK, raw)
            ts = utc_now()
            self._last_in_logon = _LOGON in raw
            self.writer.record_message("fix.in", self.key or "", raw, ts)
            if self.key is not None:
                self.registry.received_key(self.key, ts)
        except Exception:  # an exception escaping into QuickFIX ends the process
            log.exception("journal_log_failed")

    def onOutgoing(self, raw: str) -> None:
        try:
            raw = self.secrets.sub(MASK, raw)
            ts = utc_now()
            self.writer.record_message("fix.out", self.key or "", raw, ts)
            if self.key is not None:
                self.registry.sent_key(self.key, ts)
        except Exception:
            log.exception("journal_log_failed")

    def onEvent(self, text: str) -> None:
        try:
            # QuickFIX quotes whole messages in some events ("Session not found for
            # incoming message: 8=FIX.4.4|...|554=secret|..."): masked like messages.
            text = self.secrets.sub(MASK, text)
            self.writer.record("fix.event", text, self.key)
            if text.startswith(_DISCARDED):
                # Bytes that are no FIX message (patches/): journaled above as received.
                count = text[len(_DISCARDED) :].split(" ", 1)[0]
                if count.isdigit():
                    FIX_DISCARDED_BYTES.labels(self.key or "").inc(int(count))
                log.warning("fix_bytes_discarded", session=self.key, bytes=count)
            elif (
                self.key is not None
                and self._last_in_logon
                and self.registry.kind_of(self.key) == "client"
                and not self.registry.is_logged_on(self.key)
            ):
                self._refused_by_quickfix(text)
            elif self.key is None and text.startswith(_REFUSED_CONNECTIONS):
                # A Logon for a CompID no session is configured for, or for a session already
                # connected: closed without a word (patches/); the journal and the reject
                # counter keep it.
                REJECTS.labels("logon").inc()
                log.warning("logon_unknown_session", message=wire.escape(text))
            self._last_event = text
        except Exception:
            log.exception("journal_log_failed")

    def _refused_by_quickfix(self, text: str) -> None:
        """A client's Logon (the last message it sent) that QuickFIX refused before the
        application saw it (a tag repeated, a field of the wrong format, a data field whose
        length does not fit): journaled as `logon.refused` with the reason its Logout gave,
        like the application's refusals."""
        assert self.key is not None
        rejected = _REJECTED.fullmatch(text)
        if rejected is not None:
            reason = f"Logon refused: {rejected['reason']}"
            if rejected["tag"]:
                reason += f" (tag {rejected['tag']})"
        elif text == _GARBLED_LOGON:
            reason = f"Logon refused: {self._last_event.removeprefix(_INVALID)}"
        else:
            return
        REJECTS.labels("logon").inc()
        self.writer.record("logon.refused", reason, self.key)
        log.warning("logon_refused", session=self.key, reason=reason)


class JournalLogFactory(fix.LogFactory):  # type: ignore[misc]
    """Creates a JournalLog per session; keeps them alive as long as QuickFIX uses them."""

    def __init__(
        self,
        writer: JournalWriter,
        registry: SessionRegistry,
        secrets: re.Pattern[str] = _SECRETS,
    ) -> None:
        super().__init__()
        self.writer = writer
        self.registry = registry
        self.secrets = secrets
        self._logs: list[JournalLog] = []

    def create(self, *args: object) -> object:
        key = args[0].toString() if args else None  # type: ignore[attr-defined]
        journal_log = JournalLog(key, self.writer, self.registry, self.secrets)
        # C++ takes the pointer; handing it over with __disown__ avoids SWIG's ownership
        # lock (which deadlocks when the acceptor is built) while the list keeps the
        # Python object alive for QuickFIX's lifetime.
        self._logs.append(journal_log)
        return journal_log.__disown__()

    def destroy(self, journal_log: object) -> None:
        pass
