"""Forgetting a customer: their name, phone and e-mail leave our tables.

Appointments stay (times, service, status, Cal.com booking uids: the salon's books and
the claims that keep stylists from being double-booked need them); their customer fields
are cleared. Rows are found by phone number, compared as numbers (``domain.phones``).
Running it again finds nothing and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.phones import national_digits, to_e164
from store.models import appointment_segments, appointments

FORGOTTEN_NAME = "[forgotten]"
# Every column of our tables that can hold a customer's personal data. claims,
# appointment_segments and outside_bookings hold none (ids, times, resources, status).
# caller_phone (the number a booking call came from) and customer_addressed ("Frau
# Pfefferkorn") came with recognising callers (migration 0003).
PERSONAL_COLUMNS = (
    "customer_name",
    "customer_phone",
    "customer_email",
    "customer_addressed",
    "caller_phone",
)
PHONE_COLUMNS = ("customer_phone", "caller_phone")


@dataclass(frozen=True)
class ForgottenAppointment:
    """One appointment whose customer data was cleared (nothing of that data in here)."""

    appointment_id: str
    call_id: str
    service: str
    start: datetime
    status: str
    cleared: tuple[str, ...]
    calcom_booking_uids: tuple[str, ...]


async def forget_phone(
    engine: AsyncEngine, phone: str, *, region: str | None
) -> list[ForgottenAppointment]:
    """Clear name, phone and e-mail of every appointment booked under ``phone`` (or by a
    call from it).

    Args:
        engine: the store.
        phone: the customer's number in any format.
        region: country for national numbers, stored or given (``DE``).

    Returns:
        What was changed, one entry per appointment; empty when nothing is stored (so a
        second run returns an empty list).

    Raises:
        ValueError: ``phone`` is not a phone number.
    """
    wanted = to_e164(phone, region)
    if wanted is None:
        raise ValueError("not a phone number")
    tail = f"%{national_digits(wanted)}"
    async with engine.begin() as conn:
        candidates = await conn.execute(
            select(appointments)
            .where(
                or_(
                    *(
                        func.regexp_replace(appointments.c[c], "[^0-9]", "", "g").like(tail)
                        for c in PHONE_COLUMNS
                    )
                )
            )
            .order_by(appointments.c.start_at)
            .with_for_update()
        )
        matches = [
            r
            for r in candidates
            if any(to_e164(getattr(r, c), region) == wanted for c in PHONE_COLUMNS)
        ]
        if not matches:
            return []
        ids = [r.id for r in matches]
        await conn.execute(
            update(appointments)
            .where(appointments.c.id.in_(ids))
            .values(
                customer_name=FORGOTTEN_NAME,
                customer_phone=None,
                customer_email=None,
                customer_addressed=None,
                caller_phone=None,
            )
        )
        uids: dict[str, list[str]] = {}
        for seg in await conn.execute(
            select(appointment_segments.c.appointment_id, appointment_segments.c.calcom_booking_uid)
            .where(
                appointment_segments.c.appointment_id.in_(ids),
                appointment_segments.c.calcom_booking_uid.is_not(None),
            )
            .order_by(appointment_segments.c.appointment_id, appointment_segments.c.key)
        ):
            uids.setdefault(seg.appointment_id, []).append(seg.calcom_booking_uid)
    return [
        ForgottenAppointment(
            appointment_id=r.id,
            call_id=r.call_id,
            service=r.service,
            start=r.start_at,
            status=r.status,
            cleared=tuple(
                column
                for column in PERSONAL_COLUMNS
                if getattr(r, column) not in (None, "", FORGOTTEN_NAME)
            ),
            calcom_booking_uids=tuple(uids.get(r.id, ())),
        )
        for r in matches
    ]
