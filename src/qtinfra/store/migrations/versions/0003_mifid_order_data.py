"""MiFID II order data on client orders; journal index by kind

Each client order keeps the MiFID II data it was accepted with (RTS 22/24): investment
decision maker and executing trader or algorithm (Parties, PartyRole 122 and 12: PartyID,
PartyIDSource, PartyRoleQualifier), trading capacity (OrderCapacity 528) and the venue a
directed order names (ExDestination 100). The journal gets an index on kind, for reading
back operator events (trading states) at start and for the audit tools.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("decision_maker_id", sa.String(64)),
    ("decision_maker_source", sa.String(4)),
    ("decision_maker_qualifier", sa.Integer()),
    ("executing_trader_id", sa.String(64)),
    ("executing_trader_source", sa.String(4)),
    ("executing_trader_qualifier", sa.Integer()),
    ("order_capacity", sa.String(1)),
    ("ex_destination", sa.String(4)),
)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_journal_kind", "journal", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_journal_kind", table_name="journal")
    with op.batch_alter_table("orders") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
