"""The shared Cal.com request budget: one row per API key hash (store/rate_budget.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calcom_rate_budget",
        sa.Column("key_hash", sa.Text, primary_key=True),
        # The token bucket's theoretical arrival time, unix seconds (0: full).
        sa.Column("tat", sa.Float(precision=53), nullable=False, server_default="0"),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )


def downgrade() -> None:
    op.drop_table("calcom_rate_budget")
