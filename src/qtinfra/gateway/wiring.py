"""The gateway process: wires storage, the sequencer, the FIX sessions and operations.

`start` migrates the database, rebuilds open orders and builds the QuickFIX acceptor and
initiator; `run` is the one business thread, polling both and committing and releasing
after each round (see oms/sequencer.py). Shutdown logs out clients first, then venues,
and commits everything before the process ends.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import quickfix as fix
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from qtinfra.config import ClientConfig, QtinfraConfig, load_config
from qtinfra.domain.commands import RejectInput, VenueExecution
from qtinfra.domain.events import ChildOrderSent, LimitsChanged
from qtinfra.domain.values import ExecType, OrdStatus, TimeInForce, utc_now
from qtinfra.fix import engine
from qtinfra.fix.client_app import ClientApplication
from qtinfra.fix.dispatch import Dispatcher
from qtinfra.fix.journal_log import JournalLogFactory, secret_pattern
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.fix.venue_initiator import VenueApplication
from qtinfra.gateway import recovery
from qtinfra.oms.manager import OrderManager
from qtinfra.oms.sequencer import Sequencer
from qtinfra.ops import clock
from qtinfra.ops.http import OpsServer
from qtinfra.ops.metrics import JOURNAL_BATCH, JOURNAL_COMMITS, RISK_REJECTS, RISK_SECONDS
from qtinfra.reports.daily import day_dir, missed_days, run_daily
from qtinfra.risk.calendar import TradingCalendar
from qtinfra.risk.engine import Check, RiskEngine, Scope, TradingState
from qtinfra.risk.exposure import Exposure
from qtinfra.risk.limits import risk_changes
from qtinfra.store.audit import load_or_create_signing_key
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter
from qtinfra.store.privacy import reveal_config, seal_into_var
from qtinfra.store.repository import (
    OrderHistory,
    first_journal_day,
    load_events,
    load_fills,
    load_state,
)

T = TypeVar("T")
VIEW_TIMEOUT = 2.0
"""How long a view asked for by another thread (HTTP) waits for the business thread."""
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPERATOR_TIMEOUT = 5.0

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
        self.risk_timings: deque[int] = deque(maxlen=200_000)
        """Nanoseconds of the last check-chain evaluations (the bench reads percentiles)."""
        self._clock_seen: tuple[str, str, bool] | None = None
        """(source, state, within) of the last clock reading: a reading within the limit is
        logged only when this changes."""

    def start(self) -> None:
        config = self.config
        var = config.var_dir
        (var / "run").mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(config.database_url)
        migrate(self.engine)
        instruments = config.instrument_map()
        # Ids stay unique across restarts: the prefix is the start time in base 36.
        prefix = _base36(int(time.time() * 10))
        self.calendars = config.calendar_map()
        self.risk = RiskEngine(
            config.risk,
            config.account_map(),
            self.calendars,
            {v.name: v.mic for v in config.venues},
            self._exposure(instruments),
            session_accounts=self._default_accounts(),
            entitlements=self._entitlements(),
            firm_people=frozenset(config.person_map()),
        )
        for change in load_events(self.engine, "TradingStateChanged"):
            self.risk.set_state(
                Scope(change["scope"]),
                change["target"],
                TradingState(change["state"]),
                change["reason"],
            )
        self.manager = OrderManager(
            instruments=instruments.values(),
            venue_fees={v.name: v.fee_bps for v in config.venues},
            venue_mics={v.name: v.mic for v in config.venues},
            clock=utc_now,
            id_prefix=prefix,
            default_accounts=self._default_accounts(),
            risk=self.risk,
            on_risk=self._on_risk,
            history=OrderHistory(self.engine, instruments),
            recent_done=config.gateway.recent_done_orders,
        )
        # Open orders and those done today (the newest recent_done_orders of them).
        today = datetime.combine(utc_now().date(), dtime(0), tzinfo=UTC)
        state = load_state(self.engine, instruments, today, config.gateway.recent_done_orders)
        self.manager.restore(state.orders, state.children, state.cl_ord_ids)
        log.info(
            "state_restored",
            open_orders=len(self.manager.orders),
            open_children=len(self.manager.children),
            cl_ord_ids=len(state.cl_ord_ids),
        )
        try:
            sealed = seal_into_var(config)
        except OSError as exc:
            log.warning("personal_data_not_sealed", error=str(exc))
        else:
            if sealed:
                # The operator's files are never rewritten; `qtinfra clients seal` seals them.
                log.warning(
                    "personal_data_plain_in_config",
                    values=sealed,
                    sealed_copies=str(config.var_dir / "sealed"),
                    key=str(config.data_key_path),
                )
        audit = config.audit
        self.signing_key = load_or_create_signing_key(
            config.signing_key_path, config.public_key_path
        )
        self.writer = JournalWriter(
            self.engine,
            utc_now,
            self._on_storage_failure,
            signing_key=self.signing_key,
            checkpoint_rows=audit.checkpoint_rows,
            on_commit=_count_commit,
        )
        self.writer.open()
        venue_keys = {v.name: f"FIX.4.4:{config.gateway.comp_id}->{v.name}" for v in config.venues}
        self.log_factory = JournalLogFactory(
            self.writer, self.registry, secret_pattern(config.gateway.secret_tags)
        )
        client_settings = engine.load(
            engine.client_settings(config, self.sessions_file), var / "run" / "gateway-clients.cfg"
        )
        venue_settings = engine.load(
            engine.venue_initiator_settings(config), var / "run" / "gateway-venues.cfg"
        )
        self.dispatcher = Dispatcher(
            self.registry,
            venue_keys,
            on_failed=lambda session, text: self.writer.record("dispatch.failed", text, session),
            millis=engine.millisecond_sessions(client_settings)
            | engine.millisecond_sessions(venue_settings),
            on_child_failed=self._child_not_sent,
            fault=recovery.dispatch_fault_from_env(),
        )
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
        self._acceptor = fix.SocketAcceptor(
            self.client_app,
            engine.store_factory(config, client_settings),
            client_settings,
            self.log_factory,
        )
        # The sessions exist (with their stores loaded) but none is connected yet.
        recovery.rewind_inbound(self.engine, self.registry, self.writer)
        recovery.release_stranded(
            self.engine,
            self.registry,
            self.writer,
            self.dispatcher,
            {
                **recovery.settings_by_session(venue_settings),
                **recovery.settings_by_session(client_settings),
            },
            config.gateway.message_store == "postgresql",
        )
        self.writer.fault = recovery.fault_from_env()
        self.record_clock()
        if config.clock.hft:
            coarse = sorted(engine.millisecond_sessions(client_settings))
            if coarse:
                # RTS 25 Annex Table 2: HFT timestamps need a granularity of 1 µs or better.
                log.warning("clock_hft_millisecond_sessions", sessions=coarse)
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.scheduler.add_job(
            self.record_clock,
            IntervalTrigger(seconds=config.clock.interval_seconds),
            id="clock-status",
        )
        for calendar, traded in self._calendar_symbols().items():
            days = ",".join(_CRON_DAYS[d] for d in sorted(calendar.trading_days))
            close = calendar.close
            self.scheduler.add_job(
                partial(self.end_trading_day, calendar, traded),
                CronTrigger(
                    day_of_week=days,
                    hour=close.hour,
                    minute=close.minute,
                    second=close.second,
                    timezone=ZoneInfo(calendar.timezone),
                ),
                id=f"close-{calendar.name}",
            )
        self.scheduler.add_job(
            self.writer.request_checkpoint,
            IntervalTrigger(minutes=audit.checkpoint_minutes),
            id="journal-checkpoint",
        )
        run_at = config.reports.daily_utc
        self.scheduler.add_job(
            self.daily_reports,
            CronTrigger(hour=run_at.hour, minute=run_at.minute, second=run_at.second, timezone=UTC),
            id="daily-reports",
        )
        for day in missed_days(config, utc_now(), first_journal_day(self.engine)):
            # Missed while the gateway was down: run now, in the scheduler's thread.
            self.scheduler.add_job(partial(self.daily_reports, day), id=f"catch-up-{day}")
        self.scheduler.start()
        self._expire_missed_closes()
        self.ops_token = self._write_ops_token(var / "run" / "ops.token")
        self.ops = OpsServer(
            config.gateway.http_host,
            config.gateway.http_port,
            lambda: self.read_on_loop(self.registry.snapshot),
            self.health,
            control=self,
            token=self.ops_token,
        )
        self.ops.start()
        log.info("gateway_started", http_port=self.ops.port)

    def _session_clients(self) -> dict[str, ClientConfig | None]:
        """Each client session's record in config/clients.toml (None: it has none), keyed
        by session id (FIX.4.4:QTGW->CLIENT1)."""
        clients = {c.comp_id: c for c in self.config.clients}
        settings = engine.client_settings(self.config, self.sessions_file)
        out = {}
        for block in settings.sessions:
            s = settings.effective(block)
            key = f"{s['BeginString']}:{s['SenderCompID']}->{s['TargetCompID']}"
            out[key] = clients.get(s.get("TargetCompID", ""))
        return out

    def _entitlements(self) -> dict[str, frozenset[str]]:
        """The Accounts each client session may trade for."""
        return {k: c.entitled if c else frozenset() for k, c in self._session_clients().items()}

    def _default_accounts(self) -> dict[str, str]:
        """Account (1) for each client session whose client record names one."""
        return {k: c.account for k, c in self._session_clients().items() if c and c.account}

    def _exposure(self, instruments: dict[str, Any]) -> Exposure:
        """Risk usage at start: start-of-day positions moved by every fill since the
        positions file's date; today's executed notional from today's fills."""
        config = self.config
        today = utc_now().date()
        exposure = Exposure(
            today, {(p.account, p.symbol): p.quantity for p in config.positions.position}
        )
        as_of = config.positions.as_of or today
        for f in load_fills(self.engine, datetime.combine(as_of, dtime(0), tzinfo=UTC)):
            inst = instruments.get(f.symbol)
            if inst is None:
                continue
            notional = f.quantity * f.price * config.risk.fx.get(inst.currency, 0)
            exposure.fill(f.account, f.symbol, f.buy, f.quantity, notional, f.transact_time.date())
        return exposure

    def daily_reports(self, day: date | None = None) -> None:
        """The day's RTS 22 and RTS 24 reports and their signed manifest (scheduler
        thread). By default the UTC day that is ending, and the day before again: fills
        booked after yesterday's run (a calendar trading past daily_utc) are then reported
        (RTS 22 adds only what is new; RTS 24 and the manifest are rewritten)."""
        today = utc_now().date()
        days = [day] if day is not None else [today - timedelta(days=1), today]
        for d in days:
            if day is None and d < today and not day_dir(self.config, d).exists():
                continue  # never reported (before the first day): nothing to add to
            try:
                run_daily(self.config, d, self.signing_key)
            except Exception:
                log.exception("daily_reports_failed", day=str(d))

    def record_clock(self) -> None:
        """The clock record (MiFID II RTS 25): the clock's synchronisation as the OS reports
        it (ops/clock.py), journaled as a clock.status row, exported to /metrics, and a
        warning when the reading does not show the clock within [clock]'s maximum
        divergence. At start and every [clock] interval_seconds, in the scheduler's thread
        (the writer takes records from any thread; the next commit writes it)."""
        settings = self.config.clock
        status = clock.read_clock(settings.command_timeout_seconds)
        limit = settings.limit_us
        clock.export(status, limit, settings.hft, time.time())
        self.writer.record(clock.JOURNAL_KIND, clock.journal_payload(status, limit, settings.hft))
        facts = {
            "source": status.source,
            "state": status.state.value,
            "offset_us": None if status.offset_us is None else str(status.offset_us),
            "max_error_us": None if status.max_error_us is None else str(status.max_error_us),
            "max_divergence_us": limit,
        }
        problems = clock.divergence_problems(status, limit)
        seen = (status.source, status.state.value, not problems)
        if problems:
            log.warning("clock_divergence", problems=problems, detail=status.detail, **facts)
        elif self._clock_seen != seen:
            log.info("clock_status", detail=status.detail, **facts)
        self._clock_seen = seen

    def _calendar_symbols(self) -> dict[TradingCalendar, frozenset[str]]:
        out: dict[TradingCalendar, set[str]] = {}
        for symbol, calendar in self.calendars.items():
            out.setdefault(calendar, set()).add(symbol)
        return {c: frozenset(s) for c, s in out.items()}

    def end_trading_day(self, calendar: TradingCalendar, symbols: frozenset[str]) -> None:
        """The calendar's close: expire its instruments' working DAY orders (queued onto
        the business thread). A holiday has no close."""
        now = utc_now()
        if not calendar.is_trading_day(now.astimezone(calendar.zone).date()):
            return

        def expire(manager: OrderManager) -> None:
            count = manager.expire_day_orders(symbols)
            log.info("trading_day_end", calendar=calendar.name, day_orders_expiring=count)

        self.sequencer.call_soon(expire)

    def _expire_missed_closes(self) -> None:
        """DAY orders still working from before a close the gateway was down for expire
        now (queued; they go out once the venues have confirmed the cancels)."""
        now = utc_now()
        for calendar, symbols in self._calendar_symbols().items():
            missed = [
                o.order_id
                for o in self.manager.orders.values()
                if o.instrument.symbol in symbols
                and o.time_in_force is TimeInForce.DAY
                and calendar.next_close(o.created_at) <= now
            ]
            if missed:
                self.sequencer.call_soon(partial(_expire_missed, calendar, symbols, missed))

    # -- risk: metrics and operator actions -----------------------------------------------

    def _on_risk(self, check: Check | None, elapsed_ns: int | None) -> None:
        if elapsed_ns is not None:
            self.risk_timings.append(elapsed_ns)
            RISK_SECONDS.observe(elapsed_ns / 1e9)
        if check is not None:
            RISK_REJECTS.labels(check.value).inc()

    @staticmethod
    def _write_ops_token(path: Path) -> str:
        """The operator token the HTTP control endpoints require (readable only by the
        user running the gateway; the CLI reads it from var/run/ops.token)."""
        if path.exists():
            token = path.read_text().strip()
            if token:
                return token
        token = secrets.token_hex(32)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(token + "\n")
        return token

    def on_loop(self, fn: Callable[[OrderManager], T], timeout: float = OPERATOR_TIMEOUT) -> T:
        """Any thread: run fn on the business thread and return its result once what it
        decided is committed to the journal. Raises TimeoutError when the business thread
        did not get to it in time; fn is then withdrawn and never runs, so nothing changed
        (unless fn ran and only its commit is late: the error then says so)."""
        done = threading.Event()
        box: dict[str, Any] = {}
        lock = threading.Lock()

        def call(manager: OrderManager) -> None:
            with lock:
                if box.get("withdrawn"):
                    return
                box["started"] = True
            try:
                box["result"] = fn(manager)
            except Exception as exc:
                box["error"] = exc
                done.set()
                return
            manager.outbox.after_commit.append(done.set)

        self.sequencer.call_soon(call)
        if not done.wait(timeout):
            with lock:
                box["withdrawn"] = not box.get("started")
            if box["withdrawn"]:
                raise TimeoutError(
                    f"the gateway did not take the change within {timeout:.0f} s; nothing changed"
                )
            raise TimeoutError(
                f"the change was applied but not yet committed after {timeout:.0f} s "
                "(is the database slow?); check /health and the journal"
            )
        if "error" in box:
            raise box["error"]
        result: T = box["result"]
        return result

    def read_on_loop(self, fn: Callable[[], T], timeout: float = VIEW_TIMEOUT) -> T:
        """Any thread: a view of live state (sessions, trading states, usage), produced on
        the business thread between poll rounds, so no other thread ever iterates live
        state. Raises TimeoutError when the business thread did not get to it in time."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def call(manager: OrderManager) -> None:
            try:
                box["result"] = fn()
            except Exception as exc:
                box["error"] = exc
            finally:
                done.set()

        self.sequencer.call_soon(call)
        if not done.wait(timeout):
            raise TimeoutError(f"the gateway's business thread did not answer within {timeout} s")
        if "error" in box:
            raise box["error"]
        result: T = box["result"]
        return result

    def client_session_key(self, target: str) -> str:
        """A client session by its key (FIX.4.4:QTGW->CLIENT1) or its client's CompID."""
        keys = [k for k in self.registry.keys("client") if k == target]
        keys = keys or [k for k in self.registry.keys("client") if k.endswith(f"->{target}")]
        if len(keys) != 1:
            raise ValueError(f"no client session {target!r}")
        return keys[0]

    def set_trading_state(
        self, scope: Scope, target: str, state: TradingState, reason: str, actor: str
    ) -> dict[str, Any]:
        """The kill switch, from an operator (HTTP control endpoint)."""
        if not reason.strip():
            raise ValueError("a reason is required")
        if scope is Scope.SESSION:
            target = self.client_session_key(target)
        elif scope is Scope.CLIENT and target not in self.risk.accounts:
            raise ValueError(f"no client account {target!r}")
        elif scope is Scope.FIRM:
            target = ""
        canceled = self.on_loop(lambda m: m.set_trading_state(scope, target, state, reason, actor))
        log.warning(
            "trading_state_changed",
            scope=scope.value,
            target=target,
            state=state.value,
            reason=reason,
            actor=actor,
            orders_canceled=canceled,
        )
        return {
            "scope": scope.value,
            "target": target,
            "state": state.value,
            "orders_canceled": canceled,
        }

    def reload_limits(self, reason: str, actor: str) -> dict[str, Any]:
        """Re-read config/risk.toml and config/accounts.toml, validate them against the
        rest of the configuration, and apply them. A bad file raises ConfigError and
        changes nothing."""
        fresh = load_config(self.config.config_dir, self.config.root)
        changes = risk_changes(self.config.risk, fresh.risk)
        # Compared in the clear: sealing a value at rest is not a change of the record.
        old_accounts = reveal_config(self.config).account_map()
        new_accounts = reveal_config(fresh).account_map()
        changes += [
            f"account {a}: changed"
            for a in sorted(old_accounts.keys() | new_accounts.keys())
            if old_accounts.get(a) != new_accounts.get(a)
        ]
        files = [self.config.config_dir / n for n in ("risk.toml", "accounts.toml")]
        sha = hashlib.sha256()
        for path in files:
            sha.update(path.read_bytes() if path.exists() else b"")
        digest = sha.hexdigest()
        source = ", ".join(str(p) for p in files)

        def apply(manager: OrderManager) -> None:
            self.risk.configure(fresh.risk, fresh.account_map())
            # What the next reload compares with (also when this commit turns out late).
            self.config = self.config.model_copy(
                update={"risk": fresh.risk, "accounts": fresh.accounts}
            )
            manager.outbox.events.append(
                LimitsChanged(
                    actor=actor,
                    reason=reason,
                    source=source,
                    digest=digest,
                    changes="\n".join(changes),
                    transact_time=utc_now(),
                )
            )

        self.on_loop(apply)
        log.warning("limits_reloaded", actor=actor, reason=reason, changes=changes)
        return {"changes": changes, "digest": digest}

    def risk_status(self) -> dict[str, Any]:
        """Trading states, each client's usage and the check chain's timings (made on the
        business thread)."""
        return self.read_on_loop(self._risk_view)

    def _risk_view(self) -> dict[str, Any]:
        risk = self.risk
        timings = sorted(self.risk_timings)

        def pct(q: float) -> float | None:
            if not timings:
                return None
            return timings[min(len(timings) - 1, int(q * len(timings)))] / 1000

        return {
            "states": [
                {
                    "scope": s.value,
                    "target": t,
                    "state": st.value,
                    "reason": risk.state_reasons.get((s, t), ""),
                }
                for (s, t), st in sorted(risk.states.items())
            ],
            "usage": [risk.exposure.snapshot(a) for a in sorted(risk.accounts)],
            "firm_credit_used": str(risk.exposure.firm_credit_used),
            "check_chain_us": {"count": len(timings), "p50": pct(0.5), "p99": pct(0.99)},
        }

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

    def _child_not_sent(self, child: ChildOrderSent, why: str) -> None:
        """A child order that could not be sent never reached its venue: on the next round
        the order core takes it as refused there, so the order is routed elsewhere or the
        client is answered (never left waiting for a venue that knows nothing of it)."""
        refused = VenueExecution(
            venue=child.venue,
            mic="",
            child_id=child.child_id,
            orig_child_id=None,
            venue_order_id=None,
            exec_id=f"{child.child_id}.not-sent",
            exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED,
            last_qty=Decimal(0),
            last_px=Decimal(0),
            cum_qty=Decimal(0),
            leaves_qty=Decimal(0),
            commission=None,
            text=f"not sent to {child.venue}: {why}",
            transact_time=None,
        )
        self.sequencer.call_soon(lambda _manager: self.sequencer.handle(refused))

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


def _count_commit(rows: int) -> None:
    JOURNAL_COMMITS.inc()
    JOURNAL_BATCH.observe(rows)


def _expire_missed(
    calendar: TradingCalendar, symbols: frozenset[str], order_ids: list[str], manager: OrderManager
) -> None:
    count = manager.expire_day_orders(symbols, order_ids)
    log.info("missed_close_expiry", calendar=calendar.name, day_orders_expiring=count)
