"""Existing appointments: find them for a caller, recognise a caller, and begin, finish
or abort a change (store/appointments.py keeps one change per appointment at a time).

All are short database steps. Labels are worded here, in the salon's zone, because the
workflows do no time-zone work. Customer data is never logged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import ActivityDeps
from contracts.activities import (
    AppointmentDetails,
    AppointmentOfBookingInput,
    AppointmentOfBookingResult,
    BeginChangeInput,
    BeginChangeResult,
    FindAppointmentsInput,
    FindAppointmentsResult,
    FinishChangeInput,
    ReflectRescheduleInput,
    ReflectRescheduleResult,
)
from contracts.appointments import AppointmentView, CallerKnown, LookupCaller
from contracts.failures import APPOINTMENT_BUSY, CHANGE_LOST
from contracts.messages import Customer, SegmentView
from domain.catalog import Service
from domain.wording import alternative_label, short_label
from observability.logging import get_logger
from store import appointments as store
from store import holds as claims_store

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def salon_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The salon day ``day`` as the UTC range ``[midnight, next midnight)``."""
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def greeting_name(name: str, addressed: str | None) -> str:
    """The name to greet with and to book under again: salutation and title as the caller
    gave them, then the whole name ("Frau Dr. Erika Mustermann"; "Erika Mustermann"
    when they gave none). The API reads it back into name and salutation."""
    if not addressed or addressed == name:
        return name
    surname = name.split()[-1] if name.split() else ""
    prefix = addressed.removesuffix(surname).strip() if surname else addressed
    return f"{prefix} {name}".strip()


class AppointmentActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    def _service(self, name: str) -> Service | None:
        try:
            return self._deps.catalog.service(name)
        except KeyError:
            return None

    def view(self, a: store.StoredAppointment, zone: ZoneInfo) -> AppointmentView:
        """What the caller may hear about ``a``."""
        return AppointmentView(
            appointment_id=a.id,
            service=a.service,
            start=a.start,
            end=a.end,
            stylist=self._deps.catalog.stylist_name(a.stylist),
            label=alternative_label(a.start, zone),
            short_label=short_label(a.start, zone),
        )

    def details(self, a: store.StoredAppointment, zone: ZoneInfo) -> AppointmentDetails:
        return AppointmentDetails(
            view=self.view(a, zone),
            hold_id=a.hold_id,
            service=self._service(a.service),
            customer=Customer(
                name=a.customer_name,
                phone=a.customer_phone,
                email=a.customer_email,
                addressed=a.customer_addressed,
            ),
            caller_phone=a.caller_phone,
            stylist=a.stylist,
        )

    def segments(self, a: store.StoredAppointment) -> list[SegmentView]:
        """The appointment's staffed segments booked at Cal.com, as the cancel step
        takes them (names and event types from the catalog when it still has them)."""
        service = self._service(a.service)
        by_key = {s.key: s for s in service.segments} if service else {}
        return [
            SegmentView(
                key=s.key,
                name=by_key[s.key].name if s.key in by_key else s.key,
                start=s.start,
                end=s.end,
                staff=True,
                resource=s.resource,
                calcom_event_type_id=by_key[s.key].hosts.get(s.resource or "")
                if s.key in by_key
                else None,
                calcom_booking_uid=s.calcom_booking_uid,
                status="booked",
            )
            for s in a.segments
            if s.staff and s.calcom_booking_uid
        ]

    @activity.defn
    async def find_appointments(self, inp: FindAppointmentsInput) -> FindAppointmentsResult:
        """The caller's upcoming booked appointments: by their number, and by exact name
        on the given day when both are given."""
        zone = ZoneInfo(inp.time_zone)
        found = await store.upcoming(
            self._deps.engine,
            now=_now(),
            phone=inp.phone,
            name=inp.customer_name,
            day=salon_day(inp.day, zone) if inp.day else None,
        )
        return FindAppointmentsResult(appointments=[self.details(a, zone) for a in found])

    @activity.defn
    async def recognise_caller(self, inp: LookupCaller) -> CallerKnown:
        """Known when the number booked with us before: the name last booked under it
        (as the agent addressed them) and its next upcoming appointment."""
        zone = ZoneInfo(inp.time_zone)
        last = await store.last_booked_under(self._deps.engine, inp.phone)
        if last is None:
            return CallerKnown(known=False)
        upcoming = await store.upcoming(self._deps.engine, now=_now(), phone=inp.phone)
        return CallerKnown(
            known=True,
            customer_name=greeting_name(last.customer_name, last.customer_addressed),
            next_appointment=self.view(upcoming[0], zone) if upcoming else None,
        )

    @activity.defn
    async def begin_appointment_change(self, inp: BeginChangeInput) -> BeginChangeResult:
        """Lock the appointment for one change, or say why not (``busy`` fails with
        ``AppointmentBusy``, which is retried, when ``wait_if_busy``)."""
        zone = ZoneInfo(inp.time_zone)
        notice = timedelta(hours=inp.notice_hours) if inp.notice_hours is not None else None
        begun = await store.begin_change(
            self._deps.engine,
            appointment_id=inp.appointment_id,
            owner=inp.owner,
            now=_now(),
            notice=notice,
        )
        if begun.outcome == "busy" and inp.wait_if_busy:
            raise ApplicationError("another change of the appointment runs", type=APPOINTMENT_BUSY)
        found = begun.appointment
        return BeginChangeResult(
            outcome=begun.outcome,
            details=self.details(found, zone) if found else None,
            segments=self.segments(found) if found and begun.outcome == "begun" else [],
            new_short_label=short_label(inp.new_start, zone) if inp.new_start else None,
        )

    @activity.defn
    async def finish_appointment_change(self, inp: FinishChangeInput) -> None:
        """Cancelled or moved (time freed at once), or aborted (untouched); unlocks."""
        engine = self._deps.engine
        if inp.outcome == "aborted":
            await store.abort_change(engine, appointment_id=inp.appointment_id, owner=inp.owner)
            return
        if inp.outcome == "moved" and inp.moved_to:
            done = await store.finish_move(
                engine, appointment_id=inp.appointment_id, owner=inp.owner, moved_to=inp.moved_to
            )
        else:
            done = await store.finish_cancel(
                engine,
                appointment_id=inp.appointment_id,
                owner=inp.owner,
                cancelled_by=inp.cancelled_by,
            )
        if not done:
            # Someone else's lock, or another final status: a bug, not a retry case.
            raise ApplicationError(
                f"appointment {inp.appointment_id} is not locked by this change",
                type=CHANGE_LOST,
                non_retryable=True,
            )
        log.info("appointment changed", appointment_id=inp.appointment_id, outcome=inp.outcome)

    @activity.defn
    async def appointment_of_booking(
        self, inp: AppointmentOfBookingInput
    ) -> AppointmentOfBookingResult:
        """The appointment one of whose segments is this Cal.com booking."""
        found = await store.appointment_of_booking(self._deps.engine, inp.calcom_uid)
        return AppointmentOfBookingResult(appointment_id=found)

    @activity.defn
    async def reflect_calcom_reschedule(
        self, inp: ReflectRescheduleInput
    ) -> ReflectRescheduleResult:
        """Follow a booking of an appointment that Cal.com moved (retried while another
        change of the appointment runs); the calls whose live holds the new time hits."""
        now = _now()
        reflected = await store.reflect_reschedule(
            self._deps.engine,
            old_uid=inp.old_uid,
            new_uid=inp.new_uid,
            start=inp.start,
            end=inp.end,
            now=now,
        )
        if reflected.outcome == "busy":
            raise ApplicationError("another change of the appointment runs", type=APPOINTMENT_BUSY)
        call_ids: list[str] = []
        if reflected.outcome == "reflected" and reflected.resource:
            holds = await claims_store.find_overlapping_holds(
                self._deps.engine,
                resource=reflected.resource,
                start=inp.start,
                end=inp.end,
                now=now,
            )
            call_ids = sorted({h.call_id for h in holds})
            log.info("appointment moved in Cal.com", appointment_id=reflected.appointment_id)
        return ReflectRescheduleResult(
            outcome=reflected.outcome,
            appointment_id=reflected.appointment_id,
            resource=reflected.resource,
            call_ids=call_ids,
        )
