"""Data-subject requests about a client (GDPR Art. 15 access, Art. 17 erasure) against
MiFID II record keeping (Art. 16(6): records kept five years).

`export_client` gathers everything the gateway holds on an Account: its client record
(personal values revealed), the sessions that trade for it, its limits and start-of-day
positions, and every order event the journal recorded for it. `erase_client` removes a
client record only when no record-keeping duty remains, and otherwise says until when.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import tomlkit
from sqlalchemy import Engine, func, select

from qtinfra.config import QtinfraConfig
from qtinfra.errors import QtinfraError
from qtinfra.store.models import JournalRow
from qtinfra.store.privacy import reveal_config


class ErasureRefused(QtinfraError):
    """The client's data must still be kept."""


def _reports_of(account: str) -> Any:
    """The journal rows that may be the Account's ExecutionReports (payloads are checked
    after decoding)."""
    needle = f'"account":{json.dumps(account)}'
    return (JournalRow.kind == "ExecutionReport") & JournalRow.payload.contains(needle)


def _order_events(engine: Engine, account: str) -> list[dict[str, Any]]:
    """Every ExecutionReport the journal holds for the Account, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.seq, JournalRow.ts, JournalRow.payload)
            .where(_reports_of(account))
            .order_by(JournalRow.seq)
        ).all()
    out = []
    for r in rows:
        payload = json.loads(r.payload)
        if payload.get("account") == account:
            out.append({"journal_seq": r.seq, **payload})
    return out


def last_activity(engine: Engine, account: str) -> datetime | None:
    """When the journal last recorded an order event for the Account."""
    with engine.connect() as conn:
        ts = conn.execute(select(func.max(JournalRow.ts)).where(_reports_of(account))).scalar()
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def export_client(config: QtinfraConfig, engine: Engine, account: str) -> dict[str, Any]:
    """All data held on the client (GDPR Art. 15), personal values decrypted."""
    revealed = reveal_config(config)
    record = revealed.account_map().get(account)
    if record is None:
        raise QtinfraError(f"no client record for Account {account!r} in config/accounts.toml")
    limits = next((c for c in config.risk.client if c.account == account), None)
    return {
        "account": account,
        "exported_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "client_record": record.model_dump(mode="json"),
        "sessions": [c.comp_id for c in config.clients if account in c.entitled],
        "risk_limits": limits.model_dump(mode="json", exclude_unset=True) if limits else None,
        "start_of_day_positions": [
            p.model_dump(mode="json") for p in config.positions.position if p.account == account
        ],
        "order_events": _order_events(engine, account),
    }


def _retention_end(last: datetime, years: int) -> date:
    day = last.date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def erase_client(config: QtinfraConfig, engine: Engine, account: str, today: date) -> Path:
    """Remove the client record from config/accounts.toml (GDPR Art. 17), unless MiFID II
    record keeping still requires it (ErasureRefused says until when) or a session still
    trades for it. The journal itself is append-only and is never rewritten."""
    if account not in config.account_map():
        raise QtinfraError(f"no client record for Account {account!r} in config/accounts.toml")
    last = last_activity(engine, account)
    if last is not None:
        until = _retention_end(last, config.privacy.retention_years)
        if today <= until:
            raise ErasureRefused(
                f"erasure refused: MiFID II record keeping (Art. 16(6), "
                f"{config.privacy.retention_years} years) requires Account {account}'s data "
                f"until {until.isoformat()} (its last order event was on "
                f"{last.date().isoformat()})"
            )
    sessions = [c.comp_id for c in config.clients if account in c.entitled]
    if sessions:
        raise ErasureRefused(
            f"erasure refused: sessions {sessions} still trade for Account {account}; "
            "remove it from config/clients.toml first"
        )
    if any(p.account == account for p in config.positions.position):
        raise ErasureRefused(
            f"erasure refused: config/positions.toml still holds positions of {account}"
        )
    path = config.config_dir / "accounts.toml"
    doc = tomlkit.parse(path.read_text())
    kept = [t for t in doc.get("account", []) if t.get("account") != account]
    doc["account"] = tomlkit.aot()
    for table in kept:
        doc["account"].append(table)
    tmp = path.with_name(f".{path.name}.erasing")
    tmp.write_text(tomlkit.dumps(doc))
    os.replace(tmp, path)
    return path
