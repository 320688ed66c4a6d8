"""`qtinfra reports check --date D`: every finding on a day's RTS 22 transactions, as the
report would hold them back (missing data, the business rules of reports/rts22_rules.py,
ESMA's schema), without writing a file or recording anything."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from qtinfra.config import QtinfraConfig
from qtinfra.reports.iso20022 import SHIPPED_SCHEMAS, load_schema
from qtinfra.reports.rts22 import (
    HELD,
    Problem,
    build_records,
    read_fills,
    schema_problems,
    transaction_reference,
)
from qtinfra.reports.rts22_rules import RULES
from qtinfra.store.privacy import reveal_config


@dataclass(frozen=True, slots=True)
class CheckResult:
    day: date
    fills: int
    passing: int
    problems: tuple[Problem, ...]

    def lines(self) -> list[str]:
        head = f"RTS 22 check for {self.day.isoformat()}: {self.fills} fills"
        if not self.problems:
            return [f"{head}, every transaction passes every rule and the schema"]
        held = {p.tx_id for p in self.problems}
        out = [f"{head}: {len(held)} transactions would be held back, {self.passing} pass"]
        for rule, count in sorted(Counter(p.rule or "data/schema" for p in self.problems).items()):
            source = f" ({RULES[rule].source})" if rule in RULES else ""
            out.append(f"  {rule}: {count} finding{'s' if count != 1 else ''}{source}")
        out += [f"    {p}" for p in self.problems]
        return out


def check_rts22(config: QtinfraConfig, engine: Engine, day: date) -> CheckResult:
    schema_dir = config.reports.schema_dir
    schemas = load_schema(
        config.path(schema_dir).resolve() if schema_dir is not None else SHIPPED_SCHEMAS
    )
    config = reveal_config(config)
    fills = read_fills(engine, day)
    records, problems = build_records(config, fills)
    problems += schema_problems(config, day, records, schemas)
    held = {p.tx_id for p in problems}
    passing = {transaction_reference(f.exec_id) for f in fills} - held
    return CheckResult(day, len(fills), len(passing), tuple(problems))


def run_check(config: QtinfraConfig, day: date) -> int:
    """0 when every transaction of the day passes, 2 (HELD) when some would be held."""
    from qtinfra.store.db import make_engine

    engine = make_engine(config.database_url)
    try:
        result = check_rts22(config, engine, day)
    finally:
        engine.dispose()
    for line in result.lines():
        print(line)
    if result.problems:
        print(
            f"qtinfra: {len({p.tx_id for p in result.problems})} transactions fail", file=sys.stderr
        )
        return HELD
    return 0
