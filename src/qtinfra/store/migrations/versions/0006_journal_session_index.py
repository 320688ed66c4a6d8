"""Journal index by session and kind

At start the gateway reads each session's latest inbound messages (the last MsgSeqNum the
journal holds, store/repository.last_inbound_seq) and, for outbound recovery, its latest
released events: an index on (session, kind, seq) answers both without scanning the
journal.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_journal_session_kind_seq", "journal", ["session", "kind", "seq"])


def downgrade() -> None:
    op.drop_index("ix_journal_session_kind_seq", table_name="journal")
