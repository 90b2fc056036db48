"""Holds: the claims on stylists' (resources') time, from held to booked or released.

Every function takes the engine and runs one short transaction. Correctness between
concurrent calls does not rest on these functions reading before they write: the
``claims_no_overlap`` exclusion constraint rejects any second active claim on overlapping
time of one resource, and acquisition turns that rejection into an answer with the
conflicting claims.

A held claim whose ``expires_at`` has passed never blocks anyone: before inserting,
acquisition sweeps such claims on the resources it wants to ``expired`` (in the same
transaction), so nothing has to have released them first.

Appointments are recorded by :mod:`store.appointments`, Cal.com bookings made elsewhere by
:mod:`store.outside`; :func:`finalize_booking` is here because it books a hold's claims
(and records the appointment in the same transaction).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.appointments import AppointmentRecord, insert_appointment
from store.db import single_statements
from store.models import BOOKED, EXPIRED, HELD, RELEASED, claims, outside_bookings

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


# Claiming takes one transaction-scoped advisory lock per stylist, in sorted order, before
# inserting (the database function acquire_hold, migration 0005). Without it, concurrent
# inserts of overlapping claims wait for each other inside the exclusion constraint's
# check and deadlock (PostgreSQL detects that only after its deadlock_timeout, 1 s, once
# per pair: fifty callers for one time ran into the 10 s statement timeout). With it they
# take turns per stylist; the constraint still decides.


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


_ACQUIRE_HOLD = text(
    "SELECT acquire_hold(:hold_id, :call_id, CAST(:claims AS jsonb), :expires_at, :now)"
)


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
    (hold_id, segment_key) rejects the second insert and the stored hold answers (acquired
    when it is active and holds exactly the wanted claims).

    One statement, the database function ``acquire_hold`` (migration 0005): the stylists'
    locks (above), the sweep of expired claims, the insert, in one round
    trip on the caller's path instead of five. The exclusion constraint decides."""
    specs = sorted(claims, key=lambda s: (s.resource, s.start))
    if not specs:
        return AcquireResult(acquired=True)
    wanted = json.dumps(
        [
            {
                "segment_key": s.segment_key,
                "resource": s.resource,
                "event_type": s.calcom_event_type_id,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
            }
            for s in specs
        ]
    )
    params = {
        "hold_id": hold_id,
        "call_id": call_id,
        "claims": wanted,
        "expires_at": expires_at,
        "now": now,
    }
    for attempt in range(5):
        try:
            async with single_statements(engine).connect() as conn:
                outcome = (await conn.execute(_ACQUIRE_HOLD, params)).scalar_one()
        except DBAPIError as exc:
            if _sqlstate(exc) not in (DEADLOCK_DETECTED, SERIALIZATION_FAILURE):
                raise
            outcome = "retry"
        if outcome == "acquired":
            return AcquireResult(acquired=True)
        if outcome == "placed":  # this hold was placed already (a retry)
            placed = await get_hold(engine, hold_id)
            # Ours only if the retry wants what the first attempt claimed (a retried
            # choice may have fallen on another stylist: then it is not acquired).
            same = {(c.segment_key, c.resource, c.start, c.end) for c in placed} == {
                (s.segment_key, s.resource, s.start, s.end) for s in specs
            }
            return AcquireResult(acquired=same and is_active(placed, now))
        if outcome == "conflict":
            conflicts = await _conflicts(engine, specs, now, hold_id)
            if conflicts:
                return AcquireResult(acquired=False, conflicts=conflicts)
            # The blocker went away between our insert and the read: try again.
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


async def finalize_booking(
    engine: AsyncEngine, *, booking_uids: dict[str, str], appointment: AppointmentRecord
) -> bool:
    """Claims booked and the appointment recorded in one transaction: either both or,
    when the database refuses, neither (the hold's claims stay as they were). The
    appointment's rows are written by :func:`store.appointments.insert_appointment`, on
    this transaction's connection; False if it was already recorded."""
    async with engine.begin() as conn:
        if appointment.hold_id is not None:
            await _convert(conn, appointment.hold_id, booking_uids)
        return await insert_appointment(conn, appointment)


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
    "ClaimRow",
    "ClaimSpec",
    "ConflictInfo",
    "HoldRef",
    "acquire_hold",
    "active_claim_count",
    "busy_intervals",
    "convert_to_booked",
    "extend_hold",
    "finalize_booking",
    "find_overlapping_holds",
    "get_hold",
    "hold_is_active",
    "is_active",
    "list_claims",
    "release_hold",
]
