"""Understanding: the agent's German arguments as typed requests, or what was not
understood. Pure: no Temporal, no answers (``api.answers`` says them).

Services and stylists are found in the catalog by name or alias, dates and times are read
in the salon's zone and must lie between now and the booking horizon, a customer's name,
phone and e-mail are cleaned (an unusable phone or e-mail is dropped, never fatal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.envelope import _text
from contracts.appointments import FindAppointments
from contracts.messages import CheckAvailability, Customer
from domain.alternatives import opening_problem
from domain.catalog import Catalog, Service, Stylist
from domain.contact import customer_contact
from domain.german_dates import DateParseError, parse_date, parse_datetime
from domain.german_times import TimeParseError
from domain.horizon import beyond_horizon, last_bookable_day
from domain.messages import (
    msg_in_the_past,
    msg_invalid_date,
    msg_invalid_time,
    msg_missing_name,
    msg_too_far_ahead,
    msg_unknown_service,
    msg_unknown_stylist,
    msg_unusable_name,
)
from domain.names import SPOKEN_MAX_LENGTH, understand_name
from domain.service_lookup import find_service, service_names
from domain.stylist_lookup import stylist_names, understand_stylist
from domain.wording import WEEKDAY_NAMES


@dataclass(frozen=True)
class Misunderstood:
    """Arguments that were not understood: the German sentence that says so, the
    documented ``error`` code (None: the answer names none), and the service understood
    before it went wrong (named in a check's answer)."""

    message: str
    error: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class Slot:
    """What a caller asked for: a service at a start, with a stylist (None: anyone)."""

    service: Service
    start: datetime
    stylist: Stylist | None = None

    def check(self, request_id: str | None) -> CheckAvailability:
        key = self.stylist.key if self.stylist is not None else None
        return CheckAvailability(
            service=self.service, start=self.start, stylist=key, request_id=request_id
        )

    def summary(self, zone: ZoneInfo) -> str:
        """ "Dauerwelle, Do 26.11. 10:45" (or "Dauerwelle bei Ben, ..." when the caller
        asked for a stylist) for the workflow list in the Temporal UI."""
        local = self.start.astimezone(zone)
        day = WEEKDAY_NAMES[local.weekday()][:2]
        with_whom = f" bei {self.stylist.name}" if self.stylist is not None else ""
        return f"{self.service.name}{with_whom}, {day} {local:%d.%m.} {local:%H:%M}"


def appointment_id(args: dict[str, Any]) -> str | None:
    """The appointment the caller means (``appointment_id``, alias ``termin_id``)."""
    return _text(args, "appointment_id", "termin_id", limit=100)


def hold_seconds(args: dict[str, Any]) -> int | None:
    """The extension asked for, 10 to 300 seconds; None: the workflow's default."""
    seconds = args.get("seconds")
    return int(seconds) if isinstance(seconds, int) and 10 <= seconds <= 300 else None


def names_a_slot(args: dict[str, Any]) -> bool:
    """A service or a date is given: start_booking checks that slot itself (one-shot)."""
    return _text(args, "service", "dienstleistung", "date", "datum") is not None


def names_a_time(args: dict[str, Any]) -> bool:
    """A date or a time is given: reschedule_appointment books that (else the held one)."""
    return _text(args, "date", "datum", "time", "uhrzeit") is not None


class Understanding:
    """Reads arguments against the salon's catalog, zone, horizon and country."""

    def __init__(
        self, catalog: Catalog, zone: ZoneInfo, *, horizon_days: int, region: str | None
    ) -> None:
        self.catalog = catalog
        self.zone = zone
        self.horizon_days = horizon_days
        # National phone numbers are read in the salon's country (Europe/Berlin -> DE).
        self.region = region

    def slot(self, args: dict[str, Any], now: datetime) -> Slot | Misunderstood:
        """Service, stylist and start from spoken German."""
        spoken = _text(args, "service", "dienstleistung")
        service = find_service(self.catalog, spoken) if spoken else None
        if service is None:
            names = service_names(self.catalog)
            return Misunderstood(msg_unknown_service(names), "unknown_service")
        wish = understand_stylist(self.catalog, _text(args, "stylist", "friseur", limit=100))
        if wish.unknown:
            doers = stylist_names(self.catalog, service.stylists)
            message = msg_unknown_stylist(stylist_names(self.catalog), service.name, doers)
            return Misunderstood(message, "unknown_stylist", service.name)
        start = self.start(args, now, service.name)
        if isinstance(start, Misunderstood):
            return start
        return Slot(service, start, wish.stylist)

    def start(
        self, args: dict[str, Any], now: datetime, service: str | None
    ) -> datetime | Misunderstood:
        """The start from spoken German date and time, within the booking horizon
        (``service``: named in what was not understood)."""
        date_text = _text(args, "date", "datum")
        time_text = _text(args, "time", "uhrzeit") or ""
        if date_text is None:
            return Misunderstood(msg_invalid_date(), "invalid_date", service)
        try:
            start = parse_datetime(date_text, time_text, now=now, zone=self.zone)
        except DateParseError as exc:
            return Misunderstood(msg_invalid_date(str(exc)), "invalid_date", service)
        except TimeParseError as exc:
            return Misunderstood(msg_invalid_time(str(exc)), "invalid_time", service)
        except (ValueError, OverflowError):
            return Misunderstood(msg_invalid_date(), "invalid_date", service)
        if start < now:
            return Misunderstood(msg_in_the_past(start, self.zone, now), "in_the_past", service)
        if beyond_horizon(start, now=now, zone=self.zone, horizon_days=self.horizon_days):
            today = now.astimezone(self.zone).date()
            last_day = last_bookable_day(now, self.zone, self.horizon_days)
            return Misunderstood(msg_too_far_ahead(last_day, today), "too_far_ahead", service)
        return start

    def service(self, args: dict[str, Any]) -> Service | Misunderstood | None:
        """The named service (None: none named)."""
        spoken = _text(args, "service", "dienstleistung")
        if spoken is None:
            return None
        found = find_service(self.catalog, spoken)
        if found is None:
            return Misunderstood(
                msg_unknown_service(service_names(self.catalog)), "unknown_service"
            )
        return found

    def stylist(self, args: dict[str, Any]) -> Stylist | Misunderstood | None:
        """The stylist asked for (None: anyone, i.e. the appointment's own when free)."""
        wish = understand_stylist(self.catalog, _text(args, "stylist", "friseur", limit=100))
        if wish.unknown:
            names = stylist_names(self.catalog)
            return Misunderstood(msg_unknown_stylist(names), "unknown_stylist")
        return wish.stylist

    def customer(self, args: dict[str, Any], from_number: str | None) -> Customer | Misunderstood:
        """Who books: a visible name with a letter, a phone in E.164 (given, else the
        caller's own number), a real e-mail address."""
        spoken = _text(args, "customer_name", "name", limit=SPOKEN_MAX_LENGTH)
        understood = understand_name(spoken) if spoken else None
        contact = customer_contact(
            _text(args, "customer_phone", "telefon"),
            _text(args, "customer_email", "email", limit=400),
            from_number,
            region=self.region,
        )
        if understood is None or not understood.name:
            if spoken is None:
                return Misunderstood(msg_missing_name())
            # The agent asks again anyway: the number too, if the salon has none.
            ask_phone = contact.phone_dropped and contact.phone is None
            return Misunderstood(msg_unusable_name(ask_phone))
        return Customer(
            name=understood.name,
            phone=contact.phone,
            email=contact.email,
            addressed=understood.addressed,
        )

    def find(self, args: dict[str, Any], now: datetime) -> FindAppointments:
        """Whose appointments: the caller's number always; by name only together with a
        day (``customer_name`` and ``day`` are both set or both None)."""
        spoken = _text(args, "customer_name", "name", limit=SPOKEN_MAX_LENGTH)
        name = understand_name(spoken).name if spoken else None
        day: date | None = None
        if date_text := _text(args, "date", "datum"):
            try:
                day = parse_date(date_text, now=now, zone=self.zone)
            except (DateParseError, ValueError, OverflowError):
                day = None
        by_name = bool(name) and day is not None
        return FindAppointments(
            customer_name=name if by_name else None, day=day if by_name else None
        )

    def hours_problem(self, start: datetime, service: Service) -> str | None:
        """Why ``service`` at ``start`` lies outside the opening hours (``closed_day``,
        ``outside_opening_hours``), or None."""
        return opening_problem(start, service.total_minutes, self.catalog.opening_hours, self.zone)

    def service_named(self, name: str | None) -> Service | None:
        """The catalog's service of that exact name (as a workflow result names it)."""
        return next((s for s in self.catalog.services if s.name == name), None)
