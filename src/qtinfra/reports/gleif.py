"""LEI registration status from an offline GLEIF extract ([reports] gleif_extract), for the
RTS 22 business rule GLEIF (reports/rts22_rules.py).

The extract is GLEIF's golden copy in CSV (LEI-CDF, `LEI`, `Entity.LegalName`,
`Registration.InitialRegistrationDate`, `Registration.RegistrationStatus`, as
https://www.gleif.org publishes it daily), whole or cut down to the firm's counterparties;
a file with the plain column names `LEI`, `LegalName`, `InitialRegistrationDate`,
`RegistrationStatus` is read too. Only the LEIs asked for are kept, so the whole golden copy
(millions of rows) is streamed, not loaded.

What the authorities' validation checks (ESMA's MiFIR transaction reporting validation
rules): the executing and the submitting entity's LEI (fields 4 and 6) must be ISSUED,
PENDING_TRANSFER or PENDING_ARCHIVAL; a buyer's, seller's or decision maker's (7, 12, 16,
21) may also be LAPSED (a client that did not renew). Every LEI must be in GLEIF's
database and have been registered on or before the trading day.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from qtinfra.errors import ConfigError

REPORTING_STATUSES = frozenset({"ISSUED", "PENDING_TRANSFER", "PENDING_ARCHIVAL"})
"""What the executing and submitting entity's LEI may be (fields 4 and 6)."""
COUNTERPARTY_STATUSES = REPORTING_STATUSES | {"LAPSED"}
"""What a buyer's, seller's or decision maker's LEI may be (fields 7, 12, 16, 21)."""
REPORTING_FIELDS = frozenset({4, 6})

_COLUMNS = {
    "lei": ("LEI",),
    "name": ("Entity.LegalName", "LegalName"),
    "registered": ("Registration.InitialRegistrationDate", "InitialRegistrationDate"),
    "status": ("Registration.RegistrationStatus", "RegistrationStatus"),
}


@dataclass(frozen=True, slots=True)
class LeiRecord:
    lei: str
    name: str
    status: str
    registered: date | None


def load_extract(path: Path, wanted: Iterable[str]) -> dict[str, LeiRecord]:
    """The records of the wanted LEIs in the extract at path (those it lacks are absent).
    Raises ConfigError for a file that cannot be read or lacks the columns."""
    want = set(wanted)
    found: dict[str, LeiRecord] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            names = _column_names(list(reader.fieldnames or []), path)
            for row in reader:
                lei = (row.get(names["lei"]) or "").strip().upper()
                if lei not in want:
                    continue
                found[lei] = LeiRecord(
                    lei=lei,
                    name=(row.get(names["name"]) or "").strip(),
                    status=(row.get(names["status"]) or "").strip().upper(),
                    registered=_day(row.get(names["registered"])),
                )
                if len(found) == len(want):
                    break
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"[reports] gleif_extract {path}: {exc}") from None
    return found


def _column_names(header: list[str], path: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, candidates in _COLUMNS.items():
        name = next((c for c in candidates if c in header), None)
        if name is None:
            raise ConfigError(
                f"[reports] gleif_extract {path}: no {' or '.join(candidates)} column (GLEIF's "
                "golden copy CSV has them)"
            )
        names[key] = name
    return names


def _day(text: str | None) -> date | None:
    """The date part of GLEIF's ISO 8601 timestamps (2014-06-24T00:00:00Z or +02:00)."""
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def lei_problem(
    lei: str, field: int, trading_day: date, extract: dict[str, LeiRecord]
) -> str | None:
    """Why the LEI in RTS 22 field `field` would be refused on trading_day, None when its
    GLEIF record is fine for that field."""
    record = extract.get(lei)
    if record is None:
        return f"LEI {lei} is not in the GLEIF extract"
    allowed = REPORTING_STATUSES if field in REPORTING_FIELDS else COUNTERPARTY_STATUSES
    if record.status not in allowed:
        return (
            f"LEI {lei} ({record.name}) has GLEIF status {record.status or 'none'}; field "
            f"{field} needs {', '.join(sorted(allowed))}"
        )
    if record.registered is not None and record.registered > trading_day:
        return (
            f"LEI {lei} ({record.name}) was first registered on {record.registered.isoformat()}, "
            f"after the trading day {trading_day.isoformat()}"
        )
    return None
