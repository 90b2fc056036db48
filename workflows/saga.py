"""The booking saga: book every staffed segment in parallel, compensate on any failure.

Pitfalls this code is shaped by (see shared/temporal-notes.md):
- ``gather`` without ``return_exceptions=True`` would raise on the first failure while the
  other bookings are still in flight; compensation would then race them.
- A segment whose activity failed may still have been booked at Cal.com (response lost,
  retries exhausted): its compensation looks the booking up by our metadata.
- Compensation runs to completion even when the workflow is cancelled meanwhile
  (:func:`to_completion`; a bare ``asyncio.shield`` would let the workflow close while the
  compensation is still in flight).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from contracts import activities as acts
    from contracts.failures import NOT_BOOKED, SLOT_UNAVAILABLE
    from contracts.messages import Customer, SegmentView
    from workflows.activity_options import BOOK, COMPENSATE

T = TypeVar("T")


@dataclass
class SagaOutcome:
    booked: bool
    segments: list[SegmentView]
    slot_taken: bool = False
    compensated: int = 0
    errors: list[str] = field(default_factory=list)


async def to_completion(step: Awaitable[T]) -> T:
    """Await ``step`` to its end even if this task is cancelled meanwhile; a cancellation
    that arrived is re-raised afterwards."""
    task = asyncio.ensure_future(step)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


def _failure_type(exc: BaseException) -> str | None:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause.type if isinstance(cause, ApplicationError) else None


async def book_all(
    *,
    call_id: str,
    hold_id: str,
    service: str,
    customer: Customer,
    time_zone: str,
    segments: Sequence[SegmentView],
) -> SagaOutcome:
    """Book the staffed segments in parallel; on any failure cancel what may exist."""
    info = workflow.info()
    staffed = [s for s in segments if s.staff]
    calls = [
        workflow.execute_activity(
            acts.book_segment,
            acts.BookSegmentInput(
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
            **BOOK.kwargs(),
        )
        for seg in staffed
    ]
    try:
        results = await asyncio.gather(*calls, return_exceptions=True)
    except asyncio.CancelledError:
        # Cancelled mid-flight: every segment's outcome is unknown.
        await to_completion(compensate(staffed))
        raise

    by_key = {s.key: s for s in segments}
    to_cancel: list[SegmentView] = []
    errors: list[str] = []
    slot_taken = False
    for seg, res in zip(staffed, results, strict=True):
        if isinstance(res, acts.BookSegmentResult):
            by_key[seg.key] = seg.model_copy(
                update={"calcom_booking_uid": res.calcom_booking_uid, "status": "booked"}
            )
            to_cancel.append(by_key[seg.key])
            continue
        kind = _failure_type(res)
        errors.append(f"{seg.key}: {kind or type(res).__name__}")
        slot_taken = slot_taken or kind == SLOT_UNAVAILABLE
        by_key[seg.key] = seg.model_copy(update={"status": "failed"})
        if kind not in NOT_BOOKED:
            to_cancel.append(seg)  # outcome unknown: look it up by metadata and cancel

    final = [by_key[s.key] for s in segments]
    if not errors:
        return SagaOutcome(booked=True, segments=final)
    await to_completion(compensate(to_cancel))
    return SagaOutcome(
        booked=False,
        segments=cancelled(final),
        slot_taken=slot_taken,
        compensated=len(to_cancel),
        errors=errors,
    )


def cancelled(segments: Sequence[SegmentView]) -> list[SegmentView]:
    """The segments with every booked one marked cancelled (after compensation)."""
    return [
        s.model_copy(update={"status": "cancelled"}) if s.status == "booked" else s
        for s in segments
    ]


async def compensate(segments: Sequence[SegmentView]) -> None:
    """Cancel each segment's booking (by uid, or found by our metadata)."""
    if not segments:
        return
    await asyncio.gather(
        *(
            workflow.execute_activity(
                acts.cancel_segment,
                acts.CancelSegmentInput(workflow_id=workflow.info().workflow_id, segment=seg),
                summary=f"compensate: cancel segment {seg.key}",
                **COMPENSATE.kwargs(),
            )
            for seg in segments
        )
    )
