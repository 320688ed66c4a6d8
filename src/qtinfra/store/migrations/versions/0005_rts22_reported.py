"""RTS 22: what was reported

`rts22_reported` records every record the gateway put in an RTS 22 transaction report
file: the transaction reference number (TxId), the trading day of the file, the SHA-256 of
the canonical New record (for a CANC, of the New it withdraws), the file, when, and the
report status (NEWT, CANC). Regenerating a day compares against the latest row of each
TxId: a changed transaction is cancelled and reported anew, one that no longer exists is
cancelled, an unchanged one is left alone. qtinfra only ever appends to it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qtinfra.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rts22_reported",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("tx_id", sa.String(52), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(128), nullable=False),
        sa.Column("reported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(4), nullable=False),
        sa.CheckConstraint("status IN ('NEWT', 'CANC')", name="ck_rts22_reported_status"),
    )
    op.create_index("ix_rts22_reported_tx_id", "rts22_reported", ["tx_id"])
    op.create_index("ix_rts22_reported_trading_day", "rts22_reported", ["trading_day"])


def downgrade() -> None:
    op.drop_index("ix_rts22_reported_trading_day", table_name="rts22_reported")
    op.drop_index("ix_rts22_reported_tx_id", table_name="rts22_reported")
    op.drop_table("rts22_reported")
