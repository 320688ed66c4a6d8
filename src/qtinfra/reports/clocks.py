"""The clock record of a period (MiFID II RTS 25): `qtinfra audit clock --from T --to T`.

The gateway journals a `clock.status` row at start and every [clock] interval_seconds
(gateway/wiring.py: record_clock, ops/clock.py): the source (chrony, kernel adjtimex or
unknown), its state, the offset and error bounds it gave, the limit that applied and
whether the reading showed the clock within it. This reads those rows back from the
journal (hash-chained like every row) and names what an auditor asks about:

* every reading that did not show the clock within its limit (unsynchronised, unknown, or
  an offset or max error beyond it);
* every stretch of journal rows (timestamps taken) more than 1.5 intervals from any reading
  (two readings in a row missing, or none at all): before the first reading of the period,
  between two readings, after the last.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from qtinfra.config import QtinfraConfig
from qtinfra.ops.clock import JOURNAL_KIND
from qtinfra.reports.trail import utc_iso
from qtinfra.store.models import JournalRow


@dataclass(frozen=True, slots=True)
class Reading:
    """One clock.status row: its journal seq and ts, and its payload."""

    seq: int
    ts: datetime
    payload: dict[str, Any]

    @property
    def within(self) -> bool:
        return bool(self.payload.get("within"))


@dataclass(frozen=True, slots=True)
class Gap:
    """Journal rows (the first's and last's ts, how many) with no clock reading near."""

    start: datetime
    end: datetime
    rows: int


@dataclass
class ClockRecord:
    start: datetime
    end: datetime
    allowed: timedelta
    readings: list[Reading] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def outside(self) -> list[Reading]:
        return [r for r in self.readings if not r.within]

    @property
    def ok(self) -> bool:
        return bool(self.readings) and not self.outside and not self.gaps


def clock_record(engine: Engine, start: datetime, end: datetime, interval_s: float) -> ClockRecord:
    """The readings journaled in [start, end) and the stretches of other journal rows that
    no reading covers (more than 1.5 x interval_s from the nearest reading)."""
    allowed = timedelta(seconds=1.5 * interval_s)
    record = ClockRecord(start, end, allowed)
    with engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.seq, JournalRow.ts, JournalRow.payload)
            .where(JournalRow.kind == JOURNAL_KIND, JournalRow.ts >= start, JournalRow.ts < end)
            .order_by(JournalRow.seq)
        ).all()
        record.readings = [Reading(r.seq, r.ts, json.loads(r.payload)) for r in rows]

        def uncovered(after: datetime, before: datetime) -> None:
            count, first, last = conn.execute(
                select(func.count(), func.min(JournalRow.ts), func.max(JournalRow.ts)).where(
                    JournalRow.kind != JOURNAL_KIND, JournalRow.ts >= after, JournalRow.ts < before
                )
            ).one()
            if count:
                record.gaps.append(Gap(_aware(first), _aware(last), int(count)))

        times = [r.ts for r in record.readings]
        if not times:
            uncovered(start, end)
            return record
        if times[0] - start > allowed:
            uncovered(start, times[0] - allowed)
        for earlier, later in pairwise(times):
            if later - earlier > 2 * allowed:
                uncovered(earlier + allowed, later - allowed)
        if end - times[-1] > allowed:
            uncovered(times[-1] + allowed, end)
    return record


def _aware(value: Any) -> datetime:
    """A bare aggregate (min, max) on SQLite comes back as text."""
    when: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _us(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value):,f} µs"


def render_text(record: ClockRecord) -> str:
    out = [
        f"clock record {utc_iso(record.start)} .. {utc_iso(record.end)}: "
        f"{len(record.readings):,} reading{'' if len(record.readings) == 1 else 's'}"
        + (
            f" (journal rows {record.readings[0].seq}..{record.readings[-1].seq})"
            if record.readings
            else ""
        )
    ]
    if record.readings:
        sources = Counter(r.payload.get("source") for r in record.readings)
        states = Counter(r.payload.get("state") for r in record.readings)
        within = len(record.readings) - len(record.outside)
        out.append("  sources: " + ", ".join(f"{s} {n:,}" for s, n in sources.most_common()))
        out.append(
            "  "
            + ", ".join(f"{s} {states.get(s, 0):,}" for s in ("synchronised", "unsynchronised"))
            + f", unknown {states.get('unknown', 0):,}; within the limit {within:,} of "
            f"{len(record.readings):,}"
        )
        worst = _largest(record.readings, "max_error_us")
        if worst is not None:
            out.append(
                f"  largest max error {_us(worst.payload['max_error_us'])} at {utc_iso(worst.ts)}"
            )
    for r in record.outside:
        p = r.payload
        out.append(
            f"OUTSIDE: {utc_iso(r.ts)} seq {r.seq} {p.get('source')} {p.get('state')}: "
            f"{'; '.join(p.get('problems') or [])} (limit {p.get('max_divergence_us'):,} µs)"
        )
        out.append(f"  {p.get('detail')}")
    for g in record.gaps:
        out.append(
            f"GAP: {g.rows:,} journal rows from {utc_iso(g.start)} to {utc_iso(g.end)} with no "
            f"clock reading within {int(record.allowed.total_seconds())} s"
        )
    if not record.readings and not record.gaps:
        out.append("nothing was journaled in this period")
    elif record.ok:
        out.append("every reading showed the clock within its limit, and every row is covered")
    return "\n".join(out) + "\n"


def _largest(readings: list[Reading], key: str) -> Reading | None:
    known = [r for r in readings if r.payload.get(key) is not None]
    return max(known, key=lambda r: Decimal(r.payload[key])) if known else None


def to_json(record: ClockRecord) -> dict[str, Any]:
    return {
        "from": utc_iso(record.start),
        "to": utc_iso(record.end),
        "ok": record.ok,
        "readings": [{"seq": r.seq, "ts": utc_iso(r.ts), **r.payload} for r in record.readings],
        "gaps": [
            {"from": utc_iso(g.start), "to": utc_iso(g.end), "rows": g.rows} for g in record.gaps
        ],
    }


def run_clock_record(config: QtinfraConfig, start: datetime, end: datetime, as_json: bool) -> int:
    """`qtinfra audit clock`: 0 every reading within and every row covered (or nothing
    journaled), 1 a finding, 2 bad period or unreadable journal."""
    from qtinfra.store.db import make_engine

    if end <= start:
        print("qtinfra: --to must be after --from", file=sys.stderr)
        return 2
    engine = make_engine(config.database_url)
    try:
        record = clock_record(engine, start, end, config.clock.interval_seconds)
    except SQLAlchemyError as exc:
        print(f"qtinfra: cannot read the journal: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(to_json(record), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(record))
    nothing = not record.readings and not record.gaps
    return 0 if record.ok or nothing else 1
