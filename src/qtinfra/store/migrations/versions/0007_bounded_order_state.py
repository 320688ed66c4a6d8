"""Bounded order state: indexes for reading orders back by when they last changed and
ClOrdIDs by their order

The gateway holds open orders and only the most recently done ones in memory; at start it
loads the orders done since the start of the UTC day (`ix_orders_updated_at`), and the
ClOrdIDs of the orders it loaded (`ix_cl_ord_ids_order_id`). Older orders are read back one
at a time when a client names one.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])
    op.create_index("ix_cl_ord_ids_order_id", "cl_ord_ids", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_cl_ord_ids_order_id", table_name="cl_ord_ids")
    op.drop_index("ix_orders_updated_at", table_name="orders")
