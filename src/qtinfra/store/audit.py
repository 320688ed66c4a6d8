"""The audit trail's keys, checkpoints and verification.

The gateway signs the head of the journal's hash chain (store/chain.py) with an Ed25519
key: every `checkpoint_rows` rows, every `checkpoint_minutes`, and at shutdown. The key is
created on first run, readable by its owner only; its public half is exported for
compliance. `verify_journal` re-walks the chain and the checkpoints, streaming, and names
the first row that was altered, deleted, inserted or reordered, or a checkpoint whose
signature fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from qtinfra.errors import ConfigError
from qtinfra.store.chain import GENESIS, canonical_ts, checkpoint_message, row_hash
from qtinfra.store.models import JournalCheckpointRow, JournalRow

# -- keys ------------------------------------------------------------------------------------


def load_or_create_signing_key(private_path: Path, public_path: Path) -> Ed25519PrivateKey:
    """The checkpoint signing key from private_path (PEM, PKCS#8), created on first run
    with owner-only permissions; the public key is (re)written to public_path."""
    if private_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{private_path} does not hold an Ed25519 private key")
    elif public_path.exists():
        raise ConfigError(
            f"the audit signing key {private_path} is missing but its public key {public_path} "
            "exists: restore the key from backup, or move the public key aside (keeping it to "
            "verify the journal signed so far) to start a new key"
        )
    else:
        private_path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        public_path.parent.mkdir(parents=True, exist_ok=True)
        public_path.write_bytes(public_pem)
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    ts: datetime
    key_id: str
    signature: str


def sign_checkpoint(key: Ed25519PrivateKey, seq: int, head: str, ts: datetime) -> Checkpoint:
    signature = key.sign(checkpoint_message(seq, head, canonical_ts(ts)))
    return Checkpoint(seq, head, ts, key_id(key.public_key()), signature.hex())


# -- verification ----------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """What a walk of the chain found. ok: nothing was tampered with."""

    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    last_signed_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsigned_tail(self) -> int:
        """Rows after the last signed checkpoint (chained, not yet signed)."""
        if self.last_seq is None:
            return 0
        if self.last_signed_seq is None:
            return self.rows
        return max(0, self.last_seq - self.last_signed_seq)


def _rows(engine: Engine, from_seq: int, batch: int = 5000) -> Iterator[JournalRow]:
    """Journal rows from from_seq in seq order, in bounded memory (keyset pages)."""
    after = from_seq - 1
    while True:
        with engine.connect() as conn:
            page = conn.execute(
                select(
                    JournalRow.seq,
                    JournalRow.ts,
                    JournalRow.kind,
                    JournalRow.session,
                    JournalRow.order_id,
                    JournalRow.payload,
                    JournalRow.prev_hash,
                    JournalRow.hash,
                )
                .where(JournalRow.seq > after)
                .order_by(JournalRow.seq)
                .limit(batch)
            ).all()
        if not page:
            return
        yield from page  # type: ignore[misc]
        after = page[-1].seq


def verify_journal(
    engine: Engine,
    public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    from_seq: int = 1,
    progress: Callable[[int], object] | None = None,
) -> VerifyResult:
    """Re-walk the hash chain from from_seq and check every signed checkpoint. Only the
    first break of the chain is reported (everything after it follows from it); every bad
    checkpoint signature is. Several public keys: each checkpoint must verify with the key
    its key id names (after a key was replaced)."""
    result = VerifyResult()
    keys = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    by_id = {key_id(k): k for k in keys}
    expected_key = ", ".join(by_id)
    with Session(engine) as session:
        checkpoints = {
            cp.seq: cp
            for cp in session.scalars(
                select(JournalCheckpointRow).order_by(JournalCheckpointRow.id)
            ).all()
        }
    bad: set[int] = set()
    for cp in checkpoints.values():
        try:
            signer = by_id.get(cp.key_id)
            if signer is None:
                raise InvalidSignature
            signer.verify(
                bytes.fromhex(cp.signature),
                checkpoint_message(cp.seq, cp.hash, canonical_ts(cp.ts)),
            )
        except (InvalidSignature, ValueError):
            bad.add(cp.seq)
            result.problems.append(
                f"checkpoint at seq {cp.seq}: the signature does not verify with the public "
                f"key (key id {expected_key}; the checkpoint names {cp.key_id})"
            )
    valid_checkpoints = {seq: cp for seq, cp in checkpoints.items() if seq not in bad}
    result.checkpoints = len(checkpoints)
    prev: str | None = None
    expected_seq = from_seq
    broken = False
    for row in _rows(engine, from_seq):
        result.rows += 1
        if result.first_seq is None:
            result.first_seq = row.seq
            prev = GENESIS if row.seq == 1 else row.prev_hash
            if row.seq != from_seq and from_seq > 1 and not broken:
                result.problems.append(
                    f"row {from_seq} is missing (deleted?): the journal continues at {row.seq}"
                )
                broken = True
        result.last_seq = row.seq
        if progress is not None:
            progress(row.seq)
        if broken:
            continue
        if row.seq != expected_seq:
            result.problems.append(
                f"rows {expected_seq}..{row.seq - 1} are missing (deleted) before row {row.seq}"
            )
            broken = True
            continue
        expected_seq += 1
        if row.prev_hash != prev:
            result.problems.append(
                f"row {row.seq}: prev_hash does not match row {row.seq - 1}'s hash (a row "
                "before it was altered, inserted, removed or reordered)"
            )
            broken = True
            continue
        assert prev is not None
        computed = row_hash(
            prev, row.seq, canonical_ts(row.ts), row.kind, row.session, row.order_id, row.payload
        )
        if computed != row.hash:
            result.problems.append(
                f"row {row.seq} ({row.kind}, {canonical_ts(row.ts)}): its content does not match "
                "its hash (altered)"
            )
            broken = True
            continue
        prev = computed
        signed = valid_checkpoints.get(row.seq)
        if signed is not None:
            if signed.hash != computed:
                result.problems.append(
                    f"row {row.seq}: the chain differs from the checkpoint signed at "
                    f"{canonical_ts(signed.ts)} (the journal up to it was rewritten)"
                )
                broken = True
                continue
            result.last_signed_seq = row.seq
    last = result.last_seq or 0
    for seq in sorted(valid_checkpoints):
        if seq > last and (result.rows or from_seq == 1):
            result.problems.append(
                f"checkpoint at seq {seq} signs rows the journal no longer has (it ends at "
                f"{last}: rows were deleted from the end)"
            )
            break
    if result.rows == 0 and from_seq > 1:
        result.problems.append(f"the journal has no row at or after seq {from_seq}")
    return result


def journal_size(engine: Engine, from_seq: int = 1) -> int:
    """Rows at or after from_seq, for the progress bar."""
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).where(JournalRow.seq >= from_seq)).scalar()
    return int(count or 0)
