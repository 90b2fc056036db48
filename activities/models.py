"""Arguments and results of the activities: one model each, shared with the workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.catalog import Service
from workflows.messages import Alternative, Customer, SegmentView

ReleaseOutcome = Literal["released", "expired", "lost", "superseded", "failed"]


class _Arg(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SlotCheck(_Arg):
    """Are the staffed segments free at Cal.com (per ``/v2/slots``)?"""

    segments: list[SegmentView]
    time_zone: str


class SlotCheckResult(_Arg):
    free: bool
    taken_keys: list[str] = Field(default_factory=list)


class AcquireClaims(_Arg):
    hold_id: str
    call_id: str
    segments: list[SegmentView]
    hold_seconds: int


class AcquireClaimsResult(_Arg):
    acquired: bool
    expires_at: datetime | None = None
    conflicting_calls: list[str] = Field(default_factory=list)


class ReserveSegment(_Arg):
    hold_id: str
    segment: SegmentView
    reservation_minutes: int = 2


class ReleaseHold(_Arg):
    hold_id: str
    reservation_uids: list[str] = Field(default_factory=list)
    outcome: ReleaseOutcome = "released"


class ExtendHoldRequest(_Arg):
    hold_id: str
    hold_seconds: int
    segments: list[SegmentView]
    reservation_minutes: int = 2


class ExtendHoldResult(_Arg):
    extended: bool
    expires_at: datetime | None = None
    lost: bool = False  # Cal.com says the time is booked by someone else


class ValidateHold(_Arg):
    hold_id: str
    segments: list[SegmentView]


class HoldValidity(_Arg):
    valid: bool
    reason: Literal["ok", "expired", "released", "reservation_missing"] = "ok"


class BookSegment(_Arg):
    call_id: str
    workflow_id: str
    hold_id: str
    segment: SegmentView
    service: str
    customer: Customer
    time_zone: str


class BookedSegment(_Arg):
    key: str
    calcom_booking_uid: str
    status: str


class CancelSegment(_Arg):
    workflow_id: str
    segment: SegmentView
    reason: str = "Buchung konnte nicht vollständig angelegt werden"


class CancelSegmentResult(_Arg):
    cancelled_uid: str | None = None


class FinalizeBooking(_Arg):
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


class RecordBookingOutcome(_Arg):
    """Metrics for a booking that did not end booked (the booked path is in finalize)."""

    outcome: Literal["slot_taken", "failed"]
    compound: bool
    started_at: datetime
    compensated_segments: int = 0
    reason: str = "failure"


class FindAlternatives(_Arg):
    service: Service
    requested_start: datetime
    time_zone: str
    limit: int = 3
    days_ahead: int = 7
    exclude_hold_id: str | None = None


class AlternativesResult(_Arg):
    alternatives: list[Alternative] = Field(default_factory=list)


class OutsideBookingRecord(_Arg):
    calcom_uid: str
    event_type_id: int | None
    start: datetime
    end: datetime
    cancelled: bool = False
    rescheduled_from_uid: str | None = None


class OverlappingHolds(_Arg):
    resource: str | None = None
    call_ids: list[str] = Field(default_factory=list)
