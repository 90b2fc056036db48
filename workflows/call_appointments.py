"""The call workflow's handlers for callers who already have an appointment.

A mixin of :class:`workflows.call.CallWorkflow` (split out by concept, so the call's
hold-and-book module stays readable): ``find_appointments``, ``cancel_appointment``,
``check_move`` (check_availability with an ``appointment_id``) and
``reschedule_appointment``. They follow the call's rules: decide under the call's lock,
act on snapshots, answer within the budget (``pending`` beyond it).

- The call only sees and changes the caller's own appointments (:mod:`workflows.known`).
- A cancel runs as a task of its own; a move runs as the call's booking task (hold the
  new time, book it, then cancel the old appointment), so ``booking_status``, the answer
  budget and the hold timer work for it as for a booking.
- Each change first locks the appointment in the database (:mod:`workflows.changes`),
  which serialises it with other calls' changes and with changes made in Cal.com; from
  the lock on it runs to its end, also when the workflow is cancelled meanwhile. A move
  whose new booking fails unlocks the old appointment untouched; once the new one is
  booked, the old one is cancelled whatever happens: never both, never neither.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.activities import AppointmentDetails, BeginChangeResult
    from contracts.appointments import (
        AppointmentChange,
        CancelAppointment,
        CancelResult,
        CheckMove,
        FindAppointments,
        FoundAppointments,
        RescheduleAppointment,
    )
    from contracts.messages import (
        Alternative,
        BookingOutcome,
        BookingResult,
        BookingStatus,
        CallInput,
        CallState,
        CheckAvailability,
        Customer,
        HoldOutcome,
        HoldResult,
    )
    from domain.catalog import Service
    from workflows import saga
    from workflows.changes import CANCEL_REASON, AppointmentSteps, cancel_bookings, new_owner
    from workflows.hold_timer import HoldTimer
    from workflows.holding import Hold, HoldSteps
    from workflows.known import KnownAppointments, Unresolved, too_late


class ExistingAppointments:
    """Handlers and tasks for existing appointments (mixed into CallWorkflow)."""

    _changes: AppointmentSteps
    _known: KnownAppointments
    _cancel: asyncio.Task[CancelResult] | None
    _cancel_for: str | None
    _move_target: AppointmentDetails | None  # of the running move

    if TYPE_CHECKING:  # provided by CallWorkflow
        _inp: CallInput
        _lock: asyncio.Lock
        _state: CallState
        _steps: HoldSteps
        _timer: HoldTimer
        _hold: Hold | None
        _last_hold: Hold | None
        _booking: asyncio.Task[BookingResult] | None

        def _cached(self, request_id: str | None) -> Any: ...
        def _remember(self, request_id: str | None, result: Any) -> Any: ...
        def _log_step_failures(self) -> None: ...
        def _attempt(self, kind: str, outcome: str, detail: str | None = None) -> None: ...
        def _booking_running(self) -> bool: ...
        def _set_status(self, status: BookingStatus) -> None: ...
        def _publish(self) -> None: ...
        def _forget_hold(self, hold: Hold) -> None: ...
        def _hold_result(
            self, outcome: HoldOutcome, alternatives: list[Alternative] | None = None
        ) -> HoldResult: ...
        def _booking_result(
            self,
            status: BookingOutcome,
            *,
            appointment_id: str | None = None,
            alternatives: list[Alternative] | None = None,
            reason: str | None = None,
            fresh_hold: bool = False,
            name: str | None = None,
        ) -> BookingResult: ...
        def _finish_booking(
            self, result: BookingResult, status: BookingStatus
        ) -> BookingResult: ...
        async def _check(
            self,
            req: CheckAvailability,
            *,
            exclude_hold_id: str | None = None,
            prefer: str | None = None,
        ) -> HoldResult: ...
        async def _booking_answer(
            self,
            task: asyncio.Task[BookingResult],
            request_id: str | None,
            previous: AppointmentDetails | None = None,
        ) -> BookingResult: ...
        async def _book(
            self, hold: Hold, customer: Customer, *, caller_phone: str | None = None
        ) -> BookingResult: ...

    def _init_appointments(self, inp: CallInput) -> None:
        self._changes = AppointmentSteps(
            time_zone=inp.salon_timezone,
            phone=inp.from_number,
            notice_hours=inp.cancellation_notice_hours,
        )
        self._known = KnownAppointments(self._changes)
        self._cancel = None
        self._cancel_for = None
        self._move_target = None

    def _cancelling(self) -> bool:
        return self._cancel is not None and not self._cancel.done()

    @workflow.update
    async def find_appointments(self, req: FindAppointments) -> FoundAppointments:
        """The caller's upcoming appointments (by number; with name and day also those
        booked under that name that day). Only these can be cancelled or moved."""
        async with self._lock:
            found = await self._changes.find(name=req.customer_name, day=req.day)
            self._log_step_failures()
            if found is None:
                return FoundAppointments(outcome="failed")
            self._known.remember(found)
            self._attempt("find", f"{len(found)} found")
        return FoundAppointments(
            outcome="found" if found else "none", appointments=[d.view for d in found]
        )

    @workflow.update
    async def cancel_appointment(self, req: CancelAppointment) -> CancelResult:
        """Cancel one of the caller's appointments; ``pending`` beyond the answer budget
        (asking again joins the running cancel), ``cancelled`` again for a repeat."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        notice = self._inp.cancellation_notice_hours
        async with self._lock:
            task = self._cancel
            if task is None or task.done():
                if req.appointment_id in self._known.cancelled:
                    return self._known.cancelled[req.appointment_id]
                target = await self._known.resolve(req.appointment_id)
                self._log_step_failures()
                if isinstance(target, Unresolved):
                    if target.status == "not_found" and req.appointment_id is None:
                        if self._known.cancelled:  # "cancel it" again: the one cancelled
                            return list(self._known.cancelled.values())[-1]
                    return CancelResult(
                        status=target.status, candidates=target.candidates, notice_hours=notice
                    )
                self._cancel_for = target.view.appointment_id
                task = self._cancel = asyncio.create_task(self._cancel_task(target))
            elif req.appointment_id not in (None, self._cancel_for):
                return CancelResult(status="pending", reason="change_in_progress")
        try:
            await workflow.wait_condition(
                task.done,
                timeout=timedelta(seconds=self._inp.booking_budget_seconds),
                timeout_summary="cancel answer budget",
            )
        except TimeoutError:
            return CancelResult(status="pending", notice_hours=notice)
        return self._remember(req.request_id, task.result())

    @workflow.update
    async def check_move(self, req: CheckMove) -> HoldResult:
        """check_availability for moving an appointment: hold the new time, the
        appointment's own claims not blocking it."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        async with self._lock:
            result = await self._check_move(req.appointment_id, req.start, req.service, req.stylist)
        return self._remember(req.request_id, result)

    async def _check_move(
        self,
        appointment_id: str | None,
        start: datetime,
        service: Service | None,
        stylist: str | None,
    ) -> HoldResult:
        """Under the lock: hold ``start`` to replace the appointment (resolved for this
        caller), with ``stylist`` or else the appointment's own when free; the hold is
        tagged as the move's."""
        if self._booking_running():
            return self._hold_result("booking")
        target = await self._known.resolve(appointment_id)
        self._log_step_failures()
        if isinstance(target, Unresolved):
            outcome = "failed" if target.status == "failed" else "unknown_appointment"
            return HoldResult(outcome=outcome, available=False)  # type: ignore[arg-type]
        wanted = target.service or service  # a move keeps the appointment's service
        if too_late(target, workflow.now(), self._inp.cancellation_notice_hours):
            return HoldResult(outcome="too_late", available=False, service=target.view.service)
        if wanted is None:  # the appointment's service is no longer in the catalog
            return HoldResult(outcome="failed", available=False, service=target.view.service)
        result = await self._check(
            CheckAvailability(service=wanted, start=start, stylist=stylist),
            exclude_hold_id=target.hold_id,
            prefer=target.stylist if stylist is None else None,
        )
        if result.available and self._hold is not None:
            self._known.move = (self._hold.hold_id, target)
            self._state.moving = target.view.appointment_id
            self._publish()
        return result

    @workflow.update
    async def reschedule_appointment(self, req: RescheduleAppointment) -> BookingResult:
        """Move one of the caller's appointments: hold the new time (or take the one
        held by check_move), book it, then cancel the old appointment. If the new time
        cannot be booked the old appointment stays as it was; once the new one is
        booked, the old one is cancelled whatever happens (never both, never neither)."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        async with self._lock:
            if self._booking is not None and not self._booking.done():
                target = self._move_target
                if target is None or req.appointment_id not in (None, target.view.appointment_id):
                    return self._booking_result("pending", reason="booking_in_progress")
                task = self._booking  # a retry of the running move: join it (not under the
                # lock: the move may take the whole budget, other messages must be answered)
            else:
                early = await self._before_move(req)
                if isinstance(early, BookingResult):
                    return self._remember(req.request_id, early)
                hold, target = early
                self._move_target = target
                self._timer.set(None)  # the move takes the hold over
                self._set_status(BookingStatus.BOOKING)
                task = self._booking = asyncio.create_task(self._move_task(hold, target))
        return await self._booking_answer(task, req.request_id, target)

    async def _before_move(
        self, req: RescheduleAppointment
    ) -> tuple[Hold, AppointmentDetails] | BookingResult:
        """Under the lock: the appointment to move and the hold of its new time, or the
        answer why the move cannot start (the old appointment untouched)."""
        target = await self._known.resolve(req.appointment_id)
        self._log_step_failures()
        if isinstance(target, Unresolved):
            result = self._booking_result(target.status, reason=target.status)
            return result.model_copy(update={"candidates": target.candidates})
        previous = {"previous": target.view}
        if too_late(target, workflow.now(), self._inp.cancellation_notice_hours):
            return self._booking_result("too_late", reason="too_late").model_copy(update=previous)
        held, last = self._hold, self._last_hold
        ours = held is not None and self._moves(held, target)
        start, service, stylist = req.start, req.service, req.stylist
        if start is None and not ours and last is not None and self._moves(last, target):
            # The move's hold expired: hold the same time again.
            start, service, stylist = last.start, last.service, last.stylist
        same = held is not None and held.start == start and stylist in (None, held.stylist)
        if start is not None and not (ours and same):
            checked = await self._check_move(target.view.appointment_id, start, service, stylist)
            if not checked.available:
                status = "failed" if checked.outcome == "failed" else "slot_taken"
                result = self._booking_result(
                    status,  # type: ignore[arg-type]
                    alternatives=checked.alternatives,
                    reason=checked.outcome,
                )
                return result.model_copy(update=previous)
        elif not ours:
            return self._booking_result("failed", reason="no_hold").model_copy(update=previous)
        if self._hold is None:
            return self._booking_result("failed", reason="no_hold").model_copy(update=previous)
        return self._hold, target

    def _moves(self, hold: Hold, target: AppointmentDetails) -> bool:
        """Was ``hold`` placed (by check_move) to replace ``target``?"""
        tagged = self._known.move_for(hold.hold_id)
        return tagged is not None and tagged.view.appointment_id == target.view.appointment_id

    async def _move_task(self, hold: Hold, target: AppointmentDetails) -> BookingResult:
        """The move: lock the old appointment, book ``hold``, then cancel the old one.
        From the lock on it runs to its end, even if the workflow is cancelled."""
        appointment_id = target.view.appointment_id
        owner = new_owner("move")
        begun = await self._changes.begin(appointment_id, owner, new_start=hold.start)
        self._log_step_failures()
        if begun is None or begun.outcome != "begun":
            await self._steps.release(hold.hold_id, hold.reservation_uids, "released")
            self._forget_hold(hold)
            why = begun.outcome if begun is not None else "failed"
            self._attempt("move", why, appointment_id)
            status = {"too_late": "too_late", "busy": "failed", "failed": "failed"}.get(
                why, "not_found"
            )
            result = self._booking_result(status, reason=why)  # type: ignore[arg-type]
            return self._finish_booking(
                result.model_copy(update={"previous": target.view}), BookingStatus.RELEASED
            )
        return await saga.to_completion(self._complete_move(hold, target, begun, owner))

    async def _complete_move(
        self, hold: Hold, target: AppointmentDetails, begun: BeginChangeResult, owner: str
    ) -> BookingResult:
        details = begun.details or target
        appointment_id = details.view.appointment_id
        result = await self._book(hold, details.customer, caller_phone=details.caller_phone)
        result = result.model_copy(update={"previous": details.view})
        if result.status != "booked" or result.appointment_id is None:
            await self._changes.finish(appointment_id, owner, "aborted")
            self._log_step_failures()
            self._attempt("move", "old appointment unchanged", appointment_id)
            self._state.booking = result
            return result
        errors = await cancel_bookings(begun.segments, CANCEL_REASON["move"])
        await self._changes.finish(appointment_id, owner, "moved", moved_to=result.appointment_id)
        self._log_step_failures()
        for error in errors:
            self._attempt("error", "cancel old segment", error)
        self._known.forget(appointment_id)
        self._known.move = None
        self._state.moving = None
        self._state.changes.append(
            AppointmentChange(
                kind="moved",
                appointment_id=appointment_id,
                before=details.view.short_label,
                after=begun.new_short_label,
                new_appointment_id=result.appointment_id,
            )
        )
        self._attempt("move", "moved", f"{appointment_id} -> {result.appointment_id}")
        return self._finish_booking(result, BookingStatus.MOVED)

    async def _cancel_task(self, target: AppointmentDetails) -> CancelResult:
        change = await self._changes.cancel(target, new_owner("cancel"))
        self._log_step_failures()
        details = change.details or target
        appointment_id = details.view.appointment_id
        self._attempt("cancel_appointment", change.outcome, appointment_id)
        result = CancelResult(
            status=change.outcome,
            cancelled=change.outcome == "cancelled",
            appointment=details.view,
            notice_hours=self._inp.cancellation_notice_hours,
        )
        if change.outcome in ("cancelled", "not_found"):
            self._known.forget(appointment_id)
        if change.outcome == "cancelled":
            self._known.cancelled[appointment_id] = result  # a repeat answers the same
        if change.outcome == "cancelled" and not change.already:
            for error in change.errors:
                self._attempt("error", "cancel segment", error)
            self._state.changes.append(
                AppointmentChange(
                    kind="cancelled", appointment_id=appointment_id, before=details.view.short_label
                )
            )
            self._set_status(BookingStatus.CANCELLED)
        return result
