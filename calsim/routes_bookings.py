"""``/v2/bookings`` (cal-api-version 2024-08-13): create, read, list, cancel, reschedule.
Every endpoint here needs an API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from calcom import wire
from calsim.calendar import SimBooking
from calsim.dependencies import RequiredKey, SimDep, api_version
from calsim.envelope import CalcomProblem, lost_response, success
from calsim.schemas import BookingIn, CancelIn, RescheduleIn, parse_utc
from calsim.shapes import booking_data

router = APIRouter(dependencies=[Depends(api_version(wire.BOOKINGS_VERSION))])
STATUS_FILTERS = {"upcoming", "recurring", "past", "cancelled", "unconfirmed"}  # no recurring here


@router.post("/v2/bookings", status_code=201)
async def create_booking(body: BookingIn, sim: SimDep, _key: RequiredKey) -> Response:
    """Book a slot (see the contract for every check, in Cal.com's order)."""
    lost = await sim.traffic.before("POST", "/v2/bookings", body.eventTypeId)
    event_type = sim.calendar.event_type(body.eventTypeId)
    if body.lengthInMinutes is not None and body.lengthInMinutes != event_type.minutes:
        raise CalcomProblem(
            400,
            f"lengthInMinutes {body.lengthInMinutes} is not allowed: event type "
            f"{event_type.id} has a fixed length of {event_type.minutes} minutes",
        )
    booking = sim.calendar.book(
        event_type,
        body.start,
        attendee=body.attendee.model_dump(exclude_none=True),
        metadata=dict(body.metadata),
        reserved_slot_uid=body.reservedSlotUid,
    )
    sim.webhooks.created(booking)
    if lost:
        return lost_response()
    return success(booking_data(sim.calendar, booking), status=201)


@router.get("/v2/bookings/{uid}")
async def get_booking(uid: str, sim: SimDep, _key: RequiredKey) -> JSONResponse:
    """One booking by uid (404 when unknown)."""
    booking = sim.calendar.bookings.get(uid)
    await sim.traffic.before(
        "GET", "/v2/bookings/{uid}", booking.event_type.id if booking else None
    )
    return success(booking_data(sim.calendar, sim.calendar.booking(uid)))


@router.post("/v2/bookings/{uid}/cancel")
async def cancel_booking(uid: str, body: CancelIn, sim: SimDep, _key: RequiredKey) -> Response:
    """Cancel a booking; a second cancel answers 400."""
    existing = sim.calendar.bookings.get(uid)
    lost = await sim.traffic.before(
        "POST", "/v2/bookings/{uid}/cancel", existing.event_type.id if existing else None
    )
    booking = sim.calendar.cancel(uid, body.cancellationReason)
    sim.webhooks.cancelled(booking)
    return lost_response() if lost else success(booking_data(sim.calendar, booking))


@router.post("/v2/bookings/{uid}/reschedule", status_code=201)
async def reschedule_booking(
    uid: str, body: RescheduleIn, sim: SimDep, _key: RequiredKey
) -> Response:
    """Move a booking to ``start``: a new booking replaces the old (cancelled) one."""
    existing = sim.calendar.bookings.get(uid)
    lost = await sim.traffic.before(
        "POST", "/v2/bookings/{uid}/reschedule", existing.event_type.id if existing else None
    )
    new = sim.calendar.reschedule(uid, body.start, body.reschedulingReason)
    sim.webhooks.rescheduled(new, sim.calendar.booking(uid))
    return lost_response() if lost else success(booking_data(sim.calendar, new), status=201)


def _ids(value: str | None) -> set[int] | None:
    if value is None:
        return None
    try:
        return {int(v) for v in value.split(",") if v.strip()}
    except ValueError:
        raise CalcomProblem(400, "eventTypeIds must be a comma separated list of ids") from None


def _time(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise CalcomProblem(400, f"{name}: {exc}") from None


def _status_matches(b: SimBooking, wanted: set[str], now: Any) -> bool:
    live = b.status in ("accepted", "pending")
    return (
        ("upcoming" in wanted and live and b.end >= now)
        or ("past" in wanted and live and b.end < now)
        or ("cancelled" in wanted and b.status in ("cancelled", "rejected"))
        or ("unconfirmed" in wanted and b.status == "pending" and b.end >= now)
    )


@router.get("/v2/bookings")
async def list_bookings(
    sim: SimDep,
    _key: RequiredKey,
    eventTypeId: Annotated[int | None, Query(gt=0)] = None,
    eventTypeIds: Annotated[str | None, Query()] = None,
    afterStart: Annotated[str | None, Query()] = None,
    beforeEnd: Annotated[str | None, Query()] = None,
    attendeeEmail: Annotated[str | None, Query()] = None,
    attendeeName: Annotated[str | None, Query()] = None,
    bookingUid: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    take: Annotated[int, Query(ge=1, le=wire.BOOKINGS_MAX_TAKE)] = 100,
    skip: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Bookings matching every given filter, sorted by start, one page of them."""
    await sim.traffic.before("GET", "/v2/bookings", eventTypeId)
    ids = _ids(eventTypeIds)
    after, before = _time("afterStart", afterStart), _time("beforeEnd", beforeEnd)
    wanted = set(status.split(",")) if status else None
    if wanted and not wanted <= STATUS_FILTERS:
        raise CalcomProblem(400, f"status must be a list of {sorted(STATUS_FILTERS)}")
    now = sim.calendar.now()
    found = [
        b
        for b in sorted(sim.calendar.bookings.values(), key=lambda b: (b.start, b.id))
        if (eventTypeId is None or b.event_type.id == eventTypeId)
        and (ids is None or b.event_type.id in ids)
        and (after is None or b.start >= after)
        and (before is None or b.end <= before)
        and (attendeeEmail is None or b.attendee.get("email") == attendeeEmail)
        and (attendeeName is None or b.attendee["name"] == attendeeName)
        and (bookingUid is None or b.uid == bookingUid)
        and (wanted is None or _status_matches(b, wanted, now))
    ]
    page = found[skip : skip + take]
    pages = max(1, -(-len(found) // take))
    return success(
        [booking_data(sim.calendar, b) for b in page],
        pagination={
            "totalItems": len(found),
            "remainingItems": max(0, len(found) - skip - len(page)),
            "returnedItems": len(page),
            "itemsPerPage": take,
            "currentPage": skip // take + 1,
            "totalPages": pages,
            "hasNextPage": skip + len(page) < len(found),
            "hasPreviousPage": skip > 0,
        },
    )
