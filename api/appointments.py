"""The Retell functions for callers who already have an appointment: find it, cancel it,
move it (and ``check_availability`` with an ``appointment_id``, the move's first step).

Like the booking functions (:class:`api.functions.Functions`, which these extend), each
understands its German arguments (:mod:`api.understanding`), sends one message to the
call's workflow within its budget and answers with the documented fields and one German
sentence. The workflow decides which appointments the caller may see: those of the
number they call from, or those found by the exact name and day they gave.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.envelope import FunctionCall, _iso, _wait
from api.functions import MSG_SLOW, Functions
from api.understanding import Misunderstood, Slot, appointment_id, names_a_time
from contracts.appointments import (
    AppointmentView,
    CancelAppointment,
    CancelResult,
    CheckMove,
    FoundAppointments,
    RescheduleAppointment,
)
from contracts.messages import BookingResult, HoldResult
from domain.appointment_messages import (
    msg_appointments_found,
    msg_cancelled,
    msg_change_failed,
    msg_change_pending,
    msg_move_failed,
    msg_moved,
    msg_new_time_needed,
    msg_no_appointment,
    msg_too_late,
    msg_which_appointment,
)
from domain.messages import msg_failed
from workflows.call import CallWorkflow


def _listed(views: list[AppointmentView]) -> list[tuple[str, datetime]]:
    return [(v.service, v.start) for v in views]


class AppointmentFunctions(Functions):
    """All eight Retell functions: the five of a booking plus the three below."""

    def _appointments(self, views: list[AppointmentView]) -> list[dict[str, Any]]:
        return [
            {
                "appointment_id": v.appointment_id,
                "service": v.service,
                "start": v.start.isoformat(),
                "end": v.end.isoformat(),
                "stylist": v.stylist,
                "label": v.label,
            }
            for v in views
        ]

    # ------------------------------------------------------------ check for a move
    async def check_availability(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        """With ``appointment_id``: hold the new time for moving that appointment."""
        moving = appointment_id(fc.args)
        if moving is None:
            return await super().check_availability(fc, rid)
        service = self.understand.service(fc.args)
        if isinstance(service, Misunderstood):
            return self._not_understood(service)
        stylist = self.understand.stylist(fc.args)
        if isinstance(stylist, Misunderstood):
            return self._not_understood(stylist)
        now = datetime.now(UTC)
        start = self.understand.start(fc.args, now, service.name if service else None)
        if isinstance(start, Misunderstood):
            return self._not_understood(start)
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
            return self._slow_hold(fc, exc)
        if result.outcome == "unknown_appointment":
            return self._hold_answer(
                error="unknown_appointment", message=msg_no_appointment(by_name=False)
            )
        if result.outcome == "too_late":
            hours = self.settings.cancellation_notice_hours
            return self._hold_answer(
                service=result.service, error="too_late", message=msg_too_late(hours, "move")
            )
        chosen = service or self.understand.service_named(result.service)
        problem = (
            self.understand.hours_problem(start, chosen)
            if chosen is not None and not result.available
            else None
        )
        slot = Slot(chosen, start, stylist) if chosen is not None else None
        return self._from_hold(result, slot=slot, error=problem)

    def _slow_hold(self, fc: FunctionCall, exc: BaseException) -> dict[str, Any]:
        self._slow(fc, exc)
        return {**self._hold_answer(message=MSG_SLOW), "_slow": True}

    # ------------------------------------------------------------ find
    async def find_appointments(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        """The caller's upcoming appointments; by name only together with a day."""
        request = self.understand.find(fc.args, datetime.now(UTC))
        by_name = request.customer_name is not None
        try:
            found: FoundAppointments = await self._update(
                fc,
                CallWorkflow.find_appointments,
                request,
                _wait(self.settings.check_budget_seconds),
            )
        except Exception as exc:
            self._slow(fc, exc)
            return {"appointments": [], "message": msg_change_pending(), "_slow": True}
        if found.outcome == "failed":
            return {"appointments": [], "message": msg_failed()}
        if not found.appointments:
            return {"appointments": [], "message": msg_no_appointment(by_name=by_name)}
        now = datetime.now(UTC)
        return {
            "appointments": self._appointments(found.appointments),
            "message": msg_appointments_found(_listed(found.appointments), self.zone, now),
        }

    # ------------------------------------------------------------ cancel
    async def cancel_appointment(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
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
            pending = CancelResult(status="pending")
            return {**self._cancel_answer(pending, request.appointment_id), "_slow": True}
        return self._cancel_answer(result, request.appointment_id)

    def _cancel_answer(self, result: CancelResult, asked: str | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        view = result.appointment
        if result.status == "cancelled" and view is not None:
            message = msg_cancelled(view.service, view.start, self.zone, now)
        elif result.status == "too_late":
            message = msg_too_late(result.notice_hours, "cancel")
        elif result.status == "ambiguous":
            message = msg_which_appointment(_listed(result.candidates), "cancel", self.zone, now)
        elif result.status == "not_found":
            message = msg_no_appointment(by_name=False)
        elif result.status == "pending":
            message = msg_change_pending()
        else:
            message = msg_change_failed()
        answer: dict[str, Any] = {
            "cancelled": result.status == "cancelled",
            "status": result.status,
            "appointment_id": view.appointment_id if view else asked,
            "service": view.service if view else None,
            "start": _iso(view.start) if view else None,
            "message": message,
        }
        if result.candidates:
            answer["appointments"] = self._appointments(result.candidates)
        if result.status == "pending":
            answer["_slow"] = True  # never cached: asking again joins the running cancel
        return answer

    # ------------------------------------------------------------ move
    async def reschedule_appointment(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        """Book the new time, then cancel the old appointment (or leave it untouched)."""
        moving = appointment_id(fc.args)
        service = self.understand.service(fc.args)
        if isinstance(service, Misunderstood):
            return self._move_simple("invalid_input", service.message, moving, service.error)
        stylist = self.understand.stylist(fc.args)
        if isinstance(stylist, Misunderstood):
            return self._move_simple("invalid_input", stylist.message, moving, stylist.error)
        start: datetime | None = None
        if names_a_time(fc.args):
            now = datetime.now(UTC)
            understood = self.understand.start(fc.args, now, service.name if service else None)
            if isinstance(understood, Misunderstood):
                return self._move_simple(
                    "invalid_input", understood.message, moving, understood.error
                )
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
            pending = self._move_simple("pending", msg_change_pending(), moving)
            return {**pending, "_slow": True}
        return self._move_answer(result, moving)

    def _move_simple(
        self,
        status: str,
        message: str,
        appointment_id: str | None,
        error: str | None = None,
    ) -> dict[str, Any]:
        answer = self._booking_simple(status, message, error)
        return {**answer, "previous_appointment_id": appointment_id}

    def _move_answer(self, result: BookingResult, asked: str | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        answer = self._booking_answer(result)
        previous = result.previous
        alternatives = [a.start for a in result.alternatives]
        if result.status == "booked" and previous and result.start and result.service:
            message = msg_moved(result.service, previous.start, result.start, self.zone, now)
        elif result.status in ("slot_taken", "hold_expired") and previous:
            message = msg_move_failed(
                previous.service, previous.start, alternatives, self.zone, now
            )
        elif result.status == "too_late":
            message = msg_too_late(self.settings.cancellation_notice_hours, "move")
        elif result.status == "not_found":
            message = msg_no_appointment(by_name=False)
        elif result.status == "ambiguous":
            message = msg_which_appointment(_listed(result.candidates), "move", self.zone, now)
        elif result.status == "failed" and result.reason == "no_hold":
            message = msg_new_time_needed()
        elif result.status == "pending":
            message = msg_change_pending()
        elif result.status == "failed":
            message = msg_change_failed()
        else:
            message = answer["message"]
        answer["message"] = message
        answer["previous_appointment_id"] = previous.appointment_id if previous else asked
        if result.candidates:
            answer["appointments"] = self._appointments(result.candidates)
        if result.status == "pending":
            answer["_slow"] = True  # never cached: asking again joins the running move
        return answer
