"""The tamper-evident journal on SQLite and PostgreSQL: every row hash-chained in the same
transaction, signed checkpoints, append-only triggers, and `verify_journal` / `qtinfra audit
verify` naming the first row altered, deleted, inserted or reordered, or a bad signature."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from qtinfra.errors import ConfigError
from qtinfra.store.audit import (
    key_id,
    load_or_create_signing_key,
    load_public_key,
    sign_checkpoint,
    verify_journal,
)
from qtinfra.store.chain import GENESIS, canonical_ts, row_hash
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter
from qtinfra.store.models import JournalCheckpointRow, JournalRow

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=7)
        return self.now


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def key(tmp_path: Path) -> Ed25519PrivateKey:
    return load_or_create_signing_key(tmp_path / "audit.pem", tmp_path / "audit.pub.pem")


def fill_journal(
    engine: Engine, key: Ed25519PrivateKey | None, rows: int, checkpoint_rows: int = 10
) -> JournalWriter:
    """Write `rows` FIX messages in commits of 3 with a checkpoint every checkpoint_rows."""
    clock = Clock()
    failures: list[BaseException] = []
    writer = JournalWriter(engine, clock, failures.append, key, checkpoint_rows)
    for i in range(rows):
        writer.record_message(
            "fix.in", "FIX.4.4:QTGW->CLIENT1", f"8=FIX.4.4\x0111=C{i}\x01", clock()
        )
        if i % 3 == 2:
            writer.write([])
    writer.write([])
    writer.close()
    assert not failures
    return writer


def tamper(engine: Engine, sql: str, **params: object) -> None:
    """What someone with write access to the database could do: switch the append-only
    triggers off, change rows, switch them on again."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE journal DISABLE TRIGGER journal_append_only"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE journal ENABLE TRIGGER journal_append_only"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS journal_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS journal_no_delete"))
            conn.execute(text(sql), params)


def journal(engine: Engine) -> list[JournalRow]:
    with Session(engine) as session:
        return list(session.scalars(select(JournalRow).order_by(JournalRow.seq)))


def test_rows_are_chained_and_checkpoints_signed(engine: Engine, key: Ed25519PrivateKey) -> None:
    fill_journal(engine, key, 25)
    rows = journal(engine)
    assert [r.seq for r in rows] == list(range(1, 26))
    prev = GENESIS
    for r in rows:
        assert r.prev_hash == prev
        assert r.hash == row_hash(
            prev, r.seq, canonical_ts(r.ts), r.kind, r.session, r.order_id, r.payload
        )
        prev = r.hash
    with Session(engine) as session:
        cps = list(session.scalars(select(JournalCheckpointRow).order_by(JournalCheckpointRow.id)))
    # Every 10 rows (at the commit that crosses it) and at close.
    assert [c.seq for c in cps] == [12, 24, 25]
    assert all(c.key_id == key_id(key.public_key()) for c in cps)
    result = verify_journal(engine, key.public_key())
    assert result.ok, result.problems
    assert (result.rows, result.checkpoints, result.last_signed_seq) == (25, 3, 25)


def test_a_restarted_writer_continues_the_chain(engine: Engine, key: Ed25519PrivateKey) -> None:
    fill_journal(engine, key, 5)
    fill_journal(engine, key, 5)
    rows = journal(engine)
    assert [r.seq for r in rows] == list(range(1, 11))
    assert rows[5].prev_hash == rows[4].hash
    assert verify_journal(engine, key.public_key()).ok


def test_the_journal_refuses_update_and_delete(engine: Engine, key: Ed25519PrivateKey) -> None:
    fill_journal(engine, key, 3)
    for sql in ("UPDATE journal SET payload = 'x' WHERE seq = 1", "DELETE FROM journal"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM journal_checkpoints"))
    assert len(journal(engine)) == 3


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE journal SET payload = payload || 'X' WHERE seq = 7", "row 7 (fix.in"),
        (
            "UPDATE journal SET ts = ts WHERE seq = 7; UPDATE journal SET kind = 'fix.out' WHERE seq = 7",
            "row 7",
        ),
        ("DELETE FROM journal WHERE seq = 7", "rows 7..7 are missing"),
        ("DELETE FROM journal WHERE seq > 20", "checkpoint at seq 24 signs rows"),
    ],
    ids=["altered payload", "altered kind", "deleted row", "deleted tail"],
)
def test_verify_names_the_first_tampered_row(
    engine: Engine, key: Ed25519PrivateKey, sql: str, expected: str
) -> None:
    fill_journal(engine, key, 25)
    for statement in sql.split("; "):
        tamper(engine, statement)
    result = verify_journal(engine, key.public_key())
    assert not result.ok
    assert expected in result.problems[0], result.problems


def test_reordered_rows_are_detected(engine: Engine, key: Ed25519PrivateKey) -> None:
    fill_journal(engine, key, 25)
    rows = journal(engine)
    a, b = rows[9], rows[10]
    tamper(engine, "UPDATE journal SET payload = :p WHERE seq = :s", p=b.payload, s=a.seq)
    tamper(engine, "UPDATE journal SET payload = :p WHERE seq = :s", p=a.payload, s=b.seq)
    result = verify_journal(engine, key.public_key())
    assert result.problems[0].startswith("row 10 ("), result.problems


def test_a_recomputed_chain_is_caught_by_the_signed_checkpoint(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    """Someone alters row 5 and recomputes every hash after it (no secret is needed for
    that): the chain is consistent again, but it no longer matches the signed heads."""
    fill_journal(engine, key, 25)
    rows = journal(engine)
    prev = rows[3].hash
    for r in rows[4:]:
        payload = r.payload + "X" if r.seq == 5 else r.payload
        h = row_hash(prev, r.seq, canonical_ts(r.ts), r.kind, r.session, r.order_id, payload)
        tamper(
            engine,
            "UPDATE journal SET payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s",
            p=payload,
            ph=prev,
            h=h,
            s=r.seq,
        )
        prev = h
    result = verify_journal(engine, key.public_key())
    assert "row 12: the chain differs from the checkpoint signed" in result.problems[0]


def test_an_inserted_row_is_detected(engine: Engine, key: Ed25519PrivateKey) -> None:
    """A row slipped in between two others needs a seq of its own: everything after it is
    renumbered, which breaks the chain at the insertion."""
    fill_journal(engine, key, 12, checkpoint_rows=100)
    tamper(engine, "UPDATE journal SET seq = seq + 1000 WHERE seq >= 6")
    tamper(engine, "UPDATE journal SET seq = seq - 999 WHERE seq >= 1006")
    last = journal(engine)[4]
    tamper(
        engine,
        "INSERT INTO journal (seq, ts, kind, session, order_id, payload, prev_hash, hash) "
        "VALUES (6, :ts, 'fix.in', NULL, NULL, 'forged', :p, :h)",
        ts=last.ts,
        p=last.hash,
        h=row_hash(last.hash or "", 6, canonical_ts(last.ts), "fix.in", None, None, "forged"),
    )
    result = verify_journal(engine, key.public_key())
    assert result.problems[0].startswith("row 7: prev_hash does not match"), result.problems


def test_a_checkpoint_signed_by_another_key_fails(engine: Engine, key: Ed25519PrivateKey) -> None:
    fill_journal(engine, key, 12)
    other = Ed25519PrivateKey.generate()
    result = verify_journal(engine, other.public_key())
    assert not result.ok
    assert all("signature does not verify" in p for p in result.problems)


def test_verify_from_a_later_row(engine: Engine, key: Ed25519PrivateKey) -> None:
    fill_journal(engine, key, 25)
    tamper(engine, "UPDATE journal SET payload = 'x' WHERE seq = 3")
    assert not verify_journal(engine, key.public_key()).ok
    later = verify_journal(engine, key.public_key(), from_seq=10)
    assert later.ok and later.first_seq == 10 and later.rows == 16


def test_the_signing_key_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    private, public = tmp_path / "k" / "audit.pem", tmp_path / "k" / "audit.pub.pem"
    first = load_or_create_signing_key(private, public)
    assert private.stat().st_mode & 0o777 == 0o600
    again = load_or_create_signing_key(private, public)
    assert key_id(first.public_key()) == key_id(again.public_key())
    assert key_id(load_public_key(public)) == key_id(first.public_key())


def test_audit_verify_command(
    db_url: str, engine: Engine, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    fill_journal(engine, key, 25)
    cmd = [
        sys.executable, "-m", "qtinfra.cli", "audit", "verify", "--database-url", db_url,
        "--public-key", str(tmp_path / "audit.pub.pem"), "--quiet",
    ]  # fmt: skip
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "25 rows checked" in ok.stdout and "intact" in ok.stdout
    tamper(engine, "DELETE FROM journal WHERE seq = 13")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "TAMPERED: rows 13..13 are missing (deleted) before row 14" in bad.stdout


def test_checkpoints_re_signed_with_another_key_are_detected(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    """Someone rewrites the journal and signs new checkpoints with a key of their own: the
    checkpoints no longer verify with the gateway's public key."""
    fill_journal(engine, key, 12)
    forger = Ed25519PrivateKey.generate()
    with Session(engine) as session:
        cps = list(session.scalars(select(JournalCheckpointRow)))
    for cp in cps:
        forged = sign_checkpoint(forger, cp.seq, cp.hash, cp.ts)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE journal_checkpoints DISABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS journal_checkpoints_no_update"))
            conn.execute(
                text("UPDATE journal_checkpoints SET signature = :s, key_id = :k WHERE id = :i"),
                {"s": forged.signature, "k": forged.key_id, "i": cp.id},
            )
            if engine.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE journal_checkpoints ENABLE TRIGGER USER"))
    result = verify_journal(engine, key.public_key())
    assert len(result.problems) == len(cps)
    assert result.problems[0].startswith(
        f"checkpoint at seq {cps[0].seq}: the signature does not verify"
    )
    assert verify_journal(engine, forger.public_key()).ok  # only the forger's key accepts it


def test_an_untouched_journal_of_100000_rows_verifies(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    clock = Clock()
    failures: list[BaseException] = []
    writer = JournalWriter(engine, clock, failures.append, key, 10_000)
    for i in range(100_000):
        writer.record_message("fix.out", "FIX.4.4:QTGW->CBOE", f"8=FIX.4.4\x0111=C{i}\x01", clock())
        if i % 1000 == 999:
            writer.write([])
    writer.close()
    assert not failures
    seen: list[int] = []
    result = verify_journal(engine, key.public_key(), progress=seen.append)
    assert result.ok, result.problems
    assert (result.rows, result.last_signed_seq, result.checkpoints) == (100_000, 100_000, 10)
    assert len(seen) == 100_000


def test_a_restarted_writer_refuses_to_sign_over_a_tampered_unsigned_tail(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    fill_journal(engine, key, 12, checkpoint_rows=10)  # checkpoints at 12 (rows) and close
    clock = Clock()
    failures: list[BaseException] = []
    w = JournalWriter(engine, clock, failures.append, None, 10)  # no signing: no close checkpoint
    for i in range(3):
        w.record_message("fix.in", "S", f"tail {i}", clock())
    w.write([])
    tamper(engine, "UPDATE journal SET payload = 'forged' WHERE seq = 14")
    again = JournalWriter(engine, clock, failures.append, key, 10)
    again.record_message("fix.in", "S", "next", clock())
    again.write([])
    assert failures and "unsigned tail is broken at row 14" in str(failures[0])
    assert [r.seq for r in journal(engine)][-1] == 15  # nothing was appended


def test_truncate_is_refused_on_postgresql(pg_url: str, key: Ed25519PrivateKey) -> None:
    """SQLite has no TRUNCATE (its DELETE is refused, tested above)."""
    engine = make_engine(pg_url)
    try:
        migrate(engine)
        fill_journal(engine, key, 3)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE journal"))
    finally:
        engine.dispose()


def test_a_lost_signing_key_is_not_silently_replaced(tmp_path: Path) -> None:
    private, public = tmp_path / "audit.pem", tmp_path / "audit.pub.pem"
    load_or_create_signing_key(private, public)
    private.unlink()
    with pytest.raises(ConfigError, match="restore the key from backup"):
        load_or_create_signing_key(private, public)


def test_verify_accepts_every_key_the_journal_was_signed_with(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    fill_journal(engine, key, 5)
    newer = Ed25519PrivateKey.generate()
    fill_journal(engine, newer, 5)
    assert not verify_journal(engine, key.public_key()).ok
    assert verify_journal(engine, [key.public_key(), newer.public_key()]).ok
