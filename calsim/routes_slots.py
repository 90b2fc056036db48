"""``/v2/slots`` and ``/v2/slots/reservations`` (cal-api-version 2024-09-04)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from calcom import wire
from calsim.dependencies import OptionalKey, SimDep, api_version
from calsim.envelope import CalcomProblem, lost_response, success
from calsim.grid import day_bounds
from calsim.schemas import ReservationIn, parse_utc
from calsim.shapes import local_iso, reservation_data

router = APIRouter(dependencies=[Depends(api_version(wire.SLOTS_VERSION))])
DEFAULT_RESERVATION_MINUTES = 5
INVALID_RANGE = 'Invalid time range given - check the "start" and "end" query parameters.'


def _range_bound(value: str, *, end: bool) -> Any:
    bound = day_bounds(value, end=end)
    if bound is not None:
        return bound
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise CalcomProblem(400, f"{'end' if end else 'start'}: {exc}") from None


@router.get("/v2/slots")
async def get_slots(
    sim: SimDep,
    _key: OptionalKey,
    start: Annotated[str, Query()],
    end: Annotated[str, Query()],
    eventTypeId: Annotated[int | None, Query(gt=0)] = None,
    timeZone: Annotated[str, Query()] = "UTC",
    format: Annotated[str, Query(pattern="^(time|range)$")] = "time",
    duration: Annotated[int | None, Query(gt=0)] = None,
) -> JSONResponse:
    """Free slots of one event type, grouped by day in ``timeZone``: Cal.com's grid over
    the host's free time inside ``[start, end]`` (see ``Calendar.free_slots``)."""
    await sim.traffic.before("GET", "/v2/slots", eventTypeId)
    if eventTypeId is None:
        raise CalcomProblem(400, "eventTypeId or eventTypeSlug with username is required")
    try:
        zone = ZoneInfo(timeZone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalcomProblem(400, f"timeZone: {timeZone!r} is not an IANA time zone") from None
    event_type = sim.calendar.event_type(eventTypeId)
    if duration is not None and duration != event_type.minutes:
        raise CalcomProblem(400, "duration is only allowed for event types with several lengths")
    range_start = _range_bound(start, end=False)
    range_end = _range_bound(end, end=True)
    if range_end < range_start:
        raise CalcomProblem(400, INVALID_RANGE)
    length = timedelta(minutes=event_type.minutes)
    days: dict[str, list[dict[str, str]]] = defaultdict(list)
    for slot in sim.calendar.free_slots(event_type, range_start, range_end, zone):
        item = {"start": local_iso(slot, zone)}
        if format == "range":
            item["end"] = local_iso(slot + length, zone)
        days[slot.astimezone(zone).date().isoformat()].append(item)
    return success(dict(days))


def _slot_length(body: ReservationIn, minutes: int) -> int:
    if body.slotDuration is not None and body.slotDuration != minutes:
        raise CalcomProblem(
            400, f"slotDuration {body.slotDuration} does not match the event type length {minutes}"
        )
    return minutes


def _reservation_minutes(body: ReservationIn, key: str | None) -> int:
    if body.reservationDuration is None:
        return DEFAULT_RESERVATION_MINUTES
    if key is None:
        raise CalcomProblem(
            401, "reservationDuration can only be set with the API key of the event type owner"
        )
    return body.reservationDuration


@router.post("/v2/slots/reservations", status_code=201)
async def reserve(body: ReservationIn, sim: SimDep, key: OptionalKey) -> Response:
    """Reserve a slot: 422 when it is already booked or reserved on this event type."""
    lost = await sim.traffic.before("POST", "/v2/slots/reservations", body.eventTypeId)
    event_type = sim.calendar.event_type(body.eventTypeId)
    reservation = sim.calendar.reserve(
        event_type,
        body.slotStart,
        _slot_length(body, event_type.minutes),
        _reservation_minutes(body, key),
    )
    return lost_response() if lost else success(reservation_data(reservation), status=201)


@router.get("/v2/slots/reservations/{uid}")
async def get_reservation(uid: str, sim: SimDep, _key: OptionalKey) -> JSONResponse:
    """The active reservation, or ``data: null`` for an unknown or expired uid."""
    found = sim.calendar.reservation(uid)
    await sim.traffic.before(
        "GET", "/v2/slots/reservations/{uid}", found.event_type.id if found else None
    )
    return success(reservation_data(found) if found else None)


@router.patch("/v2/slots/reservations/{uid}")
async def extend_reservation(
    uid: str, body: ReservationIn, sim: SimDep, key: OptionalKey
) -> Response:
    """Move or prolong a reservation (404 when it is unknown or expired)."""
    lost = await sim.traffic.before("PATCH", "/v2/slots/reservations/{uid}", body.eventTypeId)
    event_type = sim.calendar.event_type(body.eventTypeId)
    reservation = sim.calendar.extend(
        uid,
        event_type,
        body.slotStart,
        _slot_length(body, event_type.minutes),
        _reservation_minutes(body, key),
    )
    return lost_response() if lost else success(reservation_data(reservation))


@router.delete("/v2/slots/reservations/{uid}")
async def release_reservation(uid: str, sim: SimDep, _key: OptionalKey) -> Response:
    """Delete a reservation (404 when it is unknown or expired)."""
    found = sim.calendar.reservation(uid)
    lost = await sim.traffic.before(
        "DELETE", "/v2/slots/reservations/{uid}", found.event_type.id if found else None
    )
    sim.calendar.release(uid)
    return lost_response() if lost else JSONResponse({"status": "success"})
