"""The gateway process: wires storage, the sequencer, the FIX sessions and operations.

Start order: database (migrate, rebuild open orders) -> journal writer -> sequencer ->
venue initiators -> client acceptor -> ops endpoint. Stop is the reverse, so clients are
logged out first and everything they were told is committed before the process ends.
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
        )
        state = load_state(self.engine, instruments)
        self.manager.restore(state.orders, state.children, state.cl_ord_ids)
        log.info(
            "state_restored",
            open_orders=len(self.manager.orders),
            open_children=len(self.manager.children),
            cl_ord_ids=len(state.cl_ord_ids),
        )
        self.writer = JournalWriter(
            self.engine,
            utc_now,
            self._on_storage_failure,
            max_rows=config.gateway.journal_batch_max,
        )
        self.writer.start()
        venue_keys = {v.name: f"FIX.4.4:{config.gateway.comp_id}->{v.name}" for v in config.venues}
        self.log_factory = JournalLogFactory(self.writer, self.registry)
        self.dispatcher = Dispatcher(self.registry, venue_keys)
        self.sequencer = Sequencer(
            self.manager,
            self.writer,
            self.dispatcher.dispatch,
            utc_now,
            self._on_command_error,
            batch_max=config.gateway.journal_batch_max,
        )
        self.sequencer.start()

        symbols: dict[str, list[str]] = {v.name: [] for v in config.venues}
        for inst in config.instruments:
            for venue in inst.venues:
                symbols[venue].append(inst.symbol)
        self.venue_app = VenueApplication(
            {v.name: v for v in config.venues},
            symbols,
            self.sequencer.submit,
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
            self._initiator.start()

        self.client_app = ClientApplication(
            {c.comp_id: c for c in config.clients},
            self.sequencer.submit,
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
        self._acceptor.start()
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

    def end_trading_day(self) -> None:
        """Expire every working DAY order (runs on the sequencer thread)."""

        def expire(manager: OrderManager) -> None:
            count = manager.expire_day_orders()
            log.info("trading_day_end", day_orders_expiring=count)

        self.sequencer.call(expire)

    def health(self) -> dict[str, Any]:
        failed = self.storage_failure
        return {
            "status": "ok" if failed is None else "failed",
            "storage_error": str(failed) if failed else None,
            "open_orders": len(self.manager.orders),
            "commands_processed": self.sequencer.processed,
            "journal_commits": self.writer.commits,
        }

    def wait_for_venues(self, timeout: float = 20.0) -> bool:
        """Block until every venue session is logged on and has sent market data."""
        deadline = time.monotonic() + timeout
        names = {v.name for v in self.config.venues}
        while time.monotonic() < deadline:
            if names <= self.manager.venues_up and names <= set(self.manager.quotes):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Log out every session, then drain the sequencer and the journal."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        log.info("gateway_stopping")
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.shutdown(wait=False)
        if self._acceptor is not None:
            self._acceptor.stop()
        if self._initiator is not None:
            self._initiator.stop()
        self.sequencer.stop()
        self.writer.stop()
        if self.ops is not None:
            self.ops.stop()
        self.engine.dispose()
        log.info("gateway_stopped")

    def _on_storage_failure(self, exc: BaseException) -> None:
        # Nothing can be released without the journal: stop accepting orders.
        self.storage_failure = exc
        log.critical("storage_failed_gateway_halting", error=str(exc))
        threading.Thread(target=self.stop, name="halt", daemon=True).start()

    def _on_command_error(self, command: object, exc: BaseException) -> None:
        session = getattr(command, "session", None)
        if session is None or isinstance(command, RejectInput):
            return
        self.sequencer.submit(
            RejectInput(
                session=session,
                kind="business",
                text=f"internal error processing the message: {exc}",
                cl_ord_id=getattr(command, "cl_ord_id", None),
                reason="0",
            )
        )
