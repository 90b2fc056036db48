"""Test and demo controls under ``/_sim`` (no auth; not part of Cal.com's surface)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from calcom.wire import utc_iso
from calsim.dependencies import SimDep
from calsim.envelope import CalcomProblem, success
from calsim.event_types import SettingsIn
from calsim.shapes import booking_data, reservation_data
from calsim.traffic import Fault, FaultKind

router = APIRouter(prefix="/_sim", tags=["simulator controls"])


class _Control(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LatencyIn(_Control):
    endpoint: str = Field(description="templated path, e.g. /v2/bookings, or '*'")
    seconds: float = Field(ge=0, le=120)


class FaultIn(_Control):
    endpoint: str = Field(description="templated path or '*', optionally 'POST /v2/bookings'")
    kind: FaultKind
    times: int | None = Field(default=None, ge=1, description="null = every time")
    event_type_id: int | None = None
    probability: float | None = Field(default=None, gt=0, le=1)


class OutsideBookingIn(_Control):
    event_type_id: int
    start: AwareDatetime
    respect_reservations: bool = True
    name: str = "Laufkundschaft"
    email: str = "walk-in@salon.example"


class WebhookIn(_Control):
    url: str | None
    secret: str | None = None


class ClockIn(_Control):
    advance_seconds: float = Field(ge=0)


def _event_type(sim: Any, event_type_id: int) -> dict[str, Any]:
    et = sim.calendar.event_types[event_type_id]
    return {
        "id": et.id,
        "slug": et.slug,
        "host": et.host,
        "lengthInMinutes": et.minutes,
        **sim.calendar.settings[et.id].as_wire(),
    }


def _faults(sim: Any) -> list[dict[str, Any]]:
    return [
        {
            "endpoint": f.endpoint,
            "kind": f.kind,
            "times": f.times,
            "event_type_id": f.event_type_id,
            "probability": f.probability,
        }
        for f in sim.traffic.faults
    ]


@router.post("/latency")
async def set_latency(body: LatencyIn, sim: SimDep) -> dict[str, Any]:
    """Delay every request to ``endpoint`` (``*`` = all) by ``seconds`` (0 removes it)."""
    if body.seconds:
        sim.traffic.latency[body.endpoint] = body.seconds
    else:
        sim.traffic.latency.pop(body.endpoint, None)
    return {"latency": dict(sim.traffic.latency)}


@router.post("/faults", status_code=201)
async def add_fault(body: FaultIn, sim: SimDep) -> dict[str, Any]:
    """Inject a fault (first matching fault wins, in the order they were added)."""
    sim.traffic.faults.append(Fault(**body.model_dump()))
    return {"faults": _faults(sim)}


@router.delete("/faults")
async def clear_faults(sim: SimDep) -> dict[str, Any]:
    """Remove every fault."""
    sim.traffic.faults.clear()
    return {"faults": []}


@router.post("/outside-booking", status_code=201)
async def outside_booking(body: OutsideBookingIn, sim: SimDep) -> JSONResponse:
    """Book as somebody else would: through Cal.com's booking page (reserved time is
    respected: 409 when reserved, 400 when booked) or blind through the API."""
    event_type = sim.calendar.event_type(body.event_type_id)
    booking = sim.calendar.book(
        event_type,
        body.start,
        attendee={
            "name": body.name,
            "email": body.email,
            "timeZone": sim.calendar.catalog.timezone,
        },
        metadata={},
        reserved_slot_uid=None,
        respect_reservations=body.respect_reservations,
        source="booking-page" if body.respect_reservations else "api",
    )
    sim.webhooks.created(booking)
    return success(booking_data(sim.calendar, booking), status=201)


@router.get("/state")
async def state(sim: SimDep) -> dict[str, Any]:
    """All bookings (any status), active reservations, and the Cal.com request count."""
    calendar = sim.calendar
    return {
        "now": utc_iso(calendar.now()),
        "bookings": [
            booking_data(calendar, b)
            for b in sorted(calendar.bookings.values(), key=lambda b: b.id)
        ],
        "reservations": [reservation_data(r) for r in calendar.active_reservations()],
        "request_count": sim.traffic.request_count,
        "faults": _faults(sim),
        "latency": dict(sim.traffic.latency),
    }


@router.get("/traffic")
async def traffic(sim: SimDep, window: float = 60.0) -> dict[str, Any]:
    """How many Cal.com requests arrived, how many the rate limiter refused (429), and the
    most that arrived within any ``window`` seconds of the simulator's clock."""
    limiter = sim.traffic.limiter
    return {
        "request_count": sim.traffic.request_count,
        "rate_limited": sim.traffic.rate_limited,
        "rate_limit_per_minute": limiter.per_minute if limiter else None,
        "window_seconds": window,
        "busiest_window": sim.traffic.busiest_window(window),
    }


@router.post("/reset")
async def reset(sim: SimDep) -> dict[str, str]:
    """Forget bookings, reservations, faults, latency, counters, clock shifts and
    event-type setting changes."""
    sim.reset()
    return {"status": "reset"}


@router.post("/webhook")
async def configure_webhook(body: WebhookIn, sim: SimDep) -> dict[str, Any]:
    """Send BOOKING_* webhooks to ``url`` (null stops them), signed with ``secret``."""
    sim.webhooks.target.url = body.url
    sim.webhooks.target.secret = body.secret
    return {"url": body.url, "signed": bool(body.secret)}


@router.post("/clock")
async def advance_clock(body: ClockIn, sim: SimDep) -> dict[str, str]:
    """Move the simulator's clock forward (reservations expire, rate windows roll)."""
    sim.calendar.clock_offset += timedelta(seconds=body.advance_seconds)
    return {"now": utc_iso(sim.calendar.now())}


@router.get("/event-types")
async def list_event_types(sim: SimDep) -> dict[str, Any]:
    """Every event type with its Cal.com settings (slotInterval null: the length)."""
    return {"event_types": [_event_type(sim, et_id) for et_id in sorted(sim.calendar.settings)]}


def _change(sim: Any, event_type_ids: list[int], body: SettingsIn) -> None:
    """Apply ``body`` to every event type or to none (400 when it is invalid)."""
    settings = sim.calendar.settings
    try:
        changed = {et_id: body.apply(settings[et_id]) for et_id in event_type_ids}
    except ValueError as exc:
        raise CalcomProblem(400, str(exc)) from None
    settings.update(changed)


@router.patch("/event-types")
async def configure_all_event_types(body: SettingsIn, sim: SimDep) -> dict[str, Any]:
    """Change the given settings of every event type (until ``/_sim/reset``)."""
    _change(sim, sorted(sim.calendar.settings), body)
    return {"event_types": [_event_type(sim, et_id) for et_id in sorted(sim.calendar.settings)]}


@router.patch("/event-types/{event_type_id}")
async def configure_event_type(event_type_id: int, body: SettingsIn, sim: SimDep) -> dict[str, Any]:
    """Change the given settings of one event type (until ``/_sim/reset``); 404 unknown."""
    sim.calendar.event_type(event_type_id)
    _change(sim, [event_type_id], body)
    return _event_type(sim, event_type_id)
