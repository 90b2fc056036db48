"""Claims with an exclusion constraint, appointments, outside bookings.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # btree_gist lets one GiST index mix "resource =" with "time range &&".
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "claims",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("hold_id", sa.Text, nullable=False),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("segment_key", sa.Text, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("calcom_event_type_id", sa.Integer),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("calcom_reservation_uid", sa.Text),
        sa.Column("calcom_booking_uid", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("hold_id", "segment_key", name="claims_hold_segment_key"),
        sa.CheckConstraint("end_at > start_at", name="claims_positive_length"),
        sa.CheckConstraint(
            "status IN ('held', 'booked', 'released', 'expired')", name="claims_status_known"
        ),
        sa.CheckConstraint(
            "status <> 'held' OR expires_at IS NOT NULL", name="claims_held_expires"
        ),
    )
    # The arbiter: no two active claims on one resource may overlap ([start, end)).
    op.execute(
        """
        ALTER TABLE claims ADD CONSTRAINT claims_no_overlap
        EXCLUDE USING gist (
            resource WITH =,
            tstzrange(start_at, end_at, '[)') WITH &&
        ) WHERE (status IN ('held', 'booked'))
        """
    )
    op.create_index("claims_call_id", "claims", ["call_id"])
    op.create_index("claims_hold_id", "claims", ["hold_id"])
    op.create_index(
        "claims_held_expiry",
        "claims",
        ["resource", "expires_at"],
        postgresql_where=sa.text("status = 'held'"),
    )

    op.create_table(
        "appointments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("hold_id", sa.Text),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="booked"),
        sa.Column("customer_name", sa.Text, nullable=False),
        sa.Column("customer_phone", sa.Text),
        sa.Column("customer_email", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("cancelled_at", TS),
        sa.CheckConstraint("status IN ('booked', 'cancelled')", name="appointments_status"),
    )
    op.create_index("appointments_call_id", "appointments", ["call_id"])
    op.create_table(
        "appointment_segments",
        sa.Column(
            "appointment_id",
            sa.Text,
            sa.ForeignKey("appointments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("staff", sa.Boolean, nullable=False),
        sa.Column("resource", sa.Text),
        sa.Column("calcom_booking_uid", sa.Text),
    )
    op.create_table(
        "outside_bookings",
        sa.Column("calcom_uid", sa.Text, primary_key=True),
        sa.Column("event_type_id", sa.Integer),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="accepted"),
        sa.Column("received_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('accepted', 'cancelled')", name="outside_status"),
    )
    op.create_index("outside_bookings_resource", "outside_bookings", ["resource", "start_at"])


def downgrade() -> None:
    op.drop_table("outside_bookings")
    op.drop_table("appointment_segments")
    op.drop_table("appointments")
    op.drop_table("claims")
    # btree_gist stays: other schemas in the database may use it.
