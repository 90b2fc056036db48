"""Changing an existing appointment: the application steps shared by the call workflow
(a caller cancels or moves) and the Cal.com event workflow (staff cancelled in Cal.com).

A change is begun by locking the appointment for this workflow (``begin``: a row lock
decides, the lock names its owner), then its Cal.com bookings are cancelled and the end
is recorded (``finish``), which unlocks it. Once begun, a change runs to its end even if
the workflow is cancelled meanwhile (:func:`workflows.saga.to_completion`): the
appointment is never left locked or half cancelled. While another workflow's change
runs, ``begin`` waits for it (``busy``) with a durable timer, so concurrent changes of
one appointment happen one after the other and each sees the other's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as acts
    from contracts.failures import NOT_FOUND
    from contracts.messages import SegmentView
    from workflows import saga
    from workflows.activity_options import CANCEL_BOOKING, CRITICAL_PATH, FINISH_CHANGE, RECORD

# How long a caller's change waits for another change of the same appointment.
BUSY_WAIT = timedelta(minutes=5)
CANCEL_REASON = {
    "caller": "Termin vom Kunden am Telefon abgesagt",
    "move": "Termin vom Kunden am Telefon verschoben",
    "calcom": "Termin in Cal.com abgesagt",
}

Ended = Literal["cancelled", "not_found", "too_late", "failed"]


@dataclass(frozen=True)
class Change:
    """What a cancel came to; ``details`` is the appointment as it was locked."""

    outcome: Ended
    details: acts.AppointmentDetails | None = None
    errors: list[str] = field(default_factory=list)
    already: bool = False  # cancelled before (by another call, or in Cal.com)


def _failure(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, ActivityError) and exc.cause else exc
    return cause.type if isinstance(cause, ApplicationError) and cause.type else str(cause)


def new_owner(kind: str) -> str:
    """A change's owner: this workflow, one change of it (deterministic)."""
    return f"{workflow.info().workflow_id}/{kind}-{workflow.uuid4().hex[:8]}"


class AppointmentSteps:
    """Find, begin, cancel at Cal.com, finish; ``failures`` collects what failed."""

    def __init__(self, *, time_zone: str, phone: str | None, notice_hours: float) -> None:
        self._zone = time_zone
        self._phone = phone
        self._notice = notice_hours
        self.failures: list[tuple[str, str]] = []

    async def _local(self, fn: Any, arg: Any, *, summary: str) -> Any:
        try:
            return await workflow.execute_local_activity(
                fn, arg, summary=summary, **CRITICAL_PATH.kwargs()
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as exc:
            self.failures.append((summary, _failure(exc)))
            return None

    async def find(
        self, *, name: str | None = None, day: date | None = None
    ) -> list[acts.AppointmentDetails] | None:
        """The caller's upcoming appointments (None: the lookup failed)."""
        found = await self._local(
            acts.find_appointments,
            acts.FindAppointmentsInput(
                phone=self._phone, customer_name=name, day=day, time_zone=self._zone
            ),
            summary="find appointments",
        )
        return None if found is None else list(found.appointments)

    async def begin(
        self, appointment_id: str, owner: str, *, new_start: datetime | None = None
    ) -> acts.BeginChangeResult | None:
        """Lock the appointment for ``owner``; waits (up to :data:`BUSY_WAIT`) while
        another change of it runs. None: the database could not be asked."""
        deadline = workflow.now() + BUSY_WAIT
        delay = 0.5
        while True:
            begun: acts.BeginChangeResult | None = await self._local(
                acts.begin_appointment_change,
                acts.BeginChangeInput(
                    appointment_id=appointment_id,
                    owner=owner,
                    notice_hours=self._notice,
                    new_start=new_start,
                    time_zone=self._zone,
                ),
                summary="lock appointment for the change",
            )
            if begun is None or begun.outcome != "busy" or workflow.now() >= deadline:
                return begun
            await workflow.sleep(delay, summary="appointment changed elsewhere: wait")
            delay = min(delay * 2, 5.0)

    async def cancel(self, details: acts.AppointmentDetails, owner: str) -> Change:
        """Cancel the caller's appointment: lock, cancel every segment at Cal.com, record
        it cancelled (claims released). A second cancel answers ``cancelled`` again."""
        begun = await self.begin(details.view.appointment_id, owner)
        if begun is None or begun.outcome == "busy":
            return Change("failed", details)
        if begun.outcome == "cancelled":
            return Change("cancelled", begun.details, already=True)
        if begun.outcome in ("not_found", "moved"):
            return Change("not_found", begun.details)
        if begun.outcome == "too_late":
            return Change("too_late", begun.details)
        return await saga.to_completion(self.finish_cancel(begun, owner, "caller"))

    async def finish_cancel(
        self,
        begun: acts.BeginChangeResult,
        owner: str,
        by: Literal["caller", "calcom"],
        *,
        skip_uid: str | None = None,
    ) -> Change:
        """A begun cancel to its end (``skip_uid``: already cancelled in Cal.com)."""
        details = begun.details
        appointment_id = details.view.appointment_id if details else ""
        segments = [s for s in begun.segments if s.calcom_booking_uid != skip_uid]
        errors = await cancel_bookings(segments, CANCEL_REASON[by])
        await self.finish(appointment_id, owner, "cancelled", cancelled_by=by)
        return Change("cancelled", details, errors)

    async def finish(
        self,
        appointment_id: str,
        owner: str,
        outcome: Literal["cancelled", "moved", "aborted"],
        *,
        cancelled_by: Literal["caller", "calcom"] = "caller",
        moved_to: str | None = None,
    ) -> None:
        """Record the change's end and unlock (retried for a day)."""
        try:
            await workflow.execute_activity(
                acts.finish_appointment_change,
                acts.FinishChangeInput(
                    appointment_id=appointment_id,
                    owner=owner,
                    outcome=outcome,
                    cancelled_by=cancelled_by,
                    moved_to=moved_to,
                ),
                summary=f"record appointment {outcome}",
                **FINISH_CHANGE.kwargs(),
            )
        except ActivityError as exc:
            self.failures.append((f"record appointment {outcome}", _failure(exc)))


async def cancel_bookings(segments: Sequence[SegmentView], reason: str) -> list[str]:
    """Cancel each segment's Cal.com booking in parallel (retried for a day); a booking
    Cal.com no longer knows is as good as cancelled. Returns what failed for good."""
    if not segments:
        return []
    results = await asyncio.gather(
        *(
            workflow.execute_activity(
                acts.cancel_segment,
                acts.CancelSegmentInput(
                    workflow_id=workflow.info().workflow_id, segment=s, reason=reason
                ),
                summary=f"Cal.com: cancel segment {s.key}",
                **CANCEL_BOOKING.kwargs(),
            )
            for s in segments
        ),
        return_exceptions=True,
    )
    errors = []
    for seg, res in zip(segments, results, strict=True):
        if isinstance(res, BaseException) and _failure(res) != NOT_FOUND:
            errors.append(f"{seg.key}: {_failure(res)}")
    return errors


async def begin_waiting(appointment_id: str, owner: str, time_zone: str) -> acts.BeginChangeResult:
    """Lock for a change made in Cal.com: no notice applies, and a running change of the
    appointment is waited for (the activity fails ``AppointmentBusy`` and is retried)."""
    begun: acts.BeginChangeResult = await workflow.execute_activity(
        acts.begin_appointment_change,
        acts.BeginChangeInput(
            appointment_id=appointment_id, owner=owner, wait_if_busy=True, time_zone=time_zone
        ),
        summary="lock appointment for the change",
        **RECORD.kwargs(),
    )
    return begun
