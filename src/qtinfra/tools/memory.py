"""Memory against history: push many orders through the order core and print the resident
set size every so many orders. Flat means memory does not grow with history.

    python -m qtinfra.tools.memory --orders 1000000 --every 100000

Everything on the order path but the sockets runs as in the gateway: the shipped config's
pre-trade check chain and exposure, the order manager with its history (SQLite), the
sequencer and the journal writer (group commits, hash chain, checkpoints). A venue stand-in
acknowledges and fills every child order in full at once; the client alternates buys and
sells so its position stays flat, and the clock moves 1 ms per order and a day every
`--per-day` orders (so today's executions stay within the credit limit, as on real days).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from qtinfra.config import PROJECT_ROOT, load_config
from qtinfra.domain.commands import NewOrder, VenueExecution, VenueSessionStatus
from qtinfra.domain.events import ChildOrderSent
from qtinfra.domain.values import ExecType, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.oms.manager import OrderManager
from qtinfra.oms.sequencer import Sequencer
from qtinfra.risk.engine import RiskEngine
from qtinfra.risk.exposure import Exposure
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter
from qtinfra.store.repository import OrderHistory

SESSION = "FIX.4.4:QTGW->CLIENT1"
ACCOUNT = "ACC1"
SYMBOL = "AAPL"
BATCH = 50
"""Orders per group commit (a loaded gateway commits a poll round's worth at once)."""


def rss_mb() -> float:
    """This process's resident set size (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Sample:
    orders: int
    rss_mb: float
    open_orders: int
    done_in_memory: int
    cl_ord_ids_in_memory: int
    seconds: float


class SimClock:
    """UTC time that moves 1 ms per order and a day every `per_day` orders."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run(
    orders: int,
    every: int,
    per_day: int,
    recent_done: int,
    directory: Path,
    report: Callable[[Sample], None],
) -> list[Sample]:
    config = load_config(PROJECT_ROOT / "config")
    instruments = config.instrument_map()
    engine = make_engine(f"sqlite:///{directory / 'memory.db'}")
    migrate(engine)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    clock = SimClock(start)
    risk = RiskEngine(
        config.risk,
        config.account_map(),
        config.calendar_map(),
        {v.name: v.mic for v in config.venues},
        Exposure(start.date(), {}),
        session_accounts={SESSION: ACCOUNT},
        entitlements={SESSION: frozenset({ACCOUNT})},
    )
    manager = OrderManager(
        instruments=instruments.values(),
        venue_fees={v.name: v.fee_bps for v in config.venues},
        venue_mics={v.name: v.mic for v in config.venues},
        clock=clock,
        id_prefix="M",
        default_accounts={SESSION: ACCOUNT},
        risk=risk,
        history=OrderHistory(engine, instruments),
        recent_done=recent_done,
    )
    manager.restore([], [], [])
    failures: list[BaseException] = []
    writer = JournalWriter(engine, clock, failures.append)
    writer.open()
    sequencer = Sequencer(manager, writer, lambda events: None, clock, lambda c, e: None)
    mics = {v.name: v.mic for v in config.venues}
    for venue in mics:
        sequencer.handle(VenueSessionStatus(venue, True))
    venue_exec_ids = itertools.count(1)

    def fill_children(events_from: int) -> None:
        for event in manager.outbox.events[events_from:]:
            if not isinstance(event, ChildOrderSent):
                continue
            for exec_type, status, last in (
                (ExecType.NEW, OrdStatus.NEW, Decimal(0)),
                (ExecType.TRADE, OrdStatus.FILLED, event.quantity),
            ):
                sequencer.handle(
                    VenueExecution(
                        venue=event.venue,
                        mic=mics[event.venue],
                        child_id=event.child_id,
                        orig_child_id=None,
                        venue_order_id=f"V{event.child_id}",
                        exec_id=f"VX{next(venue_exec_ids)}",
                        exec_type=exec_type,
                        ord_status=status,
                        last_qty=last,
                        last_px=event.price or Decimal("190"),
                        cum_qty=last,
                        leaves_qty=event.quantity - last,
                        commission=None,
                        text=None,
                        transact_time=clock.now,
                    )
                )

    samples: list[Sample] = []
    began = time.monotonic()
    for n in range(1, orders + 1):
        day, within = divmod(n - 1, per_day)
        clock.now = start + timedelta(days=day, milliseconds=within)
        mark = len(manager.outbox.events)
        sequencer.handle(
            NewOrder(
                session=SESSION,
                cl_ord_id=f"M{n}",
                symbol=SYMBOL,
                isin=None,
                side=Side.BUY if n % 2 else Side.SELL,
                ord_type=OrdType.LIMIT,
                time_in_force=TimeInForce.DAY,
                quantity=Decimal(10),
                price=Decimal("190.00"),
                account=ACCOUNT,
            )
        )
        fill_children(mark)
        if n % BATCH == 0:
            sequencer.flush()
        if failures:
            raise RuntimeError(f"the journal failed: {failures[0]}")
        if n % every == 0:
            sequencer.flush()
            gc.collect()
            sample = Sample(
                orders=n,
                rss_mb=rss_mb(),
                open_orders=len(manager.orders),
                done_in_memory=len(manager.done_orders),
                cl_ord_ids_in_memory=len(manager.by_cl_ord_id),
                seconds=time.monotonic() - began,
            )
            samples.append(sample)
            report(sample)
    writer.close()
    engine.dispose()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000, help="print RSS every N orders")
    parser.add_argument("--per-day", type=int, default=100_000, help="orders per trading day")
    parser.add_argument(
        "--recent-done", type=int, default=20_000, help="done orders held in memory"
    )
    parser.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir)")
    args = parser.parse_args(argv)
    print(
        f"{'orders':>10} {'RSS MB':>8} {'open':>6} {'done held':>10} {'ClOrdIDs held':>14}"
        f" {'seconds':>8}",
        flush=True,
    )

    def report(s: Sample) -> None:
        print(
            f"{s.orders:>10,} {s.rss_mb:>8.1f} {s.open_orders:>6} {s.done_in_memory:>10,}"
            f" {s.cl_ord_ids_in_memory:>14,} {s.seconds:>8.1f}",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="qtinfra-memory-") as tmp:
        samples = run(
            args.orders, args.every, args.per_day, args.recent_done, args.dir or Path(tmp), report
        )
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        print(
            f"RSS {first.rss_mb:.1f} MB after {first.orders:,} orders, {last.rss_mb:.1f} MB after"
            f" {last.orders:,} ({last.rss_mb - first.rss_mb:+.1f} MB);"
            f" {last.orders / last.seconds:,.0f} orders/s through the core"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
