"""Appointments: record them, find them for a caller, and change them one change at a
time.

Recording is one insert of the appointment and its segments (:func:`insert_appointment`,
also run by :func:`store.holds.finalize_booking` in the transaction that books the hold's
claims).

Changing an appointment (cancel it, move it, reflect a change made in Cal.com) takes
several steps with Cal.com calls in between, so it cannot run inside one transaction.
Instead a change is *begun* in one transaction that locks the appointment's row
(``SELECT ... FOR UPDATE``), checks that the change may start (booked, not too late,
nobody else changing it) and records which workflow owns the change (``locked_by``);
the same workflow *finishes* (or aborts) it in a later transaction, which clears the
lock. Temporal runs that workflow to its end (a crash resumes it), so the lock is always
released; meanwhile every other change of the appointment is answered ``busy`` and tries
again. ``docs/architecture.md`` says why this, and not a workflow per appointment.

Phone numbers are compared as stored: E.164, as the API and the workflow write them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.db import rows_by_start
from store.models import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_MOVED,
    BOOKED,
    RELEASED,
    appointment_segments,
    appointments,
    claims,
)

BeginOutcome = Literal["begun", "not_found", "cancelled", "moved", "too_late", "busy"]
ReflectOutcome = Literal["unknown", "ignored", "busy", "reflected"]


@dataclass(frozen=True)
class StoredSegment:
    """One segment of an appointment, as recorded or to record (``resource`` and
    ``calcom_booking_uid``: staffed segments only)."""

    key: str
    start: datetime
    end: datetime
    staff: bool
    resource: str | None = None
    calcom_booking_uid: str | None = None


@dataclass(frozen=True)
class StoredAppointment:
    """An appointment as recorded, with its segments in time order."""

    id: str
    call_id: str
    hold_id: str | None
    service: str
    start: datetime
    end: datetime
    status: str
    customer_name: str
    customer_addressed: str | None
    customer_phone: str | None
    customer_email: str | None
    caller_phone: str | None
    created_at: datetime
    moved_to: str | None
    cancelled_by: str | None
    locked_by: str | None
    segments: tuple[StoredSegment, ...] = ()
    stylist: str | None = None  # catalog key (None: booked before stylists existed)


@dataclass(frozen=True)
class Begun:
    """What beginning a change came to; ``appointment`` is the row as locked."""

    outcome: BeginOutcome
    appointment: StoredAppointment | None = None


@dataclass(frozen=True)
class Reflected:
    """What reflecting a Cal.com reschedule came to."""

    outcome: ReflectOutcome
    appointment_id: str | None = None
    resource: str | None = None


@dataclass(frozen=True)
class AppointmentRecord:
    """An appointment to record, as the booking made it."""

    id: str
    call_id: str
    service: str
    start: datetime
    end: datetime
    customer_name: str
    hold_id: str | None = None
    customer_phone: str | None = None
    customer_email: str | None = None
    stylist: str | None = None  # the stylist's catalog key
    segments: list[StoredSegment] = field(default_factory=list)
    caller_phone: str | None = None  # the number the booking call came from (E.164)
    customer_addressed: str | None = None  # "Frau Dr. Weiß"


def _appointment(row: Row, segments: Sequence[Row]) -> StoredAppointment:  # type: ignore[type-arg]
    return StoredAppointment(
        id=row.id,
        call_id=row.call_id,
        hold_id=row.hold_id,
        service=row.service,
        start=row.start_at,
        end=row.end_at,
        status=row.status,
        customer_name=row.customer_name,
        customer_addressed=row.customer_addressed,
        customer_phone=row.customer_phone,
        customer_email=row.customer_email,
        caller_phone=row.caller_phone,
        created_at=row.created_at,
        moved_to=row.moved_to,
        cancelled_by=row.cancelled_by,
        locked_by=row.locked_by,
        stylist=row.stylist,
        segments=tuple(
            StoredSegment(
                key=s.key,
                start=s.start_at,
                end=s.end_at,
                staff=s.staff,
                resource=s.resource,
                calcom_booking_uid=s.calcom_booking_uid,
            )
            for s in segments
        ),
    )


async def _with_segments(conn: AsyncConnection, rows: Sequence[Row]) -> list[StoredAppointment]:  # type: ignore[type-arg]
    if not rows:
        return []
    segs = await conn.execute(
        select(appointment_segments)
        .where(appointment_segments.c.appointment_id.in_([r.id for r in rows]))
        .order_by(appointment_segments.c.start_at, appointment_segments.c.key)
    )
    by_id: dict[str, list[Row]] = {}  # type: ignore[type-arg]
    for s in segs:
        by_id.setdefault(s.appointment_id, []).append(s)
    return [_appointment(r, by_id.get(r.id, [])) for r in rows]


def _of_phone(phone: str):  # type: ignore[no-untyped-def]
    return or_(appointments.c.customer_phone == phone, appointments.c.caller_phone == phone)


async def record_appointment(engine: AsyncEngine, *, appointment: AppointmentRecord) -> bool:
    """Insert the appointment and its segments; False if it was already recorded."""
    async with engine.begin() as conn:
        return await insert_appointment(conn, appointment)


async def insert_appointment(conn: AsyncConnection, a: AppointmentRecord) -> bool:
    """Insert the appointment and its segments on ``conn`` (the caller's transaction);
    False if it was already recorded."""
    result = await conn.execute(
        pg_insert(appointments)
        .values(
            id=a.id,
            call_id=a.call_id,
            hold_id=a.hold_id,
            service=a.service,
            start_at=a.start,
            end_at=a.end,
            customer_name=a.customer_name,
            customer_phone=a.customer_phone,
            customer_email=a.customer_email,
            caller_phone=a.caller_phone,
            customer_addressed=a.customer_addressed,
            stylist=a.stylist,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(appointments.c.id)
    )
    if result.first() is None:
        return False
    if a.segments:
        await conn.execute(
            insert(appointment_segments),
            [
                {
                    "appointment_id": a.id,
                    "key": s.key,
                    "start_at": s.start,
                    "end_at": s.end,
                    "staff": s.staff,
                    "resource": s.resource,
                    "calcom_booking_uid": s.calcom_booking_uid,
                }
                for s in a.segments
            ],
        )
    return True


async def get_appointment(engine: AsyncEngine, appointment_id: str) -> dict[str, Any] | None:
    """The appointment's row with its segments' rows (``segments``), as dicts; or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(appointments).where(appointments.c.id == appointment_id))
        ).first()
        if row is None:
            return None
        segs = await conn.execute(
            select(appointment_segments)
            .where(appointment_segments.c.appointment_id == appointment_id)
            .order_by(appointment_segments.c.start_at)
        )
        return {**row._asdict(), "segments": [s._asdict() for s in segs]}


async def list_appointments(
    engine: AsyncEngine, *, call_id: str | None = None
) -> list[dict[str, Any]]:
    """Every appointment's row (of the call ``call_id``, if given) in time order."""
    return await rows_by_start(engine, appointments, call_id=call_id)


async def get(engine: AsyncEngine, appointment_id: str) -> StoredAppointment | None:
    """One appointment with its segments, or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(appointments).where(appointments.c.id == appointment_id))
        ).first()
        found = await _with_segments(conn, [row] if row is not None else [])
    return found[0] if found else None


async def upcoming(
    engine: AsyncEngine,
    *,
    now: datetime,
    phone: str | None = None,
    name: str | None = None,
    day: tuple[datetime, datetime] | None = None,
) -> list[StoredAppointment]:
    """Booked appointments starting after ``now``: those of ``phone`` (booked with it or
    from it), and, only when both ``name`` and ``day`` are given, those within ``day``
    booked under exactly that name (compared case-insensitively). Nothing else: there is
    no listing by name alone.

    Args:
        now: The current moment; earlier appointments are not upcoming.
        phone: The caller's number in E.164, or None.
        name: The customer name as understood, or None.
        day: The salon day ``[start, end)`` the caller named, as UTC instants.

    Returns:
        The appointments in time order, each once.
    """
    conditions = []
    if phone:
        conditions.append(_of_phone(phone))
    if name and day is not None:
        conditions.append(
            (func.lower(appointments.c.customer_name) == name.strip().lower())
            & (appointments.c.start_at >= day[0])
            & (appointments.c.start_at < day[1])
        )
    if not conditions:
        return []
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(appointments)
                .where(
                    appointments.c.status == APPOINTMENT_BOOKED,
                    appointments.c.start_at > now,
                    or_(*conditions),
                )
                .order_by(appointments.c.start_at, appointments.c.id)
            )
        ).all()
        found = await _with_segments(conn, rows)
    if name is None:
        return found
    # SQL lower() and Python disagree on a few letters (ß): the name must match exactly.
    wanted = name.strip().casefold()
    return [
        a
        for a in found
        if (phone and phone in (a.customer_phone, a.caller_phone))
        or a.customer_name.strip().casefold() == wanted
    ]


async def last_booked_under(engine: AsyncEngine, phone: str) -> StoredAppointment | None:
    """The most recently made appointment of ``phone`` (any status), or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(appointments)
                .where(_of_phone(phone))
                .order_by(appointments.c.created_at.desc(), appointments.c.id.desc())
                .limit(1)
            )
        ).first()
        found = await _with_segments(conn, [row] if row is not None else [])
    return found[0] if found else None


async def appointment_of_booking(engine: AsyncEngine, calcom_uid: str) -> str | None:
    """The appointment one of whose segments is the Cal.com booking ``calcom_uid``."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(appointment_segments.c.appointment_id).where(
                    appointment_segments.c.calcom_booking_uid == calcom_uid
                )
            )
        ).first()
    return row.appointment_id if row is not None else None


async def _locked(conn: AsyncConnection, appointment_id: str) -> StoredAppointment | None:
    row = (
        await conn.execute(
            select(appointments).where(appointments.c.id == appointment_id).with_for_update()
        )
    ).first()
    found = await _with_segments(conn, [row] if row is not None else [])
    return found[0] if found else None


async def begin_change(
    engine: AsyncEngine,
    *,
    appointment_id: str,
    owner: str,
    now: datetime,
    notice: timedelta | None,
) -> Begun:
    """Begin a change of the appointment owned by the workflow ``owner``.

    Args:
        appointment_id: The appointment.
        owner: The workflow id that will finish or abort the change.
        now: The current moment.
        notice: How long before its start the appointment may still be changed
            (``CANCELLATION_NOTICE_HOURS``); None: no limit (a change made in Cal.com).

    Returns:
        ``begun`` (also when ``owner`` began it before: a retry), or why not:
        ``not_found``, ``cancelled``, ``moved``, ``too_late`` (starts within ``notice``
        or has started), ``busy`` (another workflow is changing it).
    """
    async with engine.begin() as conn:
        found = await _locked(conn, appointment_id)
        if found is None:
            return Begun("not_found")
        if found.locked_by == owner:
            return Begun("begun", found)
        if found.status == APPOINTMENT_CANCELLED:
            return Begun("cancelled", found)
        if found.status == APPOINTMENT_MOVED:
            return Begun("moved", found)
        if found.locked_by is not None:
            return Begun("busy", found)
        if notice is not None and found.start - now < max(notice, timedelta(0)):
            return Begun("too_late", found)
        await conn.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id)
            .values(locked_by=owner, locked_at=now)
        )
    return Begun("begun", found)


async def _release_claims(conn: AsyncConnection, hold_id: str | None) -> None:
    if hold_id:
        await conn.execute(
            update(claims)
            .where(claims.c.hold_id == hold_id, claims.c.status == BOOKED)
            .values(status=RELEASED, updated_at=func.now())
        )


async def _close(conn: AsyncConnection, appointment_id: str, *where: Any, **values: Any) -> bool:
    """Set ``values`` on the booked appointment (that also matches ``where``) and free its
    time (its booked claims become released); False when there is no such appointment."""
    row = (
        await conn.execute(
            update(appointments)
            .where(
                appointments.c.id == appointment_id,
                appointments.c.status == APPOINTMENT_BOOKED,
                *where,
            )
            .values(**values)
            .returning(appointments.c.hold_id)
        )
    ).first()
    if row is None:
        return False
    await _release_claims(conn, row.hold_id)
    return True


async def cancel_appointment(engine: AsyncEngine, appointment_id: str) -> bool:
    """Cancel a booked appointment at once and free its time (no change is begun: a
    change's lock is not consulted); False when it is not booked."""
    async with engine.begin() as conn:
        return await _close(
            conn, appointment_id, status=APPOINTMENT_CANCELLED, cancelled_at=func.now()
        )


async def _finish(
    engine: AsyncEngine, appointment_id: str, owner: str, status: str, **values: object
) -> bool:
    """Set the final ``status``, free the time, clear the lock; True also when it was
    finished so before (a retried step)."""
    async with engine.begin() as conn:
        mine = appointments.c.locked_by == owner
        if await _close(
            conn, appointment_id, mine, status=status, locked_by=None, locked_at=None, **values
        ):
            return True
        current = (
            await conn.execute(
                select(appointments.c.status).where(appointments.c.id == appointment_id)
            )
        ).first()
    return current is not None and current.status == status


async def finish_cancel(
    engine: AsyncEngine,
    *,
    appointment_id: str,
    owner: str,
    cancelled_by: Literal["caller", "calcom"],
) -> bool:
    """The change of ``owner`` ends cancelled: the appointment is cancelled, its claims
    are released (the time is bookable again at once), the lock is cleared."""
    return await _finish(
        engine,
        appointment_id,
        owner,
        APPOINTMENT_CANCELLED,
        cancelled_at=func.now(),
        cancelled_by=cancelled_by,
    )


async def finish_move(
    engine: AsyncEngine, *, appointment_id: str, owner: str, moved_to: str
) -> bool:
    """The change of ``owner`` ends moved: ``moved_to`` replaced the appointment, whose
    claims are released and lock cleared."""
    return await _finish(
        engine,
        appointment_id,
        owner,
        APPOINTMENT_MOVED,
        cancelled_at=func.now(),
        moved_to=moved_to,
    )


async def abort_change(engine: AsyncEngine, *, appointment_id: str, owner: str) -> bool:
    """The change of ``owner`` ends without changing the appointment: only the lock is
    cleared. False when ``owner`` held no lock (already aborted or finished)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id, appointments.c.locked_by == owner)
            .values(locked_by=None, locked_at=None)
        )
    return bool(result.rowcount)


async def reflect_reschedule(
    engine: AsyncEngine,
    *,
    old_uid: str,
    new_uid: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Reflected:
    """Cal.com moved one of our bookings (``old_uid`` -> ``new_uid``): the segment takes
    the new booking and time, the appointment spans its segments again, and the segment's
    claim follows unless the new time collides with someone's claim (Cal.com booked it,
    so Cal.com's answers keep that time away from others; the claim is released).

    Returns:
        ``reflected`` with the appointment and the segment's resource; ``unknown`` when
        no appointment has that booking; ``ignored`` when the appointment is no longer
        booked or already has ``new_uid``; ``busy`` while a change owns it.
    """
    appointment_id = await appointment_of_booking(engine, old_uid)
    if appointment_id is None:
        done = await appointment_of_booking(engine, new_uid)
        return Reflected("ignored" if done else "unknown", done)
    async with engine.begin() as conn:
        found = await _locked(conn, appointment_id)
        if found is None or found.status != APPOINTMENT_BOOKED:
            return Reflected("ignored", appointment_id)
        if found.locked_by is not None:
            return Reflected("busy", appointment_id)
        seg = next(s for s in found.segments if s.calcom_booking_uid == old_uid)
        await conn.execute(
            update(appointment_segments)
            .where(
                appointment_segments.c.appointment_id == appointment_id,
                appointment_segments.c.key == seg.key,
            )
            .values(calcom_booking_uid=new_uid, start_at=start, end_at=end)
        )
        spans = [(start, end) if s.key == seg.key else (s.start, s.end) for s in found.segments]
        await conn.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id)
            .values(
                start_at=min(s for s, _ in spans),
                end_at=max(e for _, e in spans),
                rescheduled_at=now,
            )
        )
        await _move_claim(conn, found.hold_id, seg.key, new_uid, start, end)
    return Reflected("reflected", appointment_id, seg.resource)


async def _move_claim(
    conn: AsyncConnection,
    hold_id: str | None,
    key: str,
    uid: str,
    start: datetime,
    end: datetime,
) -> None:
    if not hold_id:
        return
    mine = (claims.c.hold_id == hold_id, claims.c.segment_key == key, claims.c.status == BOOKED)
    try:
        async with conn.begin_nested():
            await conn.execute(
                update(claims)
                .where(*mine)
                .values(start_at=start, end_at=end, calcom_booking_uid=uid, updated_at=func.now())
            )
    except IntegrityError:
        await conn.execute(update(claims).where(*mine).values(status=RELEASED))


__all__ = [
    "AppointmentRecord",
    "Begun",
    "Reflected",
    "StoredAppointment",
    "StoredSegment",
    "abort_change",
    "appointment_of_booking",
    "begin_change",
    "cancel_appointment",
    "finish_cancel",
    "finish_move",
    "get",
    "get_appointment",
    "insert_appointment",
    "last_booked_under",
    "list_appointments",
    "record_appointment",
    "reflect_reschedule",
    "upcoming",
]
