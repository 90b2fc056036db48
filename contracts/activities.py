"""The activities of the call workflows: one input and one result model each, and the
activity's interface (name and types).

Workflows call the interfaces below by reference, so they never import the
implementations (which need PostgreSQL and the Cal.com client); the worker registers the
implementations in ``activities/`` under the same names (``tests/test_contracts.py``
checks that every interface has one, with the same argument and result types).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from temporalio import activity

from contracts.appointments import AppointmentView, CallerKnown, LookupCaller
from contracts.messages import Alternative, Customer, SegmentView
from domain.catalog import Service
from domain.planning import plan_service

ReleaseOutcome = Literal["released", "expired", "lost", "superseded", "failed", "cancelled"]


class _Arg(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ------------------------------------------------------------------ availability
class StylistRef(_Arg):
    """A stylist as the workflow needs one: the key it books with, the name it says."""

    key: str
    name: str | None = None  # None: a resource of the one-resource catalog form


class CheckSlotsInput(_Arg):
    """Is ``service`` free at ``start`` with ``stylist`` (a key; None: any stylist who does
    it)? Decided from Cal.com's free time over the salon day and our own claims;
    alternatives come from the same data when it is not."""

    service: Service
    start: datetime
    time_zone: str
    stylist: str | None = None
    # For "anyone": a stylist to take first when free, the one this caller was already
    # told (a hold placed again, or moved); the others follow in the rule's order.
    prefer: str | None = None
    exclude_hold_id: str | None = None  # the caller's own hold does not block
    limit: int = 3
    days_ahead: int = 7


class CheckSlotsResult(_Arg):
    free: bool
    # When free: every stylist free for the whole service at that start, in the order of
    # the choosing rule (domain.assignment); the workflow claims the first it can get.
    candidates: list[StylistRef] = Field(default_factory=list)
    taken_keys: list[str] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)
    day_full: bool = False  # the requested day has no other free start either


class FindAlternativesInput(_Arg):
    service: Service
    requested_start: datetime
    time_zone: str
    stylist: str | None = None  # the stylist asked for (None: any)
    limit: int = 3
    days_ahead: int = 7
    exclude_hold_id: str | None = None


class FindAlternativesResult(_Arg):
    alternatives: list[Alternative] = Field(default_factory=list)
    day_full: bool = False


# ------------------------------------------------------------------ holds
class AcquireClaimsInput(_Arg):
    hold_id: str
    call_id: str
    segments: list[SegmentView]
    expires_at: datetime  # decided by the workflow: the one source of the hold's expiry


class AcquireClaimsResult(_Arg):
    acquired: bool
    conflicting_calls: list[str] = Field(default_factory=list)


class ReserveSegmentInput(_Arg):
    hold_id: str
    segment: SegmentView
    until: datetime  # the hold's expiry: the reservation must outlive it


class ReserveSegmentResult(_Arg):
    reservation_uid: str


class PlaceHoldInput(_Arg):
    """Check, claim and reserve in one step. ``stylist``: the one stylist the hold can be
    with, known before the check (the check and the claim run together); None: the check
    chooses, and the claim is tried with the first free stylist it names."""

    stylist: str | None
    check: CheckSlotsInput  # its exclude_hold_id is ``hold_id``: the hold does not block
    hold_id: str
    call_id: str
    expires_at: datetime  # decided by the workflow: the one source of the hold's expiry


class ReservationTry(_Arg):
    """One staffed segment's reservation as :class:`PlaceHoldInput`'s step made it."""

    key: str
    reservation_uid: str | None = None
    refused: bool = False  # Cal.com says the time is taken
    error: str | None = None  # Cal.com failed: the workflow reserves it again itself


class PlaceHoldResult(_Arg):
    check: CheckSlotsResult
    stylist: str | None = None  # whom the claim was tried with (None: not tried)
    claim: AcquireClaimsResult | None = None
    # Tried only when the stylist is free and the claim holds; in plan order.
    reservations: list[ReservationTry] = Field(default_factory=list)


def segment_views(
    service: Service, start: datetime, stylist: str | None = None
) -> list[SegmentView]:
    """The service planned at ``start`` with ``stylist`` (None: the service's first);
    empty when that stylist cannot do the whole service."""
    if stylist is not None and stylist not in service.stylists:
        return []
    plan = plan_service(service, start, stylist)
    return [
        SegmentView(
            key=s.key,
            name=s.name,
            start=s.start,
            end=s.end,
            staff=s.staff,
            resource=s.resource,
            calcom_event_type_id=s.calcom_event_type_id,
        )
        for s in plan.segments
    ]


class RecordDegradedHoldInput(_Arg):
    """A hold placed in our database whose Cal.com reservations failed for these segments."""

    hold_id: str
    segment_keys: list[str]


class ReleaseHoldInput(_Arg):
    hold_id: str
    reservation_uids: list[str] = Field(default_factory=list)
    outcome: ReleaseOutcome = "released"


class ExtendHoldInput(_Arg):
    hold_id: str
    segments: list[SegmentView]
    expires_at: datetime


class ExtendHoldResult(_Arg):
    extended: bool
    lost: bool = False  # Cal.com says the time is booked by someone else


class ValidateHoldInput(_Arg):
    hold_id: str


class ValidateHoldResult(_Arg):
    valid: bool
    reason: Literal["ok", "expired", "released"] = "ok"


# ------------------------------------------------------------------ bookings
class BookSegmentInput(_Arg):
    call_id: str
    workflow_id: str
    hold_id: str
    segment: SegmentView
    service: str
    customer: Customer
    time_zone: str


class BookSegmentResult(_Arg):
    key: str
    calcom_booking_uid: str
    status: str


class CancelSegmentInput(_Arg):
    workflow_id: str
    segment: SegmentView
    reason: str = "Buchung konnte nicht vollständig angelegt werden"


class CancelSegmentResult(_Arg):
    cancelled_uid: str | None = None


class FinalizeBookingInput(_Arg):
    appointment_id: str
    call_id: str
    hold_id: str
    service: str
    start: datetime
    end: datetime
    customer: Customer
    segments: list[SegmentView]
    started_at: datetime
    compound: bool
    caller_phone: str | None = None  # the number the booking call came from (E.164)
    stylist: str | None = None  # the stylist's key (the resource of every staffed segment)


UnbookedOutcome = Literal["slot_taken", "failed", "unrecorded", "cancelled"]


class RecordBookingOutcomeInput(_Arg):
    """Metrics for a booking that did not end booked (the booked path is in finalize)."""

    outcome: UnbookedOutcome
    compound: bool
    started_at: datetime
    compensated_segments: int = 0
    reason: str = "failure"


# ------------------------------------------------------------------ outside bookings
class RecordOutsideBookingInput(_Arg):
    calcom_uid: str
    event_type_id: int | None
    start: datetime
    end: datetime
    cancelled: bool = False
    rescheduled_from_uid: str | None = None


class RecordOutsideBookingResult(_Arg):
    resource: str | None = None
    call_ids: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------ existing appointments
class AppointmentDetails(_Arg):
    """An appointment as a change needs it. Kept private in the call workflow: only the
    ``view`` reaches the call's state and the agent."""

    view: AppointmentView
    hold_id: str | None = None  # its claims' hold: they do not block its own move
    service: Service | None = None  # the catalog's service of that name (None: not offered)
    customer: Customer
    caller_phone: str | None = None
    stylist: str | None = None  # catalog key of who it is with


class FindAppointmentsInput(_Arg):
    """Upcoming booked appointments of ``phone``; with ``customer_name`` and ``day`` also
    those on that day under exactly that name."""

    phone: str | None = None
    customer_name: str | None = None
    day: date | None = None
    time_zone: str


class FindAppointmentsResult(_Arg):
    appointments: list[AppointmentDetails] = Field(default_factory=list)


ChangeBegun = Literal["begun", "not_found", "cancelled", "moved", "too_late", "busy"]


class BeginChangeInput(_Arg):
    """Lock the appointment for a change owned by the workflow ``owner``."""

    appointment_id: str
    owner: str
    notice_hours: float | None = None  # None: no notice applies (a change made in Cal.com)
    wait_if_busy: bool = False  # fail with AppointmentBusy (retried) instead of answering
    new_start: datetime | None = None  # a move's new start, for its short label
    time_zone: str


class BeginChangeResult(_Arg):
    outcome: ChangeBegun
    details: AppointmentDetails | None = None
    segments: list[SegmentView] = Field(default_factory=list)  # staffed, booked at Cal.com
    new_short_label: str | None = None


class FinishChangeInput(_Arg):
    appointment_id: str
    owner: str
    outcome: Literal["cancelled", "moved", "aborted"]
    cancelled_by: Literal["caller", "calcom"] = "caller"
    moved_to: str | None = None


class AppointmentOfBookingInput(_Arg):
    calcom_uid: str


class AppointmentOfBookingResult(_Arg):
    appointment_id: str | None = None


class ReflectRescheduleInput(_Arg):
    """Cal.com moved our booking ``old_uid``; ``new_uid`` is at ``start``-``end`` now."""

    old_uid: str
    new_uid: str
    start: datetime
    end: datetime


class ReflectRescheduleResult(_Arg):
    outcome: Literal["unknown", "ignored", "reflected"]
    appointment_id: str | None = None
    resource: str | None = None
    call_ids: list[str] = Field(default_factory=list)  # calls holding the new time


# ------------------------------------------------------------------ interfaces
# Each raises if called directly: only its name and types are used, by the workflows;
# the worker runs the implementation registered under the same name.
def _interface(name: str) -> NotImplementedError:
    return NotImplementedError(f"activity {name!r} runs on the worker (activities/)")


@activity.defn(name="check_slots")
async def check_slots(inp: CheckSlotsInput) -> CheckSlotsResult:
    """Cal.com free time for the staffed segments, our claims, and alternatives."""
    raise _interface("check_slots")


@activity.defn(name="find_alternatives")
async def find_alternatives(inp: FindAlternativesInput) -> FindAlternativesResult:
    """Up to ``limit`` nearest starts at which every staffed segment is free."""
    raise _interface("find_alternatives")


@activity.defn(name="acquire_claims")
async def acquire_claims(inp: AcquireClaimsInput) -> AcquireClaimsResult:
    """Claim every staffed segment in PostgreSQL, all or none."""
    raise _interface("acquire_claims")


@activity.defn(name="reserve_segment")
async def reserve_segment(inp: ReserveSegmentInput) -> ReserveSegmentResult:
    """Reserve one staffed segment at Cal.com."""
    raise _interface("reserve_segment")


@activity.defn(name="place_hold")
async def place_hold(inp: PlaceHoldInput) -> PlaceHoldResult:
    """The check and the claim together, then the Cal.com reservations, in one step."""
    raise _interface("place_hold")


@activity.defn(name="record_degraded_hold")
async def record_degraded_hold(inp: RecordDegradedHoldInput) -> None:
    """Count and log a hold Cal.com could not reserve (for ops)."""
    raise _interface("record_degraded_hold")


@activity.defn(name="release_hold")
async def release_hold(inp: ReleaseHoldInput) -> int:
    """Release the claims and delete the Cal.com reservations (idempotent)."""
    raise _interface("release_hold")


@activity.defn(name="extend_hold")
async def extend_hold(inp: ExtendHoldInput) -> ExtendHoldResult:
    """Move the hold's expiry and keep its reservations alive past it."""
    raise _interface("extend_hold")


@activity.defn(name="validate_hold")
async def validate_hold(inp: ValidateHoldInput) -> ValidateHoldResult:
    """Are our claims still held and unexpired?"""
    raise _interface("validate_hold")


@activity.defn(name="book_segment")
async def book_segment(inp: BookSegmentInput) -> BookSegmentResult:
    """Book one staffed segment at Cal.com (idempotent across retries)."""
    raise _interface("book_segment")


@activity.defn(name="cancel_segment")
async def cancel_segment(inp: CancelSegmentInput) -> CancelSegmentResult:
    """Cancel one segment's booking, found by uid or by our metadata."""
    raise _interface("cancel_segment")


@activity.defn(name="finalize_booking")
async def finalize_booking(inp: FinalizeBookingInput) -> None:
    """Mark the claims booked and record the appointment."""
    raise _interface("finalize_booking")


@activity.defn(name="record_booking_outcome")
async def record_booking_outcome(inp: RecordBookingOutcomeInput) -> None:
    """Metrics for a booking that ended without an appointment."""
    raise _interface("record_booking_outcome")


@activity.defn(name="record_outside_booking")
async def record_outside_booking(inp: RecordOutsideBookingInput) -> RecordOutsideBookingResult:
    """Record (or cancel) an outside booking; the calls holding overlapping time."""
    raise _interface("record_outside_booking")


@activity.defn(name="find_appointments")
async def find_appointments(inp: FindAppointmentsInput) -> FindAppointmentsResult:
    """The caller's upcoming appointments (by phone, or by exact name and day)."""
    raise _interface("find_appointments")


@activity.defn(name="recognise_caller")
async def recognise_caller(inp: LookupCaller) -> CallerKnown:
    """Whether the number booked before, the name last booked under it, its next one."""
    raise _interface("recognise_caller")


@activity.defn(name="begin_appointment_change")
async def begin_appointment_change(inp: BeginChangeInput) -> BeginChangeResult:
    """Lock an appointment for one change (row lock + owner), or say why not."""
    raise _interface("begin_appointment_change")


@activity.defn(name="finish_appointment_change")
async def finish_appointment_change(inp: FinishChangeInput) -> None:
    """Record the change's end (cancelled, moved or aborted) and unlock."""
    raise _interface("finish_appointment_change")


@activity.defn(name="appointment_of_booking")
async def appointment_of_booking(inp: AppointmentOfBookingInput) -> AppointmentOfBookingResult:
    """The appointment a Cal.com booking belongs to, if any."""
    raise _interface("appointment_of_booking")


@activity.defn(name="reflect_calcom_reschedule")
async def reflect_calcom_reschedule(inp: ReflectRescheduleInput) -> ReflectRescheduleResult:
    """Follow a booking Cal.com moved; the calls whose holds the new time hits."""
    raise _interface("reflect_calcom_reschedule")


INTERFACES = (
    check_slots,
    find_alternatives,
    acquire_claims,
    reserve_segment,
    place_hold,
    record_degraded_hold,
    release_hold,
    extend_hold,
    validate_hold,
    book_segment,
    cancel_segment,
    finalize_booking,
    record_booking_outcome,
    record_outside_booking,
    find_appointments,
    recognise_caller,
    begin_appointment_change,
    finish_appointment_change,
    appointment_of_booking,
    reflect_calcom_reschedule,
)
