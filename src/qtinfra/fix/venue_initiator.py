"""The gateway's QuickFIX application for its initiator sessions to the venues.

On logon it subscribes to the venue's market data (the router's view of its book) and tells
the order manager, which reconciles the children open there. Venue ExecutionReports,
OrderCancelRejects, market data and the answers to trade capture queries
(reconciliation) are decoded and handed to the sequencer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import quickfix as fix
import structlog

from qtinfra.config import VenueConfig
from qtinfra.domain.commands import Command, VenueSessionStatus
from qtinfra.fix import venue_codec
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.store.journal import JournalWriter

log = structlog.get_logger(__name__)


class VenueApplication(fix.Application):  # type: ignore[misc]
    """QuickFIX application for venue sessions; see the module docstring."""

    def __init__(
        self,
        venues: Mapping[str, VenueConfig],
        symbols: Mapping[str, list[str]],
        submit: Callable[[Command], None],
        writer: JournalWriter,
        registry: SessionRegistry,
    ) -> None:
        super().__init__()
        self.venues = dict(venues)
        self.symbols = dict(symbols)
        self.submit = submit
        self.writer = writer
        self.registry = registry

    def onCreate(self, session_id: fix.SessionID) -> None:
        self.registry.add(session_id, "venue")

    def onLogon(self, session_id: fix.SessionID) -> None:
        try:
            key, _ = self.registry.logged_on(session_id, True)
            venue = session_id.getTargetCompID().getValue()
            self.writer.record("session.logon", key, key)
            log.info("venue_logon", venue=venue)
            self.submit(VenueSessionStatus(venue, True))
            symbols = self.symbols.get(venue, [])
            if symbols:
                request = venue_codec.encode_market_data_request(f"MD-{venue}", symbols)
                fix.Session.sendToTarget(request, session_id)
        except Exception:
            log.exception("venue_on_logon_failed")

    def onLogout(self, session_id: fix.SessionID) -> None:
        try:
            key, changed = self.registry.logged_on(session_id, False)
            if not changed:
                return
            venue = session_id.getTargetCompID().getValue()
            self.writer.record("session.logout", key, key)
            log.warning("venue_logout", venue=venue)
            self.submit(VenueSessionStatus(venue, False))
        except Exception:
            log.exception("venue_on_logout_failed")

    # Raw messages in and out are journaled by JournalLog (fix/journal_log.py), at the wire.

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        key = session_id.toString()
        try:
            msg_type = message.getHeader().getField(35)
            venue = session_id.getTargetCompID().getValue()
            if msg_type == "W":
                self.submit(venue_codec.decode_market_data(message, venue))
            elif msg_type == "8":
                mic = self.venues[venue].mic
                self.submit(venue_codec.decode_venue_execution(message, venue, mic))
            elif msg_type == "9":
                self.submit(venue_codec.decode_venue_cancel_reject(message, venue))
            elif msg_type == "AE":
                mic = self.venues[venue].mic
                self.submit(venue_codec.decode_venue_trade(message, venue, mic))
            elif msg_type == "AQ":
                self.submit(venue_codec.decode_trade_query_ack(message, venue))
            elif msg_type == "j" and venue_codec.refuses_trade_query(message):
                self.submit(venue_codec.decode_trade_query_refusal(message, venue))
            else:
                log.warning(
                    "venue_message_ignored",
                    venue=venue,
                    msg_type=msg_type,
                    text=message.getField(58) if message.isSetField(58) else None,
                )
        except Exception:
            log.exception("venue_from_app_failed", session=key, raw=message.toString())
