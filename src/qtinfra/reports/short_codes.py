"""The short-code mapping file (RTS 24 Art. 2(3)): the firm sends venues short codes in
place of its clients', people's and algorithms' identifiers (PartyIDSource P on the child
orders); the venue gets, each day, the long code behind every short code it may see.

`shortcodes-<day>.csv` goes into the day's report folder with the RTS 22 and RTS 24 files
(and is covered by the signed manifest). Columns: short_code, kind (client, person,
algorithm), long_code (a client's LEI or national client identifier, a person's national
identifier, an algorithm's code), long_code_type (LEI, NIDN, CCPT, CONCAT, ALGO), account
(clients only). Personal data: the file is owner-only like the other reports.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from qtinfra.config import QtinfraConfig
from qtinfra.domain.identifiers import client_short_code
from qtinfra.domain.values import ALGORITHM
from qtinfra.store.privacy import reveal_config

COLUMNS = ("short_code", "kind", "long_code", "long_code_type", "account")


def short_code_rows(config: QtinfraConfig) -> list[dict[str, str]]:
    """One row per client account and per person of the firm, and one per algorithm the
    accounts' defaults name; sorted by kind then short code."""
    config = reveal_config(config)
    rows: list[dict[str, str]] = []
    algorithms: set[str] = set()
    for account in config.accounts:
        if account.kind == "legal":
            long_code, kind_of = account.lei or "", "LEI"
        else:
            long_code = account.national_id or ""
            kind_of = account.national_id_scheme or "NIDN"
        rows.append(
            {
                "short_code": client_short_code(account.account),
                "kind": "client",
                "long_code": long_code,
                "long_code_type": kind_of,
                "account": account.account,
            }
        )
        for default in (account.decision_maker, account.executing_trader):
            if default is not None and default.qualifier == ALGORITHM:
                algorithms.add(default.id)
    for person in config.people:
        rows.append(
            {
                "short_code": person.code,
                "kind": "person",
                "long_code": person.national_id,
                "long_code_type": person.national_id_scheme or "NIDN",
                "account": "",
            }
        )
    for code in sorted(algorithms):
        rows.append(
            {
                "short_code": code,
                "kind": "algorithm",
                "long_code": code,
                "long_code_type": "ALGO",
                "account": "",
            }
        )
    order = {"client": 0, "person": 1, "algorithm": 2}
    return sorted(rows, key=lambda r: (order[r["kind"]], r["short_code"]))


def write_short_codes(config: QtinfraConfig, path: Path) -> int:
    """Write the mapping to path; its row count."""
    rows = short_code_rows(config)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def run_short_codes(config: QtinfraConfig, path: Path) -> int:
    """The daily run's step: 0 once written, 1 when it could not be."""
    try:
        write_short_codes(config, path)
    except (OSError, ValueError) as exc:
        print(f"qtinfra: short-code mapping file {path}: {exc}", file=sys.stderr)
        return 1
    return 0
