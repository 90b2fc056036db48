"""Appointments remember their stylist.

Revision ID: 0002_stylist
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_stylist"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The catalog key of the stylist every staffed segment is with (their resource);
    # NULL for appointments recorded before stylists existed.
    op.add_column("appointments", sa.Column("stylist", sa.Text))
    op.create_index("appointments_stylist", "appointments", ["stylist", "start_at"])


def downgrade() -> None:
    op.drop_index("appointments_stylist", "appointments")
    op.drop_column("appointments", "stylist")
