"""Handles one Cal.com webhook delivery: an outside booking hitting a held slot, or a
change made in Cal.com to one of our appointments.

Started by the API with id ``calcom-<uid>-<trigger>`` so webhook retries de-duplicate.
A booking of one of our appointments that was cancelled in Cal.com cancels the whole
appointment (its other segments too, claims released); one that was rescheduled there
moves that segment of the appointment (``workflows.changes`` serialises both with the
changes callers make). Otherwise our own bookings (recognised by metadata) are ignored;
outside ones are recorded and every call whose active hold overlaps them gets an
``outside_booking`` signal.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as acts
    from contracts.activities import RecordOutsideBookingInput, record_outside_booking
    from contracts.messages import OutsideBooking
    from workflows.activity_options import RECORD
    from workflows.changes import AppointmentSteps, begin_waiting, new_owner
    from workflows.ids import call_workflow_id

OUR_SOURCE = "salon-booking"


class CalcomBookingEvent(BaseModel):
    """Input: one Cal.com webhook trigger, already verified by the API.
    ``time_zone``: the salon's (labels of a reflected change)."""

    trigger: str  # BOOKING_CREATED | BOOKING_CANCELLED | BOOKING_RESCHEDULED
    calcom_uid: str
    event_type_id: int | None = None
    start: datetime
    end: datetime
    status: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    rescheduled_from_uid: str | None = None
    time_zone: str = "Europe/Berlin"


class CalcomEventResult(BaseModel):
    recorded: bool
    ours: bool
    signalled_calls: list[str] = Field(default_factory=list)
    # The appointment the change was reflected on ("cancelled" or "moved" in Cal.com).
    appointment_id: str | None = None
    appointment_change: str | None = None


@workflow.defn(name="CalcomBookingEventWorkflow")
class CalcomBookingEventWorkflow:
    @workflow.run
    async def run(self, event: CalcomBookingEvent) -> CalcomEventResult:
        if workflow.patched("reflect-appointment-changes"):
            reflected = await self._reflect(event)
            if reflected is not None:
                return reflected
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
        signalled = await _warn_calls(event, found.call_ids, found.resource)
        return CalcomEventResult(recorded=True, ours=False, signalled_calls=signalled)

    async def _reflect(self, event: CalcomBookingEvent) -> CalcomEventResult | None:
        """A change of one of our appointments made in Cal.com, reflected; None when the
        booking belongs to no appointment of ours."""
        cancelled = event.trigger == "BOOKING_CANCELLED"
        if event.trigger == "BOOKING_RESCHEDULED" and event.rescheduled_from_uid:
            moved = await workflow.execute_activity(
                acts.reflect_calcom_reschedule,
                acts.ReflectRescheduleInput(
                    old_uid=event.rescheduled_from_uid,
                    new_uid=event.calcom_uid,
                    start=event.start,
                    end=event.end,
                ),
                summary="follow the appointment moved in Cal.com",
                **RECORD.kwargs(),
            )
            if moved.outcome == "unknown":
                return None
            signalled = await _warn_calls(event, moved.call_ids, moved.resource)
            return CalcomEventResult(
                recorded=True,
                ours=True,
                signalled_calls=signalled,
                appointment_id=moved.appointment_id,
                appointment_change="moved" if moved.outcome == "reflected" else None,
            )
        if not cancelled:
            return None
        found = await workflow.execute_activity(
            acts.appointment_of_booking,
            acts.AppointmentOfBookingInput(calcom_uid=event.calcom_uid),
            summary="appointment of the cancelled booking",
            **RECORD.kwargs(),
        )
        if found.appointment_id is None:
            return None
        owner = new_owner("calcom-cancel")
        begun = await begin_waiting(found.appointment_id, owner, event.time_zone)
        if begun.outcome != "begun":  # cancelled or moved by us already: nothing to do
            return CalcomEventResult(recorded=False, ours=True, appointment_id=found.appointment_id)
        steps = AppointmentSteps(time_zone=event.time_zone, phone=None, notice_hours=0)
        await steps.finish_cancel(begun, owner, "calcom", skip_uid=event.calcom_uid)
        return CalcomEventResult(
            recorded=True,
            ours=True,
            appointment_id=found.appointment_id,
            appointment_change="cancelled",
        )


async def _warn_calls(
    event: CalcomBookingEvent, call_ids: list[str], resource: str | None
) -> list[str]:
    """Signal every call whose live hold the booked time hits."""
    signalled: list[str] = []
    for call_id in call_ids:
        handle = workflow.get_external_workflow_handle(call_workflow_id(call_id))
        try:
            await handle.signal(
                "outside_booking",
                OutsideBooking(
                    calcom_uid=event.calcom_uid,
                    resource=resource or "",
                    start=event.start,
                    end=event.end,
                ),
            )
            signalled.append(call_id)
        except ApplicationError:
            # The call's workflow closed meanwhile: nothing left to warn.
            workflow.logger.info("call workflow gone", extra={"call_id": call_id})
    return signalled


def calcom_event_workflow_id(trigger: str, calcom_uid: str) -> str:
    return f"calcom-{calcom_uid}-{trigger.lower()}"


__all__ = [
    "CalcomBookingEvent",
    "CalcomBookingEventWorkflow",
    "CalcomEventResult",
    "calcom_event_workflow_id",
]
