"""RTS 22: what the authority said

`rts22_feedback` holds the statuses an authority's feedback file (auth.031.001.01 status
advice) gives: one row per transaction it names (TxId, ACPT, RJCT, PDNG, WARN...) and one
per file (tx_id NULL), with the validation rules it cites (JSON: id and description), the
file of ours it is about, the feedback file's name and when it was read. A TxId whose NEWT
was rejected is reported again as NEWT (never cancelled: the authority does not hold it).
qtinfra only ever appends to it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qtinfra.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rts22_feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("tx_id", sa.String(52), nullable=True),
        sa.Column("file_name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("feedback_file", sa.String(255), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rts22_feedback_tx_id", "rts22_feedback", ["tx_id"])
    op.create_index("ix_rts22_feedback_file_name", "rts22_feedback", ["file_name"])


def downgrade() -> None:
    op.drop_index("ix_rts22_feedback_file_name", table_name="rts22_feedback")
    op.drop_index("ix_rts22_feedback_tx_id", table_name="rts22_feedback")
    op.drop_table("rts22_feedback")
