"""Booking a hold: the saga over its segments, then recording the appointment.

Works on an immutable :class:`~workflows.holding.Hold` snapshot taken under the workflow's
lock, so nothing another handler does while Cal.com answers can change what is booked.

After Cal.com has booked every segment, recording the appointment may still fail. It is
retried while it can succeed (``FINALIZE``: the database may come back); when it fails
for good, the bookings are compensated, so the call never ends with bookings that no
appointment knows about, and the answer says the booking failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as acts
    from contracts.messages import CallInput, Customer, SegmentView
    from workflows import saga
    from workflows.activity_options import FINALIZE, METRICS
    from workflows.holding import Hold

# Patch id: the appointment is recorded by a local activity (issue 17).
FINALIZE_LOCALLY = "finalize-locally"


@dataclass(frozen=True)
class Booked:
    """What booking a hold came to."""

    outcome: str  # "booked" | "slot_taken" | "failed" | "unrecorded" | "cancelled"
    segments: list[SegmentView]
    appointment_id: str | None = None
    errors: list[str] = field(default_factory=list)


async def book_hold(
    hold: Hold,
    customer: Customer,
    *,
    inp: CallInput,
    started: datetime,
    caller_phone: str | None = None,
) -> Booked:
    """Book every staffed segment of ``hold`` for ``customer`` and record the appointment
    (``caller_phone``: the number it was booked from; default the call's).

    Cancellation (the workflow cancelled, or its lifetime over) while Cal.com books
    compensates whatever may exist and ends "cancelled". Once every segment is booked, the
    recording runs to its end: a booking Cal.com completed is finished, not undone.
    """
    try:
        outcome = await saga.book_all(
            call_id=inp.call_id,
            hold_id=hold.hold_id,
            service=hold.service.name,
            customer=customer,
            time_zone=inp.salon_timezone,
            segments=hold.segments,
        )
    except BaseException as exc:
        if not isinstance(exc, Exception):  # cancelled: the saga has compensated
            await _record(hold, started, "cancelled", len(hold.segments), "cancelled")
            return Booked("cancelled", saga.cancelled(list(hold.segments)))
        raise
    if not outcome.booked:
        kind: acts.UnbookedOutcome = "slot_taken" if outcome.slot_taken else "failed"
        reason = "slot_taken" if outcome.slot_taken else "calcom_error"
        await _record(hold, started, kind, outcome.compensated, reason)
        return Booked(kind, outcome.segments, errors=outcome.errors)
    appointment_id = f"apt_{workflow.uuid4().hex[:16]}"
    return await saga.to_completion(
        _finalize(
            hold,
            customer,
            outcome.segments,
            appointment_id,
            inp,
            started,
            caller_phone or inp.from_number,
        )
    )


async def _finalize(
    hold: Hold,
    customer: Customer,
    segments: list[SegmentView],
    appointment_id: str,
    inp: CallInput,
    started: datetime,
    caller_phone: str | None,
) -> Booked:
    record = acts.FinalizeBookingInput(
        appointment_id=appointment_id,
        call_id=inp.call_id,
        hold_id=hold.hold_id,
        service=hold.service.name,
        start=hold.start,
        end=hold.end,
        customer=customer,
        segments=segments,
        started_at=started,
        compound=hold.service.is_compound,
        caller_phone=caller_phone,
        stylist=hold.stylist,
    )
    try:
        if workflow.patched(FINALIZE_LOCALLY):
            # One short, idempotent transaction on the caller's path: a local activity
            # saves the server round trip of a regular one. Should this worker die, the
            # workflow task is retried elsewhere and runs it again (same appointment id).
            await workflow.execute_local_activity(
                acts.finalize_booking, record, summary="record appointment", **FINALIZE.kwargs()
            )
        else:
            await workflow.execute_activity(
                acts.finalize_booking, record, summary="record appointment", **FINALIZE.kwargs()
            )
    # A local activity that ran out of time while backing off resolves with the bare
    # failure, not wrapped in ActivityError (as in workflows/holding.py).
    except (ActivityError, ApplicationError, TemporalTimeoutError) as exc:
        # Cal.com has the bookings, we cannot record them: undo them rather than leave
        # bookings no appointment knows about.
        booked = [s for s in segments if s.staff and s.calcom_booking_uid]
        await saga.compensate(booked)
        await _record(hold, started, "unrecorded", len(booked), "recording_failed")
        return Booked("unrecorded", saga.cancelled(segments), errors=[str(exc.cause or exc)])
    return Booked("booked", segments, appointment_id=appointment_id)


async def _record(
    hold: Hold, started: datetime, outcome: acts.UnbookedOutcome, compensated: int, reason: str
) -> None:
    """Metrics of a booking that ended without an appointment (best effort)."""
    try:
        await workflow.execute_activity(
            acts.record_booking_outcome,
            acts.RecordBookingOutcomeInput(
                outcome=outcome,
                compound=hold.service.is_compound,
                started_at=started,
                compensated_segments=compensated,
                reason=reason,
            ),
            summary="record booking outcome",
            **METRICS.kwargs(),
        )
    except ActivityError:
        pass  # a lost metric must not change the caller's answer
