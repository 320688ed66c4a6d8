"""Hash-chained journal, signed checkpoints, append-only enforcement

Every journal row carries `hash` = SHA-256 over the previous row's hash and the row's
canonical content (store/chain.py), and `prev_hash`, the previous row's hash, written in
the same transaction as the row. `journal_checkpoints` holds Ed25519 signatures of the
chain head. Rows written before this migration are chained by it, in seq order, so the
whole journal verifies. On PostgreSQL and SQLite, triggers refuse UPDATE and DELETE on the
journal and on the checkpoints (append-only).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qtinfra.store.chain import GENESIS, canonical_ts, row_hash
from qtinfra.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("journal", "journal_checkpoints")


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "journal_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    _chain_existing_rows()
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION qtinfra_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'qtinfra: % is append-only (% refused)', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION qtinfra_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION qtinfra_append_only()"
            )
    elif bind.dialect.name == "sqlite":
        for table in _TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'qtinfra: {table} is append-only'); END"
                )


def _chain_existing_rows() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT seq, ts, kind, session, order_id, payload FROM journal ORDER BY seq")
    ).all()
    prev = GENESIS
    for r in rows:
        h = row_hash(prev, r.seq, canonical_ts(r.ts), r.kind, r.session, r.order_id, r.payload)
        bind.execute(
            sa.text("UPDATE journal SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": prev, "h": h, "s": r.seq},
        )
        prev = h


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS qtinfra_append_only()")
    elif bind.dialect.name == "sqlite":
        for table in _TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    op.drop_table("journal_checkpoints")
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
