"""The Retell functions for callers who already have an appointment: find it, cancel it,
move it (and ``check_availability`` with an ``appointment_id``, the move's first step).

Like the booking functions (:class:`api.functions.Functions`, which these extend), each
understands its German arguments (:mod:`api.understanding`), sends one message to the
call's workflow within its budget and answers with the documented fields and one German
sentence (:mod:`api.answers`). The workflow decides which appointments the caller may
see: those of the number they call from, or those found by the exact name and day they
gave.
"""

from __future__ import annotations

from datetime import UTC, datetime

from api.answers import AppointmentsAnswer, CancelAnswer, HoldAnswer, MoveAnswer
from api.envelope import FunctionCall, _wait
from api.functions import Functions
from api.understanding import Misunderstood, Slot, appointment_id, names_a_time
from contracts.appointments import (
    CancelAppointment,
    CancelResult,
    CheckMove,
    FoundAppointments,
    RescheduleAppointment,
)
from contracts.messages import BookingResult, HoldResult
from workflows.call import CallWorkflow


class AppointmentFunctions(Functions):
    """All eight Retell functions: the five of a booking plus the three below."""

    # ------------------------------------------------------------ check for a move
    async def check_availability(self, fc: FunctionCall, rid: str | None) -> HoldAnswer:
        """With ``appointment_id``: hold the new time for moving that appointment."""
        moving = appointment_id(fc.args)
        if moving is None:
            return await super().check_availability(fc, rid)
        service = self.understand.service(fc.args)
        if isinstance(service, Misunderstood):
            return self.answer.check_not_understood(service)
        stylist = self.understand.stylist(fc.args)
        if isinstance(stylist, Misunderstood):
            return self.answer.check_not_understood(stylist)
        now = datetime.now(UTC)
        start = self.understand.start(fc.args, now, service.name if service else None)
        if isinstance(start, Misunderstood):
            return self.answer.check_not_understood(start)
        request = CheckMove(
            appointment_id=moving,
            start=start,
            service=service,
            stylist=stylist.key if stylist else None,
            request_id=rid,
        )
        try:
            result: HoldResult = await self._update(
                fc,
                CallWorkflow.check_move,
                request,
                _wait(self.settings.check_budget_seconds),
            )
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return self.answer.hold_slow()
        if result.outcome == "unknown_appointment":
            return self.answer.unknown_appointment()
        if result.outcome == "too_late":
            return self.answer.move_too_late(result.service)
        chosen = service or self.understand.service_named(result.service)
        problem = (
            self.understand.hours_problem(start, chosen)
            if chosen is not None and not result.available
            else None
        )
        slot = Slot(chosen, start, stylist) if chosen is not None else None
        return self.answer.from_hold(result, slot=slot, error=problem)

    # ------------------------------------------------------------ find
    async def find_appointments(self, fc: FunctionCall, rid: str | None) -> AppointmentsAnswer:
        """The caller's upcoming appointments; by name only together with a day."""
        request = self.understand.find(fc.args, datetime.now(UTC))
        try:
            found: FoundAppointments = await self._update(
                fc,
                CallWorkflow.find_appointments,
                request,
                _wait(self.settings.check_budget_seconds),
            )
        except Exception as exc:
            self._slow(fc, exc)
            return self.answer.found_slow()
        return self.answer.found(found, by_name=request.customer_name is not None)

    # ------------------------------------------------------------ cancel
    async def cancel_appointment(self, fc: FunctionCall, rid: str | None) -> CancelAnswer:
        """Cancel one of the caller's appointments (idempotent)."""
        request = CancelAppointment(appointment_id=appointment_id(fc.args), request_id=rid)
        try:
            result: CancelResult = await self._update(
                fc,
                CallWorkflow.cancel_appointment,
                request,
                _wait(self.settings.booking_budget_seconds),
            )
        except Exception as exc:
            self._slow(fc, exc)
            result = CancelResult(status="pending")
        return self.answer.cancelled(result, request.appointment_id)

    # ------------------------------------------------------------ move
    async def reschedule_appointment(self, fc: FunctionCall, rid: str | None) -> MoveAnswer:
        """Book the new time, then cancel the old appointment (or leave it untouched)."""
        moving = appointment_id(fc.args)
        service = self.understand.service(fc.args)
        if isinstance(service, Misunderstood):
            return self.answer.move_not_understood(service, moving)
        stylist = self.understand.stylist(fc.args)
        if isinstance(stylist, Misunderstood):
            return self.answer.move_not_understood(stylist, moving)
        start: datetime | None = None
        if names_a_time(fc.args):
            now = datetime.now(UTC)
            understood = self.understand.start(fc.args, now, service.name if service else None)
            if isinstance(understood, Misunderstood):
                return self.answer.move_not_understood(understood, moving)
            start = understood
        request = RescheduleAppointment(
            appointment_id=moving,
            start=start,
            service=service,
            stylist=stylist.key if stylist else None,
            request_id=rid,
        )
        try:
            result: BookingResult = await self._update(
                fc,
                CallWorkflow.reschedule_appointment,
                request,
                _wait(self.settings.booking_budget_seconds),
            )
        except Exception as exc:
            self._slow(fc, exc)
            return self.answer.move_slow(moving)
        return self.answer.moved(result, moving)
