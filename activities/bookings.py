"""Booking activities: book one staffed segment, cancel one (compensation), finalize.

Cal.com has no idempotency key, so a retried booking first looks for the booking it may
already have made (by our metadata: workflow id and segment key) before posting again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from temporalio import activity

from activities.deps import ActivityDeps
from activities.failures import invalid_data, to_application_error
from calcom.errors import CalcomError, SlotUnavailableError
from calcom.models import Attendee, Booking, BookingRequest
from contracts.activities import (
    BookSegmentInput,
    BookSegmentResult,
    CancelSegmentInput,
    CancelSegmentResult,
    FinalizeBookingInput,
    RecordBookingOutcomeInput,
)
from contracts.messages import SegmentView
from domain.contact import attendee_contact
from domain.phones import region_for_timezone
from observability.logging import get_logger
from observability.metrics import (
    BOOKING_DURATION,
    COMPENSATIONS,
    HOLD_OUTCOMES,
    RACE_DETECTIONS,
    RECORDING_FAILURES,
)
from store import holds as store
from store.appointments import AppointmentRecord, StoredSegment

log = get_logger(__name__)
HEARTBEAT_EVERY = 1.0


def booking_metadata(workflow_id: str, call_id: str, segment_key: str, hold_id: str) -> dict:
    """What we put in every Cal.com booking we make (and find it by on a retry)."""
    return {
        "source": "salon-booking",
        "workflow_id": workflow_id,
        "call_id": call_id,
        "segment": segment_key,
        "hold_id": hold_id,
    }


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat while a slow Cal.com call runs, so cancellation reaches us promptly."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def _window(seg: SegmentView) -> tuple[datetime, datetime]:
    return seg.start - timedelta(minutes=1), seg.end + timedelta(minutes=1)


class BookingActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    async def _find_ours(self, workflow_id: str, seg: SegmentView) -> Booking | None:
        assert seg.calcom_event_type_id is not None
        after, before = _window(seg)
        return await self._deps.calcom.find_booking_by_metadata(
            seg.calcom_event_type_id,
            after,
            before,
            {"workflow_id": workflow_id, "segment": seg.key},
        )

    @activity.defn
    async def book_segment(self, req: BookSegmentInput) -> BookSegmentResult:
        """Book one staffed segment with its reservation uid (idempotent across retries)."""
        seg = req.segment
        assert seg.calcom_event_type_id is not None
        async with heartbeating():
            try:
                if activity.info().attempt > 1:
                    existing = await self._find_ours(req.workflow_id, seg)
                    if existing is not None and existing.status != "cancelled":
                        return BookSegmentResult(
                            key=seg.key, calcom_booking_uid=existing.uid, status=existing.status
                        )
                # Always an e-mail or an E.164 phone, so contact details never fail a
                # booking (the salon's fallback address when the customer left neither).
                contact = attendee_contact(
                    req.customer.phone,
                    req.customer.email,
                    region=region_for_timezone(req.time_zone),
                    fallback_email=self._deps.fallback_email,
                )
                booking = await self._deps.calcom.create_booking(
                    BookingRequest(
                        event_type_id=seg.calcom_event_type_id,
                        start=seg.start,
                        length_in_minutes=int((seg.end - seg.start).total_seconds() // 60),
                        attendee=Attendee(
                            name=req.customer.name,
                            time_zone=req.time_zone,
                            email=contact.email,
                            phone_number=contact.phone_number,
                            language="de",
                        ),
                        reserved_slot_uid=seg.calcom_reservation_uid,
                        metadata=booking_metadata(
                            req.workflow_id, req.call_id, seg.key, req.hold_id
                        ),
                    )
                )
            except SlotUnavailableError as exc:
                RACE_DETECTIONS.labels(stage="book").inc()
                raise to_application_error(exc) from exc
            except CalcomError as exc:
                raise to_application_error(exc) from exc
        return BookSegmentResult(key=seg.key, calcom_booking_uid=booking.uid, status=booking.status)

    @activity.defn
    async def cancel_segment(self, req: CancelSegmentInput) -> CancelSegmentResult:
        """Compensation: cancel the segment's booking if it exists (found by uid or, when
        the outcome was unknown, by our metadata). Cancelling twice is fine."""
        seg = req.segment
        async with heartbeating():
            try:
                uid = seg.calcom_booking_uid
                if uid is None:
                    found = await self._find_ours(activity.info().workflow_id or "", seg)
                    if found is None or found.status == "cancelled":
                        return CancelSegmentResult(cancelled_uid=None)
                    uid = found.uid
                await self._deps.calcom.cancel_booking(uid, req.reason)
            except CalcomError as exc:
                raise to_application_error(exc) from exc
        return CancelSegmentResult(cancelled_uid=uid)

    @activity.defn
    async def finalize_booking(self, req: FinalizeBookingInput) -> None:
        """Mark the claims booked and record the appointment, in one transaction
        (idempotent). Data the database refuses fails for good (``InvalidData``): the
        workflow compensates instead of retrying forever."""
        appointment = AppointmentRecord(
            id=req.appointment_id,
            call_id=req.call_id,
            hold_id=req.hold_id,
            service=req.service,
            start=req.start,
            end=req.end,
            customer_name=req.customer.name,
            customer_phone=req.customer.phone,
            customer_email=req.customer.email,
            caller_phone=req.caller_phone,
            customer_addressed=req.customer.addressed,
            stylist=req.stylist,
            segments=[
                StoredSegment(
                    key=s.key,
                    start=s.start,
                    end=s.end,
                    staff=s.staff,
                    resource=s.resource,
                    calcom_booking_uid=s.calcom_booking_uid,
                )
                for s in req.segments
            ],
        )
        try:
            await store.finalize_booking(
                self._deps.engine,
                booking_uids={
                    s.key: s.calcom_booking_uid for s in req.segments if s.calcom_booking_uid
                },
                appointment=appointment,
            )
        except (DataError, IntegrityError, ProgrammingError, ValueError) as exc:
            # Refused as it is (NUL in a text, a violated constraint): no retry can help.
            RECORDING_FAILURES.labels(step="finalize").inc()
            raise invalid_data("recording the appointment", exc) from exc
        if activity.info().attempt == 1:
            kind = "compound" if req.compound else "simple"
            elapsed = (datetime.now(UTC) - req.started_at).total_seconds()
            BOOKING_DURATION.labels(kind=kind, outcome="booked").observe(elapsed)
            HOLD_OUTCOMES.labels(outcome="converted").inc()
        log.info("appointment recorded", appointment_id=req.appointment_id, call_id=req.call_id)

    @activity.defn
    async def record_booking_outcome(self, req: RecordBookingOutcomeInput) -> None:
        """Metrics for a booking that ended without an appointment."""
        kind = "compound" if req.compound else "simple"
        elapsed = (datetime.now(UTC) - req.started_at).total_seconds()
        BOOKING_DURATION.labels(kind=kind, outcome=req.outcome).observe(elapsed)
        if req.compensated_segments:
            COMPENSATIONS.labels(reason=req.reason).inc()
