"""The gateway process: wires storage, the sequencer, the FIX sessions and operations.

`start` migrates the database, rebuilds open orders and builds the QuickFIX acceptor and
initiator; `run` is the one business thread, polling both and committing and releasing
after each round (see oms/sequencer.py). Shutdown logs out clients first, then venues,
and commits everything before the process ends.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import quickfix as fix
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from qtinfra.config import QtinfraConfig
from qtinfra.domain.commands import RejectInput
from qtinfra.domain.values import utc_now
from qtinfra.fix import engine
from qtinfra.fix.client_app import ClientApplication
from qtinfra.fix.dispatch import Dispatcher
from qtinfra.fix.journal_log import JournalLogFactory
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.fix.venue_initiator import VenueApplication
from qtinfra.oms.manager import OrderManager
from qtinfra.oms.sequencer import Sequencer
from qtinfra.ops.http import OpsServer
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter
from qtinfra.store.repository import load_state

log = structlog.get_logger(__name__)


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


class Gateway:
    """One gateway instance; see the module docstring."""

    def __init__(self, config: QtinfraConfig, sessions_file: Path | None = None) -> None:
        self.config = config
        self.sessions_file = sessions_file
        self.registry = SessionRegistry()
        self.stopped = threading.Event()
        """Set once the loop has shut down."""
        self.storage_failure: BaseException | None = None
        self._acceptor: Any = None
        self._initiator: Any = None
        self.ops: OpsServer | None = None

    def start(self) -> None:
        config = self.config
        var = config.var_dir
        (var / "run").mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(config.database_url)
        migrate(self.engine)
        instruments = config.instrument_map()
        # Ids stay unique across restarts: the prefix is the start time in base 36.
        prefix = _base36(int(time.time() * 10))
        self.manager = OrderManager(
            instruments=instruments.values(),
            venue_fees={v.name: v.fee_bps for v in config.venues},
            venue_mics={v.name: v.mic for v in config.venues},
            clock=utc_now,
            id_prefix=prefix,
            default_accounts=self._default_accounts(),
        )
        state = load_state(self.engine, instruments)
        self.manager.restore(state.orders, state.children, state.cl_ord_ids)
        log.info(
            "state_restored",
            open_orders=len(self.manager.orders),
            open_children=len(self.manager.children),
            cl_ord_ids=len(state.cl_ord_ids),
        )
        self.writer = JournalWriter(self.engine, utc_now, self._on_storage_failure)
        venue_keys = {v.name: f"FIX.4.4:{config.gateway.comp_id}->{v.name}" for v in config.venues}
        self.log_factory = JournalLogFactory(self.writer, self.registry)
        self.dispatcher = Dispatcher(self.registry, venue_keys)
        self.sequencer = Sequencer(
            self.manager, self.writer, self.dispatcher.dispatch, utc_now, self._on_command_error
        )

        symbols: dict[str, list[str]] = {v.name: [] for v in config.venues}
        for inst in config.instruments:
            for venue in inst.venues:
                symbols[venue].append(inst.symbol)
        self.venue_app = VenueApplication(
            {v.name: v for v in config.venues},
            symbols,
            self.sequencer.handle,
            self.writer,
            self.registry,
        )
        venue_settings = engine.load(
            engine.venue_initiator_settings(config), var / "run" / "gateway-venues.cfg"
        )
        if config.venues:
            self._initiator = fix.SocketInitiator(
                self.venue_app,
                engine.store_factory(config, venue_settings),
                venue_settings,
                self.log_factory,
            )

        self.client_app = ClientApplication(
            {c.comp_id: c for c in config.clients},
            self.sequencer.handle,
            self.writer,
            self.registry,
        )
        client_settings = engine.load(
            engine.client_settings(config, self.sessions_file), var / "run" / "gateway-clients.cfg"
        )
        self._acceptor = fix.SocketAcceptor(
            self.client_app,
            engine.store_factory(config, client_settings),
            client_settings,
            self.log_factory,
        )
        self.scheduler = BackgroundScheduler(timezone=UTC)
        end = config.gateway.day_end_utc
        self.scheduler.add_job(
            self.end_trading_day,
            CronTrigger(hour=end.hour, minute=end.minute, second=end.second, timezone=UTC),
            id="day-end",
        )
        self.scheduler.start()
        self.ops = OpsServer(
            config.gateway.http_host, config.gateway.http_port, self.registry.snapshot, self.health
        )
        self.ops.start()
        log.info("gateway_started", http_port=self.ops.port)

    def _default_accounts(self) -> dict[str, str]:
        """Account (1) for each client session whose client record in config/clients.toml
        names one, keyed by session id (FIX.4.4:QTGW->CLIENT1)."""
        accounts = {c.comp_id: c.account for c in self.config.clients if c.account}
        settings = engine.client_settings(self.config, self.sessions_file)
        out = {}
        for block in settings.sessions:
            s = settings.effective(block)
            account = accounts.get(s.get("TargetCompID", ""))
            if account:
                out[f"{s['BeginString']}:{s['SenderCompID']}->{s['TargetCompID']}"] = account
        return out

    def end_trading_day(self) -> None:
        """Expire every working DAY order (runs on the sequencer thread)."""

        def expire(manager: OrderManager) -> None:
            count = manager.expire_day_orders()
            log.info("trading_day_end", day_orders_expiring=count)

        self.sequencer.call_soon(expire)

    def health(self) -> dict[str, Any]:
        failed = self.storage_failure
        return {
            "status": "ok" if failed is None else "failed",
            "storage_error": str(failed) if failed else None,
            "open_orders": len(self.manager.orders),
            "commands_processed": self.sequencer.processed,
            "journal_commits": self.writer.commits,
        }

    # -- the event loop -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """The gateway's one business thread: poll the client acceptor and the venue
        initiator (their callbacks apply commands through the sequencer), run queued
        operator actions, then group-commit and release what the round produced. Returns
        after a clean shutdown once `stop` is set or storage failed."""
        acceptor, initiator = self._acceptor, self._initiator
        sequencer = self.sequencer
        idle = 0.0
        # (Polling again before each commit to make commits bigger was measured: it costs
        # more in empty polls than it saves in commits.)
        while not stop.is_set() and self.storage_failure is None:
            acceptor.poll()
            if initiator is not None:
                initiator.poll()
            sequencer.run_calls()
            if sequencer.flush():
                idle = 0.0
            else:
                # Nothing happened: back off to at most 1 ms so an idle gateway costs
                # little CPU and a new message waits at most that long.
                idle = min(idle + 0.0002, 0.001)
                time.sleep(idle)
        self._shutdown()

    def _shutdown(self) -> None:
        """Log out every session (clients first), keep polling until the Logouts are
        exchanged or 5 s pass, then commit what is left."""
        log.info("gateway_stopping")
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.shutdown(wait=False)
        sessions = [fix.Session.lookupSession(sid) for sid in self.registry.session_ids()]
        for session in sessions:
            if session is not None and session.isLoggedOn():
                session.logout("gateway shutting down")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            s is not None and s.isLoggedOn() for s in sessions
        ):
            self._acceptor.poll()
            if self._initiator is not None:
                self._initiator.poll()
            self.sequencer.flush()
            time.sleep(0.001)
        self._acceptor.stop(True)
        if self._initiator is not None:
            self._initiator.stop(True)
        self.sequencer.flush()
        self.writer.close()
        if self.ops is not None:
            self.ops.stop()
        self.engine.dispose()
        self.stopped.set()
        log.info("gateway_stopped", storage_failed=self.storage_failure is not None)

    def _on_storage_failure(self, exc: BaseException) -> None:
        # Nothing can be released without the journal: the loop stops taking orders and
        # the process exits non-zero, so a supervisor restarts it from the journal.
        self.storage_failure = exc
        log.critical("storage_failed_gateway_halting", error=str(exc))

    def _on_command_error(self, command: object, exc: BaseException) -> None:
        session = getattr(command, "session", None)
        if session is None or isinstance(command, RejectInput):
            return
        self.sequencer.handle(
            RejectInput(
                session=session,
                kind="business",
                text=f"internal error processing the message: {exc}",
                cl_ord_id=getattr(command, "cl_ord_id", None),
                reason="0",
            )
        )
