"""The benchmark's load driver: one QuickFIX initiator session that keeps a fixed number of
orders outstanding and measures each order's ack latency.

An order is "acked" by the first ExecutionReport carrying its ClOrdID (send -> first report,
time.perf_counter_ns); the next order goes out as soon as one is acked, so `in_flight`
orders are outstanding at any time. Against the gateway the run lasts until every order is
done (OrdStatus 2 Filled, 4 Canceled or 8 Rejected), which proves the fills came back.

The callbacks are lean on purpose (no raw message copies, no queues): the driver shares
the machine with what it measures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import quickfix as fix

from qtinfra.domain.values import Instrument
from qtinfra.fix.wire import fmt_decimal, fmt_time
from qtinfra.tools.buyside import ClientSessionConfig

DONE_STATUSES = frozenset({"2", "4", "8"})


@dataclass(frozen=True, slots=True)
class OrderTemplate:
    """What one order looks like; the driver cycles through a list of them."""

    symbol: str
    side: str  # "1" buy, "2" sell
    quantity: str
    price: str
    time_in_force: str = "3"  # IOC


def marketable_orders(
    instruments: Iterable[Instrument],
    quantity: int = 10,
    away_bps: int = 50,
    time_in_force: str = "3",
) -> list[OrderTemplate]:
    """Buy and sell limit orders priced away_bps through each instrument's reference price
    (e.g. AAPL 190: buy limit 191, sell limit 189), so every order trades at the venues and,
    alternating sides, the books do not drift."""
    out: list[OrderTemplate] = []
    for inst in instruments:
        if inst.reference_price is None:
            continue
        qty = Decimal(quantity) * inst.lot_size
        for side, sign in (("1", 1), ("2", -1)):
            raw = inst.reference_price * (1 + sign * Decimal(away_bps) / 10000)
            price = (raw / inst.tick_size).to_integral_value(ROUND_HALF_EVEN) * inst.tick_size
            out.append(
                OrderTemplate(
                    inst.symbol, side, fmt_decimal(qty), fmt_decimal(price), time_in_force
                )
            )
    return out  # buy, sell, buy, sell ... one instrument after the other


@dataclass
class LoadResult:
    """One run's figures."""

    label: str
    orders: int
    in_flight: int
    sent: int = 0
    acks: int = 0
    done: int = 0
    fills: int = 0
    rejected: int = 0
    canceled: int = 0
    session_rejects: int = 0
    business_rejects: int = 0
    ack_elapsed_s: float = 0.0  # first send -> last ack
    done_elapsed_s: float = 0.0  # first send -> last order done (when waiting for done)
    timed_out: bool = False
    latencies_ns: list[int] = field(default_factory=list, repr=False)

    @property
    def orders_per_second(self) -> float:
        return self.acks / self.ack_elapsed_s if self.ack_elapsed_s > 0 else 0.0

    @property
    def done_per_second(self) -> float:
        return self.done / self.done_elapsed_s if self.done_elapsed_s > 0 else 0.0

    def percentile_us(self, q: float) -> float:
        """Ack latency at quantile q (0..1, nearest rank), in microseconds."""
        if not self.latencies_ns:
            return float("nan")
        ordered = sorted(self.latencies_ns)
        rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
        return ordered[rank - 1] / 1000.0

    def mean_us(self) -> float:
        if not self.latencies_ns:
            return float("nan")
        return sum(self.latencies_ns) / len(self.latencies_ns) / 1000.0


class _LoadApp(fix.Application):  # type: ignore[misc]
    def __init__(self, driver: LoadGenerator) -> None:
        super().__init__()
        self.driver = driver

    def onCreate(self, session_id: fix.SessionID) -> None:
        self.driver.session_id = session_id

    def onLogon(self, session_id: fix.SessionID) -> None:
        self.driver.logged_on.set()

    def onLogout(self, session_id: fix.SessionID) -> None:
        self.driver.logged_on.clear()

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            if message.getHeader().getField(35) == "A":
                cfg = self.driver.config
                if cfg.username is not None:
                    message.setField(553, cfg.username)
                if cfg.password is not None:
                    message.setField(554, cfg.password)
        except Exception:
            pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            msg_type = message.getHeader().getField(35)
            if msg_type == "3":
                self.driver.on_session_reject(message)
            elif msg_type == "5" and message.isSetField(58):
                self.driver.logout_text = message.getField(58)
        except Exception:
            pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            self.driver.on_app_message(message)
        except Exception:  # never let an exception escape a QuickFIX callback
            self.driver.callback_errors += 1


class LoadGenerator:
    """A buy-side initiator session driving orders; see the module docstring."""

    def __init__(self, config: ClientSessionConfig, templates: Sequence[OrderTemplate]) -> None:
        if not templates:
            raise ValueError("no order templates")
        self.config = config
        self.templates = list(templates)
        self.session_id: fix.SessionID | None = None
        self.logged_on = threading.Event()
        self.logout_text: str | None = None
        self.callback_errors = 0
        self._initiator: fix.SocketInitiator | None = None
        self._run_no = 0
        self._tag = f"{int(time.time() * 1000) % 10**10:010d}"
        self._reset(LoadResult("idle", 0, 0), wait_done=False)

    # -- session -----------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> bool:
        cfg = self.config
        cfg.store_dir.mkdir(parents=True, exist_ok=True)
        path = cfg.store_dir / f"{cfg.sender_comp_id}-load.cfg"
        path.write_text(cfg.render())
        settings = fix.SessionSettings(str(path))
        self._initiator = fix.SocketInitiator(
            _LoadApp(self), fix.FileStoreFactory(settings), settings
        )
        self._initiator.start()
        return self.logged_on.wait(timeout)

    def stop(self) -> None:
        if self._initiator is not None:
            self._initiator.stop()
            self._initiator = None

    # -- callbacks (QuickFIX thread) ---------------------------------------------------------

    def _reset(self, result: LoadResult, wait_done: bool) -> None:
        self._result = result
        self._wait_done = wait_done
        self._pending: dict[str, int] = {}  # ClOrdID -> send time, until acked
        self._open: set[str] = set()  # ClOrdIDs not yet done (when waiting for done)
        self._last_ack_ns = 0
        self._last_done_ns = 0
        self._target = result.orders
        self._finished = threading.Event()
        self._slots = threading.Semaphore(max(1, result.in_flight))
        if result.orders == 0:
            self._finished.set()

    def on_app_message(self, message: fix.Message) -> None:
        now = time.perf_counter_ns()
        result = self._result
        msg_type = message.getHeader().getField(35)
        if msg_type == "8":
            cl_ord_id = message.getField(11)
            sent = self._pending.pop(cl_ord_id, None)
            if sent is not None:
                result.latencies_ns.append(now - sent)
                result.acks += 1
                self._last_ack_ns = now
                self._slots.release()
            exec_type = message.getField(150)
            if exec_type == "F":
                result.fills += 1
            elif exec_type == "8":
                result.rejected += 1
            elif exec_type == "4":
                result.canceled += 1
            if self._wait_done:
                if message.getField(39) in DONE_STATUSES and cl_ord_id in self._open:
                    self._open.discard(cl_ord_id)
                    result.done += 1
                    self._last_done_ns = now
                    if result.done >= self._target:
                        self._finished.set()
            elif sent is not None and result.acks >= self._target:
                self._finished.set()
        elif msg_type == "j":
            result.business_rejects += 1
            ref = message.getField(379) if message.isSetField(379) else None
            if ref is not None and self._pending.pop(ref, None) is not None:
                result.acks += 1
                self._last_ack_ns = now
                self._slots.release()
                if ref in self._open:
                    self._open.discard(ref)
                    result.done += 1
                    self._last_done_ns = now
                if result.done >= self._target or (
                    not self._wait_done and result.acks >= self._target
                ):
                    self._finished.set()

    def on_session_reject(self, message: fix.Message) -> None:
        self._result.session_rejects += 1

    # -- the run -----------------------------------------------------------------------------

    def run(
        self,
        orders: int,
        in_flight: int,
        *,
        wait_done: bool,
        label: str = "load",
        timeout: float | None = None,
    ) -> LoadResult:
        """Send `orders` orders keeping `in_flight` outstanding; block until every order is
        acked (wait_done=False) or done (wait_done=True), or timeout seconds pass."""
        if self.session_id is None or not self.logged_on.is_set():
            raise RuntimeError("the load session is not logged on")
        timeout = timeout if timeout is not None else max(60.0, orders / 50.0)
        result = LoadResult(label, orders, in_flight)
        self._reset(result, wait_done)
        self._run_no += 1
        prefix = f"L{self._tag}R{self._run_no}-"
        templates = self.templates
        count_templates = len(templates)
        session_id = self.session_id
        send = fix.Session.sendToTarget
        pending = self._pending
        open_orders = self._open
        acquire = self._slots.acquire
        perf = time.perf_counter_ns
        deadline = time.monotonic() + timeout
        first_ns = perf()
        for i in range(orders):
            if not acquire(timeout=max(0.0, deadline - time.monotonic())):
                result.timed_out = True
                break
            t = templates[i % count_templates]
            cl_ord_id = f"{prefix}{i}"
            msg = fix.Message()
            msg.getHeader().setField(35, "D")
            msg.setField(11, cl_ord_id)
            msg.setField(55, t.symbol)
            msg.setField(54, t.side)
            msg.setField(38, t.quantity)
            msg.setField(40, "2")
            msg.setField(44, t.price)
            msg.setField(59, t.time_in_force)
            msg.setField(60, fmt_time(datetime.now(UTC)))
            if wait_done:
                open_orders.add(cl_ord_id)
            pending[cl_ord_id] = perf()
            if not send(msg, session_id):
                pending.pop(cl_ord_id, None)
                open_orders.discard(cl_ord_id)
                result.timed_out = True
                break
            result.sent += 1
        if result.sent < orders:
            self._target = result.sent
            if self._done_count(result) >= result.sent:
                self._finished.set()
        if not self._finished.wait(max(0.0, deadline - time.monotonic())):
            result.timed_out = True
        result.ack_elapsed_s = max(0, self._last_ack_ns - first_ns) / 1e9
        if wait_done:
            result.done_elapsed_s = max(0, self._last_done_ns - first_ns) / 1e9
        return result

    def _done_count(self, result: LoadResult) -> int:
        return result.done if self._wait_done else result.acks
