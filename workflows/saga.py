"""The booking saga: book every staffed segment in parallel, compensate on any failure.

Pitfalls this code is shaped by (see shared/temporal-notes.md):
- ``gather`` without ``return_exceptions=True`` would raise on the first failure while the
  other bookings are still in flight; compensation would then race them.
- A segment whose activity failed may still have been booked at Cal.com (response lost,
  retries exhausted): its compensation looks the booking up by our metadata.
- Compensation runs shielded, so it completes even when the workflow is cancelled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.models import BookedSegment, BookSegment, CancelSegment
    from workflows.activity_options import BOOK, COMPENSATE
    from workflows.messages import Customer, SegmentView

# Outcomes that prove Cal.com made no booking for the segment.
_NOT_BOOKED_TYPES = frozenset({"SlotUnavailable", "InvalidRequest", "NotFound"})


@dataclass
class SagaOutcome:
    booked: bool
    segments: list[SegmentView]
    slot_taken: bool = False
    compensated: int = 0
    errors: list[str] = field(default_factory=list)


def _failure_type(exc: BaseException) -> str | None:
    if isinstance(exc, ActivityError):
        exc = exc.cause  # type: ignore[assignment]
    if isinstance(exc, ApplicationError):
        return exc.type
    return None


async def book_all(
    *,
    call_id: str,
    hold_id: str,
    service: str,
    customer: Customer,
    time_zone: str,
    segments: list[SegmentView],
) -> SagaOutcome:
    """Book the staffed segments in parallel; on any failure cancel what may exist."""
    info = workflow.info()
    staffed = [s for s in segments if s.staff]
    calls = [
        workflow.execute_activity_method(
            BookingActivities.book_segment,
            BookSegment(
                call_id=call_id,
                workflow_id=info.workflow_id,
                hold_id=hold_id,
                segment=seg,
                service=service,
                customer=customer,
                time_zone=time_zone,
            ),
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=f"Cal.com: book {service} segment {seg.key}",
            **BOOK,
        )
        for seg in staffed
    ]
    try:
        results = await asyncio.gather(*calls, return_exceptions=True)
    except asyncio.CancelledError:
        # Cancelled mid-flight: every segment's outcome is unknown.
        await asyncio.shield(_compensate(staffed))
        raise

    by_key = {s.key: s for s in segments}
    to_cancel: list[SegmentView] = []
    errors: list[str] = []
    slot_taken = False
    for seg, res in zip(staffed, results, strict=True):
        if isinstance(res, BookedSegment):
            by_key[seg.key] = seg.model_copy(
                update={"calcom_booking_uid": res.calcom_booking_uid, "status": "booked"}
            )
            to_cancel.append(by_key[seg.key])
            continue
        assert isinstance(res, BaseException)
        kind = _failure_type(res)
        errors.append(f"{seg.key}: {kind or type(res).__name__}")
        slot_taken = slot_taken or kind == "SlotUnavailable"
        by_key[seg.key] = seg.model_copy(update={"status": "failed"})
        if kind not in _NOT_BOOKED_TYPES:
            to_cancel.append(seg)  # outcome unknown: look it up by metadata and cancel

    final = [by_key[s.key] for s in segments]
    if not errors:
        return SagaOutcome(booked=True, segments=final)
    await asyncio.shield(_compensate(to_cancel))
    final = [
        s.model_copy(update={"status": "cancelled"}) if s.status == "booked" else s for s in final
    ]
    return SagaOutcome(
        booked=False,
        segments=final,
        slot_taken=slot_taken,
        compensated=len(to_cancel),
        errors=errors,
    )


async def _compensate(segments: list[SegmentView]) -> None:
    if not segments:
        return
    await asyncio.gather(
        *(
            workflow.execute_activity_method(
                BookingActivities.cancel_segment,
                CancelSegment(workflow_id=workflow.info().workflow_id, segment=seg),
                summary=f"compensate: cancel segment {seg.key}",
                **COMPENSATE,
            )
            for seg in segments
        )
    )
