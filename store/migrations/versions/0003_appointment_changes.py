"""Existing appointments: find them by phone, cancel and move them one change at a time.

Revision ID: 0003
Revises: 0002_stylist
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002_stylist"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_constraint("appointments_status", "appointments", type_="check")
    op.create_check_constraint(
        "appointments_status", "appointments", "status IN ('booked', 'cancelled', 'moved')"
    )
    # The number the booking call came from (E.164): a caller is recognised by it even
    # when the appointment was booked with another callback number.
    op.add_column("appointments", sa.Column("caller_phone", sa.Text))
    # How the agent addressed the customer ("Frau Dr. Weiß"), to greet them again.
    op.add_column("appointments", sa.Column("customer_addressed", sa.Text))
    op.add_column("appointments", sa.Column("cancelled_by", sa.Text))
    op.add_column("appointments", sa.Column("moved_to", sa.Text))
    op.add_column("appointments", sa.Column("rescheduled_at", TS))
    # The workflow changing the appointment right now (see store/appointments.py).
    op.add_column("appointments", sa.Column("locked_by", sa.Text))
    op.add_column("appointments", sa.Column("locked_at", TS))
    op.create_check_constraint(
        "appointments_cancelled_by",
        "appointments",
        "cancelled_by IS NULL OR cancelled_by IN ('caller', 'calcom')",
    )
    op.create_index("appointments_customer_phone", "appointments", ["customer_phone", "start_at"])
    op.create_index("appointments_caller_phone", "appointments", ["caller_phone", "start_at"])
    op.create_index(
        "appointment_segments_booking_uid", "appointment_segments", ["calcom_booking_uid"]
    )


def downgrade() -> None:
    op.drop_index("appointment_segments_booking_uid", "appointment_segments")
    op.drop_index("appointments_caller_phone", "appointments")
    op.drop_index("appointments_customer_phone", "appointments")
    op.drop_constraint("appointments_cancelled_by", "appointments", type_="check")
    for column in (
        "locked_at",
        "locked_by",
        "rescheduled_at",
        "moved_to",
        "cancelled_by",
        "customer_addressed",
        "caller_phone",
    ):
        op.drop_column("appointments", column)
    op.execute("UPDATE appointments SET status = 'cancelled' WHERE status = 'moved'")
    op.drop_constraint("appointments_status", "appointments", type_="check")
    op.create_check_constraint(
        "appointments_status", "appointments", "status IN ('booked', 'cancelled')"
    )
