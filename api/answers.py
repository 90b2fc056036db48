"""Answers: what each Retell function returns, built from the workflow's results (or from
what was not understood), with the one German sentence the agent can say.

One pydantic model per answer kind, field for field and in the order of the interface
contract (``POST /retell/functions`` declares them as its ``response_model``): a check or
hold answer (:class:`HoldAnswer`), a booking (:class:`BookingAnswer`), a move
(:class:`MoveAnswer`), a cancellation (:class:`CancelAnswer`), the caller's appointments
(:class:`AppointmentsAnswer`). Times are ISO 8601 text as the workflow gave them.

An answer that is not final (Temporal did not answer within the budget, or the change it
started is still running) says so in :attr:`Answer.slow`, which is never serialized: such
an answer is not kept for duplicate deliveries (a retry asks the workflow again) and is
counted as ``pending``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from api.envelope import _iso
from api.understanding import Misunderstood, Slot
from contracts.appointments import AppointmentView, CancelResult, FoundAppointments
from contracts.messages import Alternative, BookingResult, HoldResult
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
from domain.catalog import Catalog
from domain.messages import (
    HoldAction,
    msg_available,
    msg_booking_in_progress,
    msg_booking_status,
    msg_closed_day,
    msg_day_full,
    msg_extend_limit,
    msg_failed,
    msg_hold_cancelled,
    msg_hold_expired,
    msg_hold_extended,
    msg_hold_lost,
    msg_no_hold,
    msg_not_offered_by,
    msg_outside_opening_hours,
    msg_pending,
    msg_slot_taken,
)
from domain.stylist_lookup import stylist_names
from domain.wording import alternative_label

MSG_SLOW = (
    "Einen Moment bitte, unser Kalender antwortet gerade langsam. "
    "Ich schaue gleich noch einmal nach."
)
MSG_CALL_OVER = "Dieses Gespräch ist bereits beendet."
MSG_FRESH_HOLD = "Die Reservierung war kurz abgelaufen, der Termin war aber noch frei. "


def _only_when_given(schema: dict[str, Any]) -> None:
    """JSON schema: ``appointments`` is the one field an answer may leave out (it is
    there, a list, only when the caller has to choose); never null."""
    required = schema.get("required")
    if isinstance(required, list) and "appointments" in required:
        required.remove("appointments")
    listed = schema.get("properties", {}).get("appointments", {})
    arrays = [kind for kind in listed.pop("anyOf", []) if kind.get("type") == "array"]
    if arrays:
        listed.update(arrays[0])


def _omitted(value: Any) -> bool:
    return value is None


# Every field is always present (a default is serialized too), but see _only_when_given.
_ALWAYS = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Item(BaseModel):
    """One entry of an answer's list."""

    model_config = _ALWAYS


class AlternativeItem(Item):
    start: str
    end: str
    label: str  # "Mittwoch, 26. November, 11:30 Uhr"
    stylist: str | None


class SegmentItem(Item):
    key: str
    start: str
    end: str
    calcom_booking_uid: str | None


class AppointmentItem(Item):
    appointment_id: str
    service: str
    start: str
    end: str
    stylist: str | None
    label: str


class Answer(BaseModel):
    """What one function call answers; ``message`` is the German sentence."""

    model_config = _ALWAYS
    _slow: bool = PrivateAttr(default=False)

    @property
    def slow(self) -> bool:
        """Not final: not kept for duplicates, counted as ``pending`` (not serialized)."""
        return self._slow

    def not_final(self) -> Self:
        """This answer, marked :attr:`slow`."""
        self._slow = True
        return self

    def outcome(self) -> str:
        """The business outcome, for ``api_requests_total``."""
        raise NotImplementedError


class HoldAnswer(Answer):
    """check_availability, extend_hold, cancel_hold."""

    available: bool = False
    service: str | None = None
    start: str | None = None
    end: str | None = None
    hold_id: str | None = None
    hold_expires_at: str | None = None
    hold_seconds_left: int | None = None
    stylist: str | None = None
    alternatives: list[AlternativeItem] = []
    error: str | None = None
    message: str

    def outcome(self) -> str:
        if self.error:
            return self.error
        if self.available:
            return "available"
        return "taken" if self.alternatives else "unavailable"


class _Booking(Answer):
    """The fields of a booking answer. BookingAnswer and MoveAnswer are siblings, not
    parent and child: the route's union of answers tells them apart by their type."""

    booked: bool = False
    status: str
    appointment_id: str | None = None
    start: str | None = None
    end: str | None = None
    stylist: str | None = None
    segments: list[SegmentItem] = []
    alternatives: list[AlternativeItem] = []
    customer_name: str | None = None
    error: str | None = None
    message: str

    def outcome(self) -> str:
        return self.error or self.status


class BookingAnswer(_Booking):
    """start_booking, booking_status."""


class MoveAnswer(_Booking):
    """reschedule_appointment: a booking answer for the new time, plus the appointment it
    replaces (or was to replace), and the caller's appointments when it was ambiguous."""

    model_config = ConfigDict(json_schema_extra=_only_when_given)

    previous_appointment_id: str | None
    appointments: list[AppointmentItem] | None = Field(default=None, exclude_if=_omitted)


class CancelAnswer(Answer):
    """cancel_appointment."""

    model_config = ConfigDict(json_schema_extra=_only_when_given)

    cancelled: bool
    status: str
    appointment_id: str | None
    service: str | None
    start: str | None
    message: str
    appointments: list[AppointmentItem] | None = Field(default=None, exclude_if=_omitted)

    def outcome(self) -> str:
        return self.status


class AppointmentsAnswer(Answer):
    """find_appointments."""

    appointments: list[AppointmentItem]
    message: str

    def outcome(self) -> str:
        return "unavailable"  # neither available nor taken: as a check without a slot


FunctionAnswer = HoldAnswer | BookingAnswer | MoveAnswer | CancelAnswer | AppointmentsAnswer


def outcome_label(answer: Answer) -> str:
    """The business outcome of an answer, for ``api_requests_total``."""
    return "pending" if answer.slow else answer.outcome()


class Answers:
    """Builds the answers in the salon's zone (labels, sentences) from its catalog."""

    def __init__(self, catalog: Catalog, zone: ZoneInfo, *, notice_hours: float) -> None:
        self.catalog = catalog
        self.zone = zone
        self.notice_hours = notice_hours

    def alternatives(self, alternatives: list[Alternative]) -> list[AlternativeItem]:
        return [
            AlternativeItem(
                start=a.start.isoformat(),
                end=a.end.isoformat(),
                label=alternative_label(a.start, self.zone),
                stylist=a.stylist,
            )
            for a in alternatives
        ]

    @staticmethod
    def appointments(views: list[AppointmentView]) -> list[AppointmentItem]:
        return [
            AppointmentItem(
                appointment_id=v.appointment_id,
                service=v.service,
                start=v.start.isoformat(),
                end=v.end.isoformat(),
                stylist=v.stylist,
                label=v.label,
            )
            for v in views
        ]

    # ------------------------------------------------------------ checks and holds
    @staticmethod
    def check_not_understood(problem: Misunderstood) -> HoldAnswer:
        return HoldAnswer(service=problem.service, error=problem.error, message=problem.message)

    @staticmethod
    def hold_slow(service: str | None = None) -> HoldAnswer:
        return HoldAnswer(service=service, message=MSG_SLOW).not_final()

    @staticmethod
    def hold_call_over(service: str | None = None) -> HoldAnswer:
        return HoldAnswer(service=service, message=MSG_CALL_OVER)

    @staticmethod
    def unknown_appointment() -> HoldAnswer:
        return HoldAnswer(error="unknown_appointment", message=msg_no_appointment(by_name=False))

    def move_too_late(self, service: str | None) -> HoldAnswer:
        message = msg_too_late(self.notice_hours, "move")
        return HoldAnswer(service=service, error="too_late", message=message)

    def from_hold(
        self,
        result: HoldResult,
        *,
        slot: Slot | None = None,
        error: str | None = None,
        action: HoldAction = "extend",
    ) -> HoldAnswer:
        """The answer to a HoldResult; ``slot`` is what the caller asked for (a check),
        ``error`` the API's own reading of the opening hours, ``action`` names what a
        caller without a hold asked."""
        now = datetime.now(UTC)
        name = result.service or (slot.service.name if slot else None)
        start = result.start or (slot.start if slot else None)
        starts = [a.start for a in result.alternatives]
        left = result.hold_seconds_left or 0
        outcome = result.outcome
        if outcome in ("held", "extended", "extend_limit"):
            assert name is not None and result.start is not None
            if outcome == "held":
                message = msg_available(name, result.start, self.zone, left, now, result.stylist)
            elif outcome == "extended":
                message = msg_hold_extended(left)
            else:
                message = msg_extend_limit(left)
            return HoldAnswer(
                available=True,
                service=name,
                start=_iso(result.start),
                end=_iso(result.end),
                hold_id=result.hold_id,
                hold_expires_at=_iso(result.hold_expires_at),
                hold_seconds_left=result.hold_seconds_left,
                stylist=result.stylist,
                message=message,
            )
        # The API's own reading of opening hours wins; else the workflow's (Cal.com's).
        hours_problem = error
        names = [a.stylist for a in result.alternatives]
        if outcome in ("slot_taken", "hold_lost") and name and start:
            if hours_problem:
                message = self._opening_message(hours_problem, name, start, starts, now)
            elif outcome == "hold_lost":
                message = msg_hold_lost(
                    name, start, self.zone, starts, now, stylist=result.stylist, stylists=names
                )
            else:
                message = self._taken_message(
                    name, start, result.alternatives, slot, now, day_full=result.day_full
                )
        elif outcome == "booking":
            message = msg_booking_in_progress()
        elif outcome == "cancelled":
            message = msg_hold_cancelled()
        elif outcome == "expired" and name and start:
            message = msg_hold_expired(name, start, self.zone, now, result.stylist)
        elif outcome == "no_hold":
            message = msg_no_hold(action)
        else:
            message = msg_failed()
        return HoldAnswer(
            service=name,
            alternatives=self.alternatives(result.alternatives),
            error=error,
            message=message,
        )

    def _taken_message(
        self,
        service: str,
        start: datetime,
        alternatives: list[Alternative],
        slot: Slot | None,
        now: datetime,
        *,
        day_full: bool = False,
    ) -> str:
        """Taken: with the stylist asked for (another at the very time first), or at all;
        ``day_full``: nothing else that day either (for the stylist asked for)."""
        starts = [a.start for a in alternatives]
        names = [a.stylist for a in alternatives]
        asked = slot.stylist if slot is not None else None
        if asked is not None and slot is not None and asked.key not in slot.service.stylists:
            doers = stylist_names(self.catalog, slot.service.stylists)
            return msg_not_offered_by(
                service, asked.name, doers, start, self.zone, starts, now, stylists=names
            )
        said = msg_day_full if day_full else msg_slot_taken
        return said(
            service,
            start,
            self.zone,
            starts,
            now,
            stylists=names,
            asked=asked.name if asked is not None else None,
        )

    def _opening_message(
        self, problem: str, service: str, start: datetime, starts: list[datetime], now: datetime
    ) -> str:
        local = start.astimezone(self.zone)
        if problem == "closed_day":
            return msg_closed_day(local.date(), self.zone, starts, now)
        opening = self.catalog.opening_hours.for_weekday(local.weekday())
        return msg_outside_opening_hours(service, start, self.zone, opening, starts, now)

    # ------------------------------------------------------------ bookings
    @staticmethod
    def booking_not_understood(problem: Misunderstood) -> BookingAnswer:
        return BookingAnswer(status="invalid_input", error=problem.error, message=problem.message)

    @staticmethod
    def booking_slow() -> BookingAnswer:
        return BookingAnswer(status="pending", message=msg_pending()).not_final()

    @staticmethod
    def booking_call_over() -> BookingAnswer:
        return BookingAnswer(status="no_booking", message=MSG_CALL_OVER)

    def no_booking(self) -> BookingAnswer:
        message = msg_booking_status("no_booking", zone=self.zone)
        return BookingAnswer(status="no_booking", message=message)

    def booking(
        self, result: BookingResult, name: str | None = None, slot: Slot | None = None
    ) -> BookingAnswer:
        """The answer to a BookingResult; ``name``: how the caller is addressed, ``slot``:
        what a one-shot start_booking checked itself."""
        message = self._booking_message(result, name)
        if slot is not None and result.status == "slot_taken" and result.reason == "slot_taken":
            # The one-shot's own check found the slot taken: say it as a check would
            # (with the stylist asked for, and another one at that very time first).
            now = datetime.now(UTC)
            message = self._taken_message(
                slot.service.name, slot.start, result.alternatives, slot, now
            )
        return BookingAnswer(**self._booking_fields(result, name), message=message)

    def _booking_message(self, result: BookingResult, name: str | None) -> str:
        message = msg_booking_status(
            result.status,
            zone=self.zone,
            service=result.service,
            start=result.start,
            customer_name=name or result.customer_name,
            alternatives=[a.start for a in result.alternatives],
            now=datetime.now(UTC),
            stylist=result.stylist,
            stylists=[a.stylist for a in result.alternatives],
        )
        if result.status == "pending" and result.reason == "booking_in_progress":
            message = msg_booking_in_progress()
        if result.fresh_hold and result.booked:
            message = MSG_FRESH_HOLD + message
        return message

    def _booking_fields(self, result: BookingResult, name: str | None) -> dict[str, Any]:
        return {
            "booked": result.booked,
            "status": result.status,
            "appointment_id": result.appointment_id,
            "start": _iso(result.start),
            "end": _iso(result.end),
            "stylist": result.stylist,
            "segments": [
                SegmentItem(
                    key=s.key,
                    start=s.start.isoformat(),
                    end=s.end.isoformat(),
                    calcom_booking_uid=s.calcom_booking_uid,
                )
                for s in result.segments
            ],
            "alternatives": self.alternatives(result.alternatives),
            "customer_name": name or result.customer_name,
        }

    # ------------------------------------------------------------ appointments
    @staticmethod
    def found_slow() -> AppointmentsAnswer:
        return AppointmentsAnswer(appointments=[], message=msg_change_pending()).not_final()

    def found(self, found: FoundAppointments, *, by_name: bool) -> AppointmentsAnswer:
        if found.outcome == "failed":
            return AppointmentsAnswer(appointments=[], message=msg_failed())
        if not found.appointments:
            return AppointmentsAnswer(appointments=[], message=msg_no_appointment(by_name=by_name))
        listed = _listed(found.appointments)
        return AppointmentsAnswer(
            appointments=self.appointments(found.appointments),
            message=msg_appointments_found(listed, self.zone, datetime.now(UTC)),
        )

    def cancelled(self, result: CancelResult, asked: str | None) -> CancelAnswer:
        """The answer to a CancelResult; ``asked``: the appointment id the caller gave."""
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
        answer = CancelAnswer(
            cancelled=result.status == "cancelled",
            status=result.status,
            appointment_id=view.appointment_id if view else asked,
            service=view.service if view else None,
            start=_iso(view.start) if view else None,
            message=message,
            appointments=self.appointments(result.candidates) if result.candidates else None,
        )
        # Never kept while pending: asking again joins the running cancel.
        return answer.not_final() if result.status == "pending" else answer

    @staticmethod
    def move_not_understood(problem: Misunderstood, asked: str | None) -> MoveAnswer:
        return MoveAnswer(
            status="invalid_input",
            error=problem.error,
            message=problem.message,
            previous_appointment_id=asked,
        )

    @staticmethod
    def move_slow(asked: str | None) -> MoveAnswer:
        pending = MoveAnswer(
            status="pending", message=msg_change_pending(), previous_appointment_id=asked
        )
        return pending.not_final()

    def moved(self, result: BookingResult, asked: str | None) -> MoveAnswer:
        """The answer to a move's BookingResult; ``asked``: the appointment id given."""
        now = datetime.now(UTC)
        previous = result.previous
        alternatives = [a.start for a in result.alternatives]
        if result.status == "booked" and previous and result.start and result.service:
            message = msg_moved(result.service, previous.start, result.start, self.zone, now)
        elif result.status in ("slot_taken", "hold_expired") and previous:
            message = msg_move_failed(
                previous.service, previous.start, alternatives, self.zone, now
            )
        elif result.status == "too_late":
            message = msg_too_late(self.notice_hours, "move")
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
            message = self._booking_message(result, None)
        answer = MoveAnswer(
            **self._booking_fields(result, None),
            message=message,
            previous_appointment_id=previous.appointment_id if previous else asked,
            appointments=self.appointments(result.candidates) if result.candidates else None,
        )
        # Never kept while pending: asking again joins the running move.
        return answer.not_final() if result.status == "pending" else answer


def _listed(views: list[AppointmentView]) -> list[tuple[str, datetime]]:
    return [(v.service, v.start) for v in views]
