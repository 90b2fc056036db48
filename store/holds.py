"""Holds, bookings and outside bookings: the operations the activities need.

Every function takes the engine and runs one short transaction. Correctness between
concurrent calls does not rest on these functions reading before they write: the
``claims_no_overlap`` exclusion constraint rejects any second active claim on overlapping
time of one resource, and acquisition turns that rejection into an answer with the
conflicting claims.

A held claim whose ``expires_at`` has passed never blocks anyone: before inserting,
acquisition sweeps such claims on the resources it wants to ``expired`` (in the same
transaction), so nothing has to have released them first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import models
from store.db import single_statements
from store.models import (
    BOOKED,
    EXPIRED,
    HELD,
    RELEASED,
    appointment_segments,
    appointments,
    claims,
    outside_bookings,
)

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"


@dataclass(frozen=True)
class ClaimSpec:
    """One staffed segment a hold wants."""

    segment_key: str
    resource: str
    start: datetime
    end: datetime
    calcom_event_type_id: int | None = None


@dataclass(frozen=True)
class ConflictInfo:
    resource: str
    start: datetime
    end: datetime
    call_id: str
    hold_id: str
    status: str


@dataclass(frozen=True)
class AcquireResult:
    acquired: bool
    conflicts: list[ConflictInfo] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimRow:
    hold_id: str
    call_id: str
    segment_key: str
    resource: str
    start: datetime
    end: datetime
    status: str
    expires_at: datetime | None
    calcom_event_type_id: int | None
    calcom_reservation_uid: str | None
    calcom_booking_uid: str | None


@dataclass(frozen=True)
class HoldRef:
    call_id: str
    hold_id: str


@dataclass(frozen=True)
class AppointmentSegmentRecord:
    key: str
    start: datetime
    end: datetime
    staff: bool
    resource: str | None = None
    calcom_booking_uid: str | None = None


@dataclass(frozen=True)
class AppointmentRecord:
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
    segments: list[AppointmentSegmentRecord] = field(default_factory=list)
    caller_phone: str | None = None  # the number the booking call came from (E.164)
    customer_addressed: str | None = None  # "Frau Dr. Weiß"


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _overlaps(start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return and_(claims.c.start_at < end, claims.c.end_at > start)


def _blocking(now: datetime):  # type: ignore[no-untyped-def]
    """Claims that block others at ``now``: booked, or held and not yet expired."""
    return or_(
        claims.c.status == BOOKED,
        and_(claims.c.status == HELD, claims.c.expires_at > now),
    )


def _row(r) -> ClaimRow:  # type: ignore[no-untyped-def]
    return ClaimRow(
        hold_id=r.hold_id,
        call_id=r.call_id,
        segment_key=r.segment_key,
        resource=r.resource,
        start=r.start_at,
        end=r.end_at,
        status=r.status,
        expires_at=r.expires_at,
        calcom_event_type_id=r.calcom_event_type_id,
        calcom_reservation_uid=r.calcom_reservation_uid,
        calcom_booking_uid=r.calcom_booking_uid,
    )


# One transaction-scoped advisory lock per stylist, taken in sorted order before claiming.
# Without it, concurrent inserts of overlapping claims wait for each other inside the
# exclusion constraint's check and deadlock (PostgreSQL detects that only after its
# deadlock_timeout, 1 s, once per pair: fifty callers for one time ran into the 10 s
# statement timeout). With it they take turns per stylist; the constraint still decides.
_LOCK_RESOURCES = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(r, 0)) "
    "FROM unnest(CAST(:resources AS text[])) WITH ORDINALITY AS u(r, i) ORDER BY i"
)


async def _lock_resources(conn: AsyncConnection, specs: Sequence[ClaimSpec]) -> None:
    """Take the claim locks of the stylists of ``specs`` (sorted: no lock-order deadlock)."""
    await conn.execute(_LOCK_RESOURCES, {"resources": sorted({s.resource for s in specs})})


async def _sweep_expired(conn: AsyncConnection, specs: Sequence[ClaimSpec], now: datetime) -> None:
    """Mark held claims past their expiry on the wanted time as expired."""
    await conn.execute(
        update(claims)
        .where(
            claims.c.status == HELD,
            claims.c.expires_at <= now,
            or_(*(and_(claims.c.resource == s.resource, _overlaps(s.start, s.end)) for s in specs)),
        )
        .values(status=EXPIRED, updated_at=func.now())
    )


async def _conflicts(
    engine: AsyncEngine, specs: Sequence[ClaimSpec], now: datetime, hold_id: str
) -> list[ConflictInfo]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(claims)
            .where(
                _blocking(now),
                claims.c.hold_id != hold_id,
                or_(
                    *(
                        and_(claims.c.resource == s.resource, _overlaps(s.start, s.end))
                        for s in specs
                    )
                ),
            )
            .order_by(claims.c.resource, claims.c.start_at)
        )
        return [
            ConflictInfo(
                resource=r.resource,
                start=r.start_at,
                end=r.end_at,
                call_id=r.call_id,
                hold_id=r.hold_id,
                status=r.status,
            )
            for r in rows
        ]


async def acquire_hold(
    engine: AsyncEngine,
    *,
    hold_id: str,
    call_id: str,
    claims: Sequence[ClaimSpec],
    expires_at: datetime,
    now: datetime,
) -> AcquireResult:
    """Claim every segment, all or none. Idempotent for a retried ``hold_id``: the unique
    (hold_id, segment_key) rejects the second insert and the stored hold answers."""
    specs = sorted(claims, key=lambda s: (s.resource, s.start))
    if not specs:
        return AcquireResult(acquired=True)
    rows = [
        {
            "hold_id": hold_id,
            "call_id": call_id,
            "segment_key": s.segment_key,
            "resource": s.resource,
            "calcom_event_type_id": s.calcom_event_type_id,
            "start_at": s.start,
            "end_at": s.end,
            "status": HELD,
            "expires_at": expires_at,
        }
        for s in specs
    ]
    for attempt in range(5):
        try:
            async with engine.begin() as conn:
                await _lock_resources(conn, specs)
                await _sweep_expired(conn, specs, now)
                await conn.execute(insert(models.claims), rows)
            return AcquireResult(acquired=True)
        except IntegrityError as exc:
            if _sqlstate(exc) == UNIQUE_VIOLATION:  # this hold was placed already (a retry)
                return AcquireResult(acquired=is_active(await get_hold(engine, hold_id), now))
            if _sqlstate(exc) != EXCLUSION_VIOLATION:
                raise
            conflicts = await _conflicts(engine, specs, now, hold_id)
            if conflicts:
                return AcquireResult(acquired=False, conflicts=conflicts)
            # The blocker went away between our insert and the read: try again.
        except DBAPIError as exc:
            if _sqlstate(exc) not in (DEADLOCK_DETECTED, SERIALIZATION_FAILURE):
                raise
        await asyncio.sleep(0.01 * (attempt + 1))
    conflicts = await _conflicts(engine, specs, now, hold_id)
    return AcquireResult(acquired=False, conflicts=conflicts)


def is_active(rows: Sequence[ClaimRow], now: datetime) -> bool:
    """Every claim of a hold is held and unexpired (and there is at least one)."""
    return bool(rows) and all(
        r.status == HELD and r.expires_at is not None and r.expires_at > now for r in rows
    )


async def extend_hold(
    engine: AsyncEngine, *, hold_id: str, expires_at: datetime, now: datetime
) -> bool:
    """Move a live hold's expiry. False when the hold is gone (released or expired)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            select(claims).where(claims.c.hold_id == hold_id).with_for_update()
        )
        if not is_active([_row(r) for r in result], now):
            return False
        await conn.execute(
            update(claims)
            .where(claims.c.hold_id == hold_id, claims.c.status == HELD)
            .values(expires_at=expires_at, updated_at=func.now())
        )
    return True


async def release_hold(engine: AsyncEngine, *, hold_id: str, status: str = RELEASED) -> int:
    """Release (or mark expired) every held claim of the hold; returns how many changed.
    Booked claims are never touched: cancel the appointment for that."""
    if status not in (RELEASED, EXPIRED):
        raise ValueError(f"a hold is released or expired, not {status!r}")
    async with engine.begin() as conn:
        result = await conn.execute(
            update(claims)
            .where(claims.c.hold_id == hold_id, claims.c.status == HELD)
            .values(status=status, updated_at=func.now())
        )
        return int(result.rowcount or 0)


async def get_hold(engine: AsyncEngine, hold_id: str) -> list[ClaimRow]:
    async with single_statements(engine).connect() as conn:
        rows = await conn.execute(
            select(claims).where(claims.c.hold_id == hold_id).order_by(claims.c.start_at)
        )
        return [_row(r) for r in rows]


async def hold_is_active(engine: AsyncEngine, *, hold_id: str, now: datetime) -> bool:
    """Every claim of the hold is held and unexpired (there is at least one)."""
    return is_active(await get_hold(engine, hold_id), now)


async def convert_to_booked(
    engine: AsyncEngine, *, hold_id: str, booking_uids: dict[str, str]
) -> int:
    """Mark the hold's claims booked with their Cal.com booking uids (idempotent).

    A claim whose hold expired or was released while Cal.com was booking it becomes booked
    as well: Cal.com has the booking, so the time is taken. If someone else claimed the
    time in between, the exclusion constraint raises and the caller compensates.
    """
    async with engine.begin() as conn:
        return await _convert(conn, hold_id, booking_uids)


async def _convert(conn: AsyncConnection, hold_id: str, booking_uids: dict[str, str]) -> int:
    changed = 0
    for key, uid in booking_uids.items():
        result = await conn.execute(
            update(claims)
            .where(claims.c.hold_id == hold_id, claims.c.segment_key == key)
            .values(status=BOOKED, calcom_booking_uid=uid, expires_at=None, updated_at=func.now())
        )
        changed += int(result.rowcount or 0)
    return changed


async def record_appointment(engine: AsyncEngine, *, appointment: AppointmentRecord) -> bool:
    """Insert the appointment and its segments; False if it was already recorded."""
    async with engine.begin() as conn:
        return await _insert_appointment(conn, appointment)


async def finalize_booking(
    engine: AsyncEngine, *, booking_uids: dict[str, str], appointment: AppointmentRecord
) -> bool:
    """Claims booked and the appointment recorded in one transaction: either both or,
    when the database refuses, neither (the hold's claims stay as they were)."""
    async with engine.begin() as conn:
        if appointment.hold_id is not None:
            await _convert(conn, appointment.hold_id, booking_uids)
        return await _insert_appointment(conn, appointment)


async def _insert_appointment(conn: AsyncConnection, a: AppointmentRecord) -> bool:
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


async def get_appointment(engine: AsyncEngine, appointment_id: str) -> dict | None:
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


async def list_appointments(engine: AsyncEngine, *, call_id: str | None = None) -> list[dict]:
    async with engine.connect() as conn:
        query = select(appointments).order_by(appointments.c.start_at)
        if call_id is not None:
            query = query.where(appointments.c.call_id == call_id)
        return [r._asdict() for r in await conn.execute(query)]


async def cancel_appointment(engine: AsyncEngine, appointment_id: str) -> bool:
    """Cancel an appointment and free its time (its booked claims become released)."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                update(appointments)
                .where(appointments.c.id == appointment_id, appointments.c.status == "booked")
                .values(status="cancelled", cancelled_at=func.now())
                .returning(appointments.c.hold_id)
            )
        ).first()
        if row is None:
            return False
        if row.hold_id:
            await conn.execute(
                update(claims)
                .where(claims.c.hold_id == row.hold_id, claims.c.status == BOOKED)
                .values(status=RELEASED, updated_at=func.now())
            )
    return True


async def record_outside_booking(
    engine: AsyncEngine,
    *,
    calcom_uid: str,
    event_type_id: int | None,
    resource: str,
    start: datetime,
    end: datetime,
) -> None:
    """Upsert a Cal.com booking we learned about from a webhook (repeat deliveries too)."""
    async with engine.begin() as conn:
        stmt = pg_insert(outside_bookings).values(
            calcom_uid=calcom_uid,
            event_type_id=event_type_id,
            resource=resource,
            start_at=start,
            end_at=end,
            status="accepted",
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["calcom_uid"],
                set_={
                    "event_type_id": stmt.excluded.event_type_id,
                    "resource": stmt.excluded.resource,
                    "start_at": stmt.excluded.start_at,
                    "end_at": stmt.excluded.end_at,
                    "status": "accepted",
                    "updated_at": func.now(),
                },
            )
        )


async def cancel_outside_booking(engine: AsyncEngine, calcom_uid: str) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(outside_bookings)
            .where(outside_bookings.c.calcom_uid == calcom_uid)
            .values(status="cancelled", updated_at=func.now())
        )
        return bool(result.rowcount)


async def list_outside_bookings(engine: AsyncEngine, *, resource: str | None = None) -> list[dict]:
    async with engine.connect() as conn:
        query = select(outside_bookings).order_by(outside_bookings.c.start_at)
        if resource is not None:
            query = query.where(outside_bookings.c.resource == resource)
        return [r._asdict() for r in await conn.execute(query)]


async def find_overlapping_holds(
    engine: AsyncEngine, *, resource: str, start: datetime, end: datetime, now: datetime
) -> list[HoldRef]:
    """Live (held, unexpired) holds on ``resource`` that overlap ``[start, end)``."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(claims.c.call_id, claims.c.hold_id)
            .distinct()
            .where(
                claims.c.resource == resource,
                claims.c.status == HELD,
                claims.c.expires_at > now,
                _overlaps(start, end),
            )
            .order_by(claims.c.call_id)
        )
        return [HoldRef(call_id=r.call_id, hold_id=r.hold_id) for r in rows]


async def busy_intervals(
    engine: AsyncEngine,
    *,
    resources: Sequence[str],
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_hold_id: str | None = None,
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Blocking claims and accepted outside bookings per resource within the window."""
    busy: dict[str, list[tuple[datetime, datetime]]] = {r: [] for r in resources}
    if not resources:
        return busy
    async with single_statements(engine).connect() as conn:
        query = select(claims.c.resource, claims.c.start_at, claims.c.end_at).where(
            claims.c.resource.in_(list(resources)), _blocking(now), _overlaps(start, end)
        )
        if exclude_hold_id is not None:
            query = query.where(claims.c.hold_id != exclude_hold_id)
        outside = select(
            outside_bookings.c.resource, outside_bookings.c.start_at, outside_bookings.c.end_at
        ).where(
            outside_bookings.c.resource.in_(list(resources)),
            outside_bookings.c.status == "accepted",
            outside_bookings.c.start_at < end,
            outside_bookings.c.end_at > start,
        )
        rows = await conn.execute(query.union_all(outside))
        for r in rows:
            busy[r.resource].append((r.start_at, r.end_at))
    for intervals in busy.values():
        intervals.sort()
    return busy


async def active_claim_count(engine: AsyncEngine, *, now: datetime) -> int:
    """Claims that block others right now (held and unexpired, or booked)."""
    async with engine.connect() as conn:
        result = await conn.execute(select(func.count()).select_from(claims).where(_blocking(now)))
        return int(result.scalar_one())


async def list_claims(
    engine: AsyncEngine, *, call_id: str | None = None, resource: str | None = None
) -> list[ClaimRow]:
    async with engine.connect() as conn:
        query = select(claims).order_by(claims.c.start_at, claims.c.id)
        if call_id is not None:
            query = query.where(claims.c.call_id == call_id)
        if resource is not None:
            query = query.where(claims.c.resource == resource)
        return [_row(r) for r in await conn.execute(query)]


__all__ = [
    "AcquireResult",
    "AppointmentRecord",
    "AppointmentSegmentRecord",
    "ClaimRow",
    "ClaimSpec",
    "ConflictInfo",
    "HoldRef",
    "acquire_hold",
    "active_claim_count",
    "busy_intervals",
    "cancel_appointment",
    "cancel_outside_booking",
    "convert_to_booked",
    "extend_hold",
    "finalize_booking",
    "find_overlapping_holds",
    "get_appointment",
    "get_hold",
    "hold_is_active",
    "is_active",
    "list_appointments",
    "list_claims",
    "list_outside_bookings",
    "record_appointment",
    "record_outside_booking",
    "release_hold",
]
