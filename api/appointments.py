"""The Retell functions for callers who already have an appointment: find it, cancel it,
move it (and ``check_availability`` with an ``appointment_id``, the move's first step).

Like the booking functions (:class:`api.functions.Functions`, which these extend), each
understands its German arguments, sends one message to the call's workflow within its
budget and answers with the documented fields and one German sentence. The workflow
decides which appointments the caller may see: those of the number they call from, or
those found by the exact name and day they gave.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from api.envelope import FunctionCall, _iso, _text, _wait
from api.functions import MSG_SLOW, Functions, Slot
from contracts.appointments import (
    AppointmentView,
    CancelAppointment,
    CancelResult,
    CheckMove,
    FindAppointments,
    FoundAppointments,
    RescheduleAppointment,
)
from contracts.messages import BookingResult, HoldResult
from domain.alternatives import opening_problem
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
from domain.catalog import Service, Stylist
from domain.german_dates import DateParseError, parse_date
from domain.messages import msg_failed, msg_unknown_service, msg_unknown_stylist
from domain.names import SPOKEN_MAX_LENGTH, understand_name
from domain.service_lookup import find_service, service_names
from domain.stylist_lookup import stylist_names, understand_stylist
from workflows.call import CallWorkflow


def _appointment_id(args: dict[str, Any]) -> str | None:
    return _text(args, "appointment_id", "termin_id", limit=100)


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

    def _service_arg(self, args: dict[str, Any]) -> Service | dict[str, Any] | None:
        """The named service (None: not named), or the unknown_service answer."""
        spoken = _text(args, "service", "dienstleistung")
        if spoken is None:
            return None
        found = find_service(self.catalog, spoken)
        if found is None:
            names = service_names(self.catalog)
            return self._hold_answer(error="unknown_service", message=msg_unknown_service(names))
        return found

    def _stylist_arg(self, args: dict[str, Any]) -> Stylist | dict[str, Any] | None:
        """The stylist asked for (None: anyone, i.e. the appointment's own when free), or
        the unknown_stylist answer."""
        wish = understand_stylist(self.catalog, _text(args, "stylist", "friseur", limit=100))
        if wish.unknown:
            names = stylist_names(self.catalog)
            return self._hold_answer(error="unknown_stylist", message=msg_unknown_stylist(names))
        return wish.stylist

    # ------------------------------------------------------------ check for a move
    async def check_availability(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        """With ``appointment_id``: hold the new time for moving that appointment."""
        appointment_id = _appointment_id(fc.args)
        if appointment_id is None:
            return await super().check_availability(fc, rid)
        now = datetime.now(UTC)
        service = self._service_arg(fc.args)
        if isinstance(service, dict):
            return service
        stylist = self._stylist_arg(fc.args)
        if isinstance(stylist, dict):
            return stylist
        start = self._understand_start(fc.args, now, service.name if service else None)
        if isinstance(start, dict):
            return start
        request = CheckMove(
            appointment_id=appointment_id,
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
        chosen = service or next(
            (s for s in self.catalog.services if s.name == result.service), None
        )
        problem = (
            opening_problem(start, chosen.total_minutes, self.catalog.opening_hours, self.zone)
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
        spoken = _text(fc.args, "customer_name", "name", limit=SPOKEN_MAX_LENGTH)
        name = understand_name(spoken).name if spoken else None
        day: date | None = None
        if date_text := _text(fc.args, "date", "datum"):
            try:
                day = parse_date(date_text, now=datetime.now(UTC), zone=self.zone)
            except (DateParseError, ValueError, OverflowError):
                day = None
        by_name = bool(name) and day is not None
        request = FindAppointments(
            customer_name=name if by_name else None, day=day if by_name else None
        )
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
        request = CancelAppointment(appointment_id=_appointment_id(fc.args), request_id=rid)
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
        appointment_id = _appointment_id(fc.args)
        service = self._service_arg(fc.args)
        if isinstance(service, dict):
            return self._move_simple("invalid_input", service["message"], appointment_id, service)
        stylist = self._stylist_arg(fc.args)
        if isinstance(stylist, dict):
            return self._move_simple("invalid_input", stylist["message"], appointment_id, stylist)
        start: datetime | None = None
        if _text(fc.args, "date", "datum", "time", "uhrzeit"):
            understood = self._understand_start(
                fc.args, datetime.now(UTC), service.name if service else None
            )
            if isinstance(understood, dict):
                return self._move_simple(
                    "invalid_input", understood["message"], appointment_id, understood
                )
            start = understood
        request = RescheduleAppointment(
            appointment_id=appointment_id,
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
            pending = self._move_simple("pending", msg_change_pending(), appointment_id)
            return {**pending, "_slow": True}
        return self._move_answer(result, appointment_id)

    def _move_simple(
        self,
        status: str,
        message: str,
        appointment_id: str | None,
        check: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        answer = self._booking_simple(status, message, check["error"] if check else None)
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
