"""Handles one Cal.com webhook delivery: an outside booking hitting a held slot.

Started by the API with id ``calcom-<uid>-<trigger>`` so webhook retries de-duplicate.
Our own bookings (recognised by metadata) are ignored; outside ones are recorded and
every call whose active hold overlaps them gets an ``outside_booking`` signal.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.activities import RecordOutsideBookingInput, record_outside_booking
    from contracts.messages import OutsideBooking
    from workflows.activity_options import RECORD
    from workflows.ids import call_workflow_id

OUR_SOURCE = "salon-booking"


class CalcomBookingEvent(BaseModel):
    """Input: one Cal.com webhook trigger, already verified by the API."""

    trigger: str  # BOOKING_CREATED | BOOKING_CANCELLED | BOOKING_RESCHEDULED
    calcom_uid: str
    event_type_id: int | None = None
    start: datetime
    end: datetime
    status: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    rescheduled_from_uid: str | None = None


class CalcomEventResult(BaseModel):
    recorded: bool
    ours: bool
    signalled_calls: list[str] = Field(default_factory=list)


@workflow.defn(name="CalcomBookingEventWorkflow")
class CalcomBookingEventWorkflow:
    @workflow.run
    async def run(self, event: CalcomBookingEvent) -> CalcomEventResult:
        if event.metadata.get("source") == OUR_SOURCE:
            return CalcomEventResult(recorded=False, ours=True)
        cancelled = event.trigger == "BOOKING_CANCELLED" or (event.status or "").upper() in (
            "CANCELLED",
            "REJECTED",
        )
        found = await workflow.execute_activity(
            record_outside_booking,
            RecordOutsideBookingInput(
                calcom_uid=event.calcom_uid,
                event_type_id=event.event_type_id,
                start=event.start,
                end=event.end,
                cancelled=cancelled,
                rescheduled_from_uid=event.rescheduled_from_uid,
            ),
            summary=f"record outside booking {event.calcom_uid}",
            **RECORD.kwargs(),
        )
        signalled: list[str] = []
        for call_id in found.call_ids:
            handle = workflow.get_external_workflow_handle(call_workflow_id(call_id))
            try:
                await handle.signal(
                    "outside_booking",
                    OutsideBooking(
                        calcom_uid=event.calcom_uid,
                        resource=found.resource or "",
                        start=event.start,
                        end=event.end,
                    ),
                )
                signalled.append(call_id)
            except ApplicationError:
                # The call's workflow closed meanwhile: nothing left to warn.
                workflow.logger.info("call workflow gone", extra={"call_id": call_id})
        return CalcomEventResult(recorded=True, ours=False, signalled_calls=signalled)


def calcom_event_workflow_id(trigger: str, calcom_uid: str) -> str:
    return f"calcom-{calcom_uid}-{trigger.lower()}"


__all__ = [
    "CalcomBookingEvent",
    "CalcomBookingEventWorkflow",
    "CalcomEventResult",
    "calcom_event_workflow_id",
]
