"""The daily report run: after the close, the day's RTS 22 transaction report, RTS 24
order records and short-code mapping file (reports/short_codes.py) go to
<reports.out_dir>/<YYYY-MM-DD>/ with a manifest (file names, SHA-256,
row counts) signed with the audit key (Ed25519, the same key as the journal checkpoints).

The gateway's scheduler runs it every day at `reports.daily_utc`; a run missed because the
gateway was down runs at the next start (a day counts as done when its manifest exists).
`qtinfra reports daily --date D` runs it by hand.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from qtinfra.config import QtinfraConfig
from qtinfra.reports.short_codes import run_short_codes
from qtinfra.store.audit import key_id

log = structlog.get_logger(__name__)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
CATCH_UP_DAYS = 7
"""How far back a start looks for days whose run was missed."""


def day_dir(config: QtinfraConfig, day: date) -> Path:
    return config.reports_dir / day.isoformat()


def _rows(path: Path) -> int:
    """Records in a report file: transactions in an RTS 22 file, data rows in a CSV,
    objects in a JSON list."""
    if path.suffix == ".xml":
        return path.read_bytes().count(b"<TxId>")  # one per New or Cxl record
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return max(0, sum(1 for _ in csv.reader(fh)) - 1)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        return len(data) if isinstance(data, list) else 1
    return 0


def write_manifest(folder: Path, day: date, key: Ed25519PrivateKey) -> Path:
    """manifest.json over every report file in folder, and its detached signature."""
    files = []
    for path in sorted(folder.iterdir()):
        if path.name in (MANIFEST, SIGNATURE) or not path.is_file():
            continue
        files.append(
            {
                "file": path.name,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "bytes": path.stat().st_size,
                "rows": _rows(path),
            }
        )
    manifest = {
        "trading_day": day.isoformat(),
        "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "signing_key_id": key_id(key.public_key()),
        "files": files,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (folder / MANIFEST).write_bytes(body)
    (folder / SIGNATURE).write_text(base64.b64encode(key.sign(body)).decode() + "\n")
    return folder / MANIFEST


def verify_manifest(folder: Path, public_key: Ed25519PublicKey) -> list[str]:
    """Problems with a day's folder: a bad signature, a file missing or changed."""
    body = (folder / MANIFEST).read_bytes()
    problems = []
    try:
        public_key.verify(base64.b64decode((folder / SIGNATURE).read_text()), body)
    except Exception:
        problems.append(f"{folder / MANIFEST}: the signature does not verify")
    for entry in json.loads(body)["files"]:
        path = folder / entry["file"]
        if not path.exists():
            problems.append(f"{path}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{path}: changed since the manifest was signed")
    return problems


Runner = Callable[[QtinfraConfig, date, Path], int]


def run_daily(
    config: QtinfraConfig,
    day: date,
    key: Ed25519PrivateKey,
    rts22: Runner | None = None,
    rts24: Runner | None = None,
) -> dict[str, Any]:
    """Produce the day's reports into its folder and sign the manifest. Returns a summary;
    `ok` is false when a report failed: no manifest is written then, so the day counts as
    missed and runs again at the next start. RTS 22 transactions held back (status 2) do
    not fail the day. Report files are owner-only (they hold
    personal data)."""
    from qtinfra.reports.rts22 import HELD

    folder = day_dir(config, day)
    folder.mkdir(parents=True, exist_ok=True)
    status = {
        "rts22": (rts22 or _rts22)(config, day, folder),
        "rts24": (rts24 or _rts24)(config, day, folder),
        "short_codes": run_short_codes(config, folder / f"shortcodes-{day.isoformat()}.csv"),
    }
    # RTS 22 filed with some transactions held back (exit 2) is a filed day: the manifest
    # covers the file; the held ones are reported by the next run once fixed (the daily
    # run re-runs the day before) and are logged here.
    ok = all(code == 0 or (name == "rts22" and code == HELD) for name, code in status.items())
    folder.chmod(0o700)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o600)
    if ok:
        write_manifest(folder, day, key)
        log.info("daily_reports", day=day.isoformat(), folder=str(folder), status=status)
        if status["rts22"] == HELD:
            log.error("daily_reports_held", day=day.isoformat(), folder=str(folder))
    else:
        log.error("daily_reports_failed", day=day.isoformat(), folder=str(folder), status=status)
    return {"day": day.isoformat(), "folder": str(folder), "status": status, "ok": ok}


def _rts22(config: QtinfraConfig, day: date, folder: Path) -> int:
    from qtinfra.reports.rts22 import run_rts22

    return run_rts22(config, day, folder.parent)


def _rts24(config: QtinfraConfig, day: date, folder: Path) -> int:
    from qtinfra.reports.rts24 import run_rts24

    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    return run_rts24(config, start, end, "csv", folder / f"rts24-{day.isoformat()}.csv")


def missed_days(config: QtinfraConfig, now: datetime, since: date | None) -> list[date]:
    """Days from `since` (the journal's first day; None: nothing journaled yet) whose
    scheduled run time has passed without a manifest, at most CATCH_UP_DAYS back, oldest
    first."""
    if since is None:
        return []
    run_at = config.reports.daily_utc
    last = now.date() if now.time() >= run_at else now.date() - timedelta(days=1)
    days = [last - timedelta(days=n) for n in range(CATCH_UP_DAYS)]
    return sorted(d for d in days if d >= since and not (day_dir(config, d) / MANIFEST).exists())
