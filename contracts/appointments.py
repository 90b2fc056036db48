"""Messages about existing appointments: recognising a caller, finding their
appointments, cancelling and moving one (the call workflow's updates), and the lookup
workflow of the inbound webhook.

An :class:`AppointmentView` is all a caller ever hears about an appointment; names,
phone numbers and e-mail addresses stay in the activities' answers to the workflow and
never reach the call's queryable state.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.catalog import Service


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AppointmentView(_Msg):
    """One of the caller's own appointments, as the agent may say it."""

    appointment_id: str
    service: str
    start: datetime
    end: datetime
    stylist: str | None = None
    label: str  # "Donnerstag, 26. November, 10:45 Uhr" (salon's zone)
    short_label: str  # "Do 10:45", for the Temporal UI


class FindAppointments(_Msg):
    """Update: the caller's upcoming appointments; with ``customer_name`` and ``day``
    also those on that day booked under that name (a caller phoning from elsewhere)."""

    customer_name: str | None = None
    day: date | None = None
    request_id: str | None = None


class FoundAppointments(_Msg):
    outcome: Literal["found", "none", "failed"]
    appointments: list[AppointmentView] = []


class CancelAppointment(_Msg):
    """Update: cancel ``appointment_id`` (optional when the caller has exactly one)."""

    appointment_id: str | None = None
    request_id: str | None = None


CancelOutcome = Literal["cancelled", "not_found", "ambiguous", "too_late", "failed", "pending"]


class CancelResult(_Msg):
    status: CancelOutcome
    cancelled: bool = False
    appointment: AppointmentView | None = None
    # ambiguous: the caller's upcoming appointments, to ask which one
    candidates: list[AppointmentView] = []
    notice_hours: float = 0
    reason: str | None = None


class CheckMove(_Msg):
    """Update: hold ``start`` for moving ``appointment_id`` (check_availability with an
    ``appointment_id``): the appointment's own claims do not block it."""

    appointment_id: str
    start: datetime
    service: Service | None = None  # None: the appointment's own service
    stylist: str | None = None  # a catalog key; None: the appointment's stylist if free
    request_id: str | None = None


class RescheduleAppointment(_Msg):
    """Update: book the new slot for the appointment's service and customer, then cancel
    the appointment. Without ``start`` the slot held by an earlier :class:`CheckMove`
    for this appointment is booked."""

    appointment_id: str | None = None
    start: datetime | None = None
    service: Service | None = None
    stylist: str | None = None  # as in CheckMove
    request_id: str | None = None


class AppointmentChange(_Msg):
    """What a call did to an existing appointment (the call's state and UI details)."""

    kind: Literal["cancelled", "moved"]
    appointment_id: str
    before: str  # short label of the old time: "Do 10:45"
    after: str | None = None  # moved: short label of the new time
    new_appointment_id: str | None = None


class LookupCaller(_Msg):
    """Input of the lookup workflow behind the inbound webhook."""

    phone: str  # E.164
    time_zone: str


class CallerKnown(_Msg):
    """Whether the number booked with us before, under which name, and the next
    appointment booked for it."""

    known: bool
    customer_name: str | None = None
    next_appointment: AppointmentView | None = None
