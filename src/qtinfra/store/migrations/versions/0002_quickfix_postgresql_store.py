"""QuickFIX's PostgreSQL message store tables (PostgreSQL only)

The gateway's `message_store = "postgresql"` setting keeps QuickFIX's session state
(sequence numbers, messages kept for resend) in the same database, so a standby instance
can take a session over with its sequence numbers intact. The DDL is QuickFIX's own
(src/sql/postgresql/sessions_table.sql and messages_table.sql).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from qtinfra.store.quickfix_sql import QUICKFIX_POSTGRESQL_TABLES

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(QUICKFIX_POSTGRESQL_TABLES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS messages; DROP TABLE IF EXISTS sessions;")
