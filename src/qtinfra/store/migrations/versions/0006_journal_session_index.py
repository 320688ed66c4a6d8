"""Exactly once across a crash: a journal index by session and kind, and the release mark

`session_progress` holds, per FIX session, QuickFIX's next expected inbound MsgSeqNum as of
the last group commit: at start a session whose store is ahead of it (the process died
between QuickFIX consuming a message and the commit) is set back, so the counterparty is
asked for the lost messages again. An index on journal (session, kind, seq) serves the
audit tools' per-session reads. `journal_release` holds one row: the seq of the last journal
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
        "session_progress",
        sa.Column("session", sa.String(200), primary_key=True),
        sa.Column("next_in", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "journal_release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO journal_release (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM journal")


def downgrade() -> None:
    op.drop_table("journal_release")
    op.drop_table("session_progress")
    op.drop_index("ix_journal_session_kind_seq", table_name="journal")
