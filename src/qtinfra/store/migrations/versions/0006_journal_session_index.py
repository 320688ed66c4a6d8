"""Exactly once across a crash: a journal index by session and kind, and the release mark

At start the gateway reads each session's latest inbound messages (the last MsgSeqNum the
journal holds, store/repository.last_inbound_seq): an index on (session, kind, seq) answers
without scanning the journal. `journal_release` holds one row: the seq of the last journal
row whose events were handed to QuickFIX; events after it that QuickFIX's store does not
hold were committed but never sent, and are sent at the next logon. It starts at the
journal's head: everything journaled before this migration counts as released.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_journal_session_kind_seq", "journal", ["session", "kind", "seq"])
    op.create_table(
        "journal_release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO journal_release (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM journal")


def downgrade() -> None:
    op.drop_table("journal_release")
    op.drop_index("ix_journal_session_kind_seq", table_name="journal")
