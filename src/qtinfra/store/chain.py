"""The journal's hash chain: each row's hash covers the previous row's hash and the row's
canonical content, so altering, deleting, inserting or reordering any row breaks every
hash after it; signed checkpoints of the chain head make a recomputed chain detectable.

Canonical content, in this order, each field as UTF-8 bytes prefixed by its length
(`<len>:`), absent values as `-`: the previous hash, seq, ts (UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`),
kind, session, order_id, payload. SHA-256, lower-case hex.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha256

GENESIS = "0" * 64
"""The previous hash of the first row."""


def canonical_ts(value: datetime | str) -> str:
    """A journal timestamp as the chain hashes it, whatever form the database returned
    (SQLite: naive UTC text; PostgreSQL: an aware datetime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}Z"
    )


def _field(value: str | None) -> bytes:
    if value is None:
        return b"-"
    data = value.encode()
    return b"%d:%s" % (len(data), data)


def row_hash(
    prev: str,
    seq: int,
    ts: str,
    kind: str,
    session: str | None,
    order_id: str | None,
    payload: str,
) -> str:
    """The hash of one journal row (ts already canonical, see canonical_ts)."""
    return sha256(
        b"|".join(
            (
                _field(prev),
                _field(str(seq)),
                _field(ts),
                _field(kind),
                _field(session),
                _field(order_id),
                _field(payload),
            )
        )
    ).hexdigest()


def checkpoint_message(seq: int, head: str, ts: str) -> bytes:
    """What a checkpoint's Ed25519 signature signs."""
    return f"qtinfra-journal-checkpoint|{seq}|{head}|{ts}".encode()
