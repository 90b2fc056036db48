"""Messages of the call workflow: one pydantic model per workflow, update, signal and
query argument and result, so fields can be added later without breaking histories.

The workflow speaks in outcome codes and aware UTC datetimes; the API turns them into
German sentences in the salon's time zone.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.appointments import AppointmentChange, AppointmentView
from domain.catalog import Service
from domain.messages import BookingStatusOutcome


class BookingStatus(StrEnum):
    """Phase of a call as ops see it (search attribute ``BookingStatus``)."""

    IDLE = "idle"
    HOLDING = "holding"
    BOOKING = "booking"
    BOOKED = "booked"
    RELEASED = "released"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the call cancelled an existing appointment
    MOVED = "moved"  # the call moved an existing appointment to a new time


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CallInput(_Msg):
    """Workflow input; everything the workflow must not compute itself (no time zones,
    no file reads) is passed in. Built from the settings by ``Settings.call_input``: the
    one source of these values."""

    call_id: str
    from_number: str | None = None
    agent_id: str | None = None
    salon_timezone: str
    hold_seconds: int
    max_extensions: int
    max_hold_total_seconds: int
    booking_budget_seconds: float
    # After the call ended and nothing is pending, the workflow closes; at the latest
    # after this long.
    lifetime_seconds: int
    # CANCELLATION_NOTICE_HOURS: appointments starting sooner are not cancelled or moved.
    cancellation_notice_hours: float = 0


class Alternative(_Msg):
    start: datetime
    end: datetime
    stylist: str | None = None  # who would do it (the stylist's name)


class CheckAvailability(_Msg):
    """Update: hold ``service`` at ``start`` (resolved by the API from spoken German),
    with ``stylist`` (a catalog stylist key) or, when None, any stylist who does it."""

    service: Service
    start: datetime
    stylist: str | None = None
    request_id: str | None = None


HoldOutcome = Literal[
    "held",  # slot free, hold placed
    "slot_taken",  # someone else holds or booked it; alternatives given
    "hold_lost",  # our hold was taken by an outside booking; alternatives given
    "extended",
    "extend_limit",  # no more extensions allowed; hold unchanged
    "cancelled",
    "expired",
    "no_hold",
    "booking",  # a booking of this call is running: nothing was changed
    "failed",  # Cal.com or the database failed; nothing held
    "unknown_appointment",  # a move of an appointment this caller has not got
    "too_late",  # a move of an appointment within the cancellation notice
]


class HoldResult(_Msg):
    """Answer to check_availability, extend_hold and cancel_hold."""

    outcome: HoldOutcome
    available: bool
    service: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    hold_id: str | None = None
    hold_expires_at: datetime | None = None
    hold_seconds_left: int | None = None
    stylist: str | None = None  # name of the stylist the held slot is with
    alternatives: list[Alternative] = Field(default_factory=list)
    day_full: bool = False  # the requested day has no other free start either
    degraded: bool = False  # held in our database only: Cal.com could not reserve it


class ExtendHold(_Msg):
    request_id: str | None = None
    seconds: int | None = None  # default: the workflow's hold_seconds


class CancelHold(_Msg):
    request_id: str | None = None


class Customer(_Msg):
    name: str
    phone: str | None = None
    email: str | None = None
    addressed: str | None = None  # "Frau Dr. Weiß": how to greet them when they call again


class StartBooking(_Msg):
    """Update: book the held slot for ``customer``. With ``check`` and no hold, check and
    book in one go."""

    customer: Customer
    check: CheckAvailability | None = None
    request_id: str | None = None


# One list of booking outcomes: the workflow answers them, domain.messages says them.
BookingOutcome = BookingStatusOutcome


class SegmentView(_Msg):
    key: str
    name: str
    start: datetime
    end: datetime
    staff: bool
    resource: str | None = None
    calcom_event_type_id: int | None = None
    calcom_reservation_uid: str | None = None
    calcom_booking_uid: str | None = None
    status: Literal["planned", "held", "booking", "booked", "cancelled", "released", "failed"] = (
        "planned"
    )

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class BookingResult(_Msg):
    """Answer to start_booking and booking_status."""

    status: BookingOutcome
    booked: bool = False
    appointment_id: str | None = None
    service: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    stylist: str | None = None  # name of the stylist the appointment is with
    segments: list[SegmentView] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)
    customer_name: str | None = None
    fresh_hold: bool = False  # the hold had expired; a new one was placed before booking
    reason: str | None = None  # short machine-readable cause when not booked
    # reschedule_appointment: the appointment being moved, and (ambiguous) the choices
    previous: AppointmentView | None = None
    candidates: list[AppointmentView] = Field(default_factory=list)


class OutsideBooking(_Msg):
    """Signal: a booking made outside this call overlaps (or may overlap) our hold."""

    calcom_uid: str
    resource: str
    start: datetime
    end: datetime


class CallEnded(_Msg):
    reason: str | None = None


class CallAnalyzed(_Msg):
    successful: bool | None = None
    summary: str | None = None
    sentiment: str | None = None


class Attempt(_Msg):
    """One entry of the call's history, for ops and ``GET /calls/{id}``."""

    at: datetime
    kind: str
    outcome: str
    detail: str | None = None


class CallState(_Msg):
    """All workflow state a query returns as-is."""

    call_id: str
    status: BookingStatus = BookingStatus.IDLE
    service: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    stylist: str | None = None  # name of the stylist of the hold or appointment
    hold_id: str | None = None
    hold_expires_at: datetime | None = None
    hold_lost: bool = False
    # Held in our database only: Cal.com failed (or refused) to reserve some segment.
    degraded: bool = False
    extensions_used: int = 0
    segments: list[SegmentView] = Field(default_factory=list)
    appointment_id: str | None = None
    booking: BookingResult | None = None
    call_ended: bool = False
    call_analysis: CallAnalyzed | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    # Existing appointments: the one the current hold is for (a move), and what the call
    # did to appointments (cancelled, moved).
    moving: str | None = None
    changes: list[AppointmentChange] = Field(default_factory=list)
