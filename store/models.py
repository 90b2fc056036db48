"""Table definitions (SQLAlchemy Core). The schema itself is created by the Alembic
migrations in ``store/migrations``; these objects are what queries are written against."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)

metadata = MetaData()

# Claim statuses. "held" and "booked" are active (guarded by the exclusion constraint);
# a held claim whose expires_at has passed blocks nobody and is swept to "expired".
HELD, BOOKED, RELEASED, EXPIRED = "held", "booked", "released", "expired"
ACTIVE_STATUSES = (HELD, BOOKED)
# Appointment statuses: "booked" is live; a moved one was replaced by ``moved_to``.
APPOINTMENT_BOOKED, APPOINTMENT_CANCELLED, APPOINTMENT_MOVED = "booked", "cancelled", "moved"

claims = Table(
    "claims",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("hold_id", Text, nullable=False),
    Column("call_id", Text, nullable=False),
    Column("segment_key", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("calcom_event_type_id", Integer),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("calcom_reservation_uid", Text),
    Column("calcom_booking_uid", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Text, primary_key=True),
    Column("call_id", Text, nullable=False),
    Column("hold_id", Text),
    Column("service", Text, nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="booked"),
    Column("customer_name", Text, nullable=False),
    Column("customer_phone", Text),
    Column("customer_email", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("cancelled_at", DateTime(timezone=True)),
    # From migration 0003: recognising callers and changing appointments.
    Column("caller_phone", Text),  # the booking call's number (E.164)
    Column("customer_addressed", Text),  # "Frau Dr. Weiß": how the agent greets them
    Column("cancelled_by", Text),  # "caller" or "calcom"
    Column("moved_to", Text),  # the appointment that replaced this one
    Column("rescheduled_at", DateTime(timezone=True)),  # moved in Cal.com itself
    Column("locked_by", Text),  # the workflow changing it now (store/appointments.py)
    Column("locked_at", DateTime(timezone=True)),
    Column("stylist", Text),  # catalog key of the stylist (migration 0002_stylist)
)

appointment_segments = Table(
    "appointment_segments",
    metadata,
    Column(
        "appointment_id",
        Text,
        ForeignKey("appointments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", Text, primary_key=True),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("staff", Boolean, nullable=False),
    Column("resource", Text),
    Column("calcom_booking_uid", Text),
)

outside_bookings = Table(
    "outside_bookings",
    metadata,
    Column("calcom_uid", Text, primary_key=True),
    Column("event_type_id", Integer),
    Column("resource", Text, nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="accepted"),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
