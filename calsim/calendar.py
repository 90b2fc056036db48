"""The simulator's state: the salon's hosts, their bookings and slot reservations.

Everything runs on one event loop and no method awaits, so each operation (check then
write) is atomic, like Cal.com's transactions. ``now()`` can be moved forward by the
``/_sim/clock`` control so expiry is testable without waiting.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from calcom import wire
from calsim.envelope import CalcomProblem
from calsim.event_types import CALCOM_DEFAULTS, EventTypeSettings
from calsim.grid import Range, inside_one, overlaps, slot_starts, subtract, working_ranges
from domain.catalog import Catalog

PAST_MESSAGE = "Attempting to book a meeting in the past."
# getBusyTimes widens its own bookings query by the largest defined buffer
# (packages/features/eventtypes/lib/getDefinedBufferTimes.ts: 5 ... 120 minutes).
MAX_BUFFER = timedelta(minutes=120)


@dataclass(frozen=True)
class EventType:
    id: int
    host: str  # the catalog resource whose time the event type occupies
    minutes: int
    title: str

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.casefold()).strip("-") or str(self.id)


@dataclass
class SimReservation:
    uid: str
    event_type: EventType
    slot_start: datetime
    slot_end: datetime
    minutes: int  # reservationDuration
    until: datetime
    sequence: int  # creation order: the earliest active one is first in line

    @property
    def slot_duration(self) -> int:
        return int((self.slot_end - self.slot_start).total_seconds() // 60)


@dataclass
class SimBooking:
    id: int
    uid: str
    event_type: EventType
    start: datetime
    end: datetime
    attendee: dict[str, Any]
    metadata: dict[str, str]
    created_at: datetime
    status: str = "accepted"
    updated_at: datetime | None = None
    cancellation_reason: str | None = None
    rescheduled: bool = False
    rescheduled_from_uid: str | None = None
    source: str = "api"  # "api" or "booking-page" (an outside booking via /_sim)


@dataclass
class Calendar:
    """Bookings and reservations of the catalog's hosts."""

    catalog: Catalog
    base_settings: Mapping[int, EventTypeSettings] = field(default_factory=dict)
    clock_offset: timedelta = timedelta()
    bookings: dict[str, SimBooking] = field(default_factory=dict)
    reservations: dict[str, SimReservation] = field(default_factory=dict)
    _next_id: int = 1000
    _sequence: int = 0

    def __post_init__(self) -> None:
        self.event_types = {
            et_id: EventType(et_id, host, minutes, title)
            for et_id, (host, minutes, title) in self.catalog.event_types().items()
        }
        self.hosts = sorted({et.host for et in self.event_types.values()})
        unknown = set(self.base_settings) - set(self.event_types)
        if unknown:
            raise ValueError(f"settings for unknown event types {sorted(unknown)}")
        self.settings: dict[int, EventTypeSettings] = {}
        self._restore_settings()

    def _restore_settings(self) -> None:
        self.settings = {
            et_id: self.base_settings.get(et_id, CALCOM_DEFAULTS) for et_id in self.event_types
        }

    # -------------------------------------------------------------- basics
    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def reset(self) -> None:
        """Forget bookings and reservations, undo clock shifts and settings changes."""
        self.bookings.clear()
        self.reservations.clear()
        self.clock_offset = timedelta()
        self._restore_settings()

    def event_type(self, event_type_id: int) -> EventType:
        found = self.event_types.get(event_type_id)
        if found is None:
            raise CalcomProblem(404, f"Event type with id={event_type_id} not found")
        return found

    def active_reservations(self) -> list[SimReservation]:
        """Reservations that have not expired (expired ones are dropped)."""
        now = self.now()
        for uid in [u for u, r in self.reservations.items() if r.until <= now]:
            del self.reservations[uid]
        return sorted(self.reservations.values(), key=lambda r: r.sequence)

    def _accepted(self) -> Iterator[SimBooking]:
        return (b for b in self.bookings.values() if b.status in ("accepted", "pending"))

    def host_has_reservation(self, host: str, start: datetime, end: datetime) -> bool:
        return any(
            r.event_type.host == host and r.slot_start < end and start < r.slot_end
            for r in self.active_reservations()
        )

    def busy_times(
        self, event_type: EventType, fetch_from: datetime, fetch_to: datetime
    ) -> list[Range]:
        """The host's accepted bookings on any of its event types that meet
        ``[fetch_from, fetch_to]``, each widened by its own event type's buffers plus
        those of ``event_type`` (the one queried or booked).

        packages/features/busyTimes/services/getBusyTimes.ts, getBusyTimes:
        ``minutesToBlockBeforeEvent = (eventType?.beforeEventBuffer || 0) +
        (beforeEventBuffer || 0)``, likewise after, where the first term is the existing
        booking's event type and the second the queried one's (slots/util.ts and
        ensureAvailableUsers.ts pass ``eventType.beforeEventBuffer/afterEventBuffer``).
        Which bookings are seen depends on the caller's fetch window
        (BookingRepository.findAllExistingBookingsForEventTypeBetween: ``startTime <=
        endDate`` and ``endTime >= startDate``, any event type of the user).
        """
        queried = self.settings[event_type.id]
        out: list[Range] = []
        for b in self._accepted():
            if b.event_type.host != event_type.host or b.start > fetch_to or b.end < fetch_from:
                continue
            own = self.settings[b.event_type.id]
            before = timedelta(minutes=own.before_event_buffer + queried.before_event_buffer)
            after = timedelta(minutes=own.after_event_buffer + queried.after_event_buffer)
            out.append((b.start - before, b.end + after))
        return out

    def free_slots(
        self, event_type: EventType, start: datetime, end: datetime, zone: tzinfo
    ) -> list[datetime]:
        """Slot starts of ``event_type`` as Cal.com's ``/v2/slots`` computes them, each
        slot lying inside ``[start, end]`` (see docs/calsim.md, "The slot grid").

        The host's working hours, clipped to the query and to now + minimum notice, minus
        buffered busy times (bookings restart the grid), laid out by Cal.com's getSlots
        rounding in ``zone``; then slots overlapping any active reservation of the host
        (any event type, yours too) are dropped without moving the grid, and so are slots
        closer than the minimum booking notice.
        """
        settings = self.settings[event_type.id]
        now = self.now()
        notice = timedelta(minutes=settings.minimum_booking_notice)
        # slots/util.ts, getStartTime: dateFrom = max(start, now + (notice || 1) minutes).
        date_from = max(start, now + timedelta(minutes=settings.minimum_booking_notice or 1))
        # Bookings are prefetched for the raw query window only, so one just outside it
        # does not widen into it by its buffers: upstream bug #29532, modelled as is.
        busy = self.busy_times(event_type, date_from, end)
        free = subtract(working_ranges(self.catalog, date_from, end), busy)
        length = timedelta(minutes=event_type.minutes)
        starts = slot_starts(
            free,
            length=event_type.minutes,
            frequency=settings.frequency(event_type.minutes),
            earliest=now + notice,
            zone=zone,
        )
        held = [
            (r.slot_start, r.slot_end)
            for r in self.active_reservations()
            if r.event_type.host == event_type.host
        ]
        return [
            slot
            for slot in starts
            if not overlaps(slot, slot + length, held)
            and not (settings.minimum_booking_notice and slot < now + notice)
        ]

    def host_is_free(self, event_type: EventType, start: datetime, end: datetime) -> bool:
        """Inside one working-hours range and clear of every buffered busy time
        (handleNewBooking/ensureAvailableUsers.ts): no grid, no reservations."""
        return inside_one(working_ranges(self.catalog, start, end), start, end) and not overlaps(
            start, end, self.busy_times(event_type, start - MAX_BUFFER, end + MAX_BUFFER)
        )

    # -------------------------------------------------------------- reservations
    def reserve(
        self, event_type: EventType, slot_start: datetime, slot_minutes: int, minutes: int
    ) -> SimReservation:
        """Reserve a slot; 422 when it is booked or reserved on the same event type."""
        slot_end = slot_start + timedelta(minutes=slot_minutes)
        self._refuse_taken_on_event_type(event_type, slot_start, slot_end, ignore_uid=None)
        self._sequence += 1
        reservation = SimReservation(
            uid=_new_uid(),
            event_type=event_type,
            slot_start=slot_start,
            slot_end=slot_end,
            minutes=minutes,
            until=self.now() + timedelta(minutes=minutes),
            sequence=self._sequence,
        )
        self.reservations[reservation.uid] = reservation
        return reservation

    def _refuse_taken_on_event_type(
        self, event_type: EventType, start: datetime, end: datetime, ignore_uid: str | None
    ) -> None:
        if any(
            b.event_type.id == event_type.id and b.start < end and start < b.end
            for b in self._accepted()
        ):
            raise CalcomProblem(422, "Can't reserve a slot if the event is already booked.")
        if any(
            r.event_type.id == event_type.id
            and r.uid != ignore_uid
            and r.slot_start < end
            and start < r.slot_end
            for r in self.active_reservations()
        ):
            raise CalcomProblem(422, "This time slot is already reserved by another user.")

    def reservation(self, uid: str) -> SimReservation | None:
        return next((r for r in self.active_reservations() if r.uid == uid), None)

    def extend(
        self,
        uid: str,
        event_type: EventType,
        slot_start: datetime,
        slot_minutes: int,
        minutes: int,
    ) -> SimReservation:
        """Move or prolong an active reservation (404 when unknown or expired)."""
        found = self.reservation(uid)
        if found is None:
            raise CalcomProblem(404, f"Reserved slot with uid={uid} not found")
        slot_end = slot_start + timedelta(minutes=slot_minutes)
        self._refuse_taken_on_event_type(event_type, slot_start, slot_end, ignore_uid=uid)
        found.event_type = event_type
        found.slot_start, found.slot_end = slot_start, slot_end
        found.minutes = minutes
        found.until = self.now() + timedelta(minutes=minutes)
        return found

    def release(self, uid: str) -> None:
        """Delete a reservation (404 when unknown or expired)."""
        if self.reservation(uid) is None:
            raise CalcomProblem(404, f"Reserved slot with uid={uid} not found")
        del self.reservations[uid]

    # -------------------------------------------------------------- bookings
    def book(
        self,
        event_type: EventType,
        start: datetime,
        *,
        attendee: dict[str, Any],
        metadata: dict[str, str],
        reserved_slot_uid: str | None,
        respect_reservations: bool = False,
        source: str = "api",
    ) -> SimBooking:
        """Create an accepted booking, checking what Cal.com checks (see the contract)."""
        end = start + timedelta(minutes=event_type.minutes)
        now = self.now()
        if start < now:
            raise CalcomProblem(400, PAST_MESSAGE)
        notice = self.settings[event_type.id].minimum_booking_notice
        if notice and start < now + timedelta(minutes=notice):
            raise CalcomProblem(400, wire.BOOKING_OUT_OF_BOUNDS)
        if reserved_slot_uid is not None:
            self._first_in_line(event_type, start, end, reserved_slot_uid)
        if respect_reservations and self.host_has_reservation(event_type.host, start, end):
            raise CalcomProblem(409, wire.RESERVED_BY_SOMEONE_ELSE)
        if not self.host_is_free(event_type, start, end):
            raise CalcomProblem(400, wire.HOST_UNAVAILABLE)
        self.reservations.pop(reserved_slot_uid or "", None)
        self._next_id += 1
        booking = SimBooking(
            id=self._next_id,
            uid=_new_uid(),
            event_type=event_type,
            start=start,
            end=end,
            attendee=attendee,
            metadata=metadata,
            created_at=self.now(),
            source=source,
        )
        self.bookings[booking.uid] = booking
        return booking

    def _first_in_line(
        self, event_type: EventType, start: datetime, end: datetime, uid: str
    ) -> None:
        """409 unless the earliest active reservation of this exact slot is ``uid``."""
        same_slot = [
            r
            for r in self.active_reservations()
            if r.event_type.id == event_type.id and r.slot_start == start and r.slot_end == end
        ]
        if same_slot and same_slot[0].uid != uid:
            raise CalcomProblem(409, wire.RESERVED_BY_SOMEONE_ELSE)

    def booking(self, uid: str) -> SimBooking:
        found = self.bookings.get(uid)
        if found is None:
            raise CalcomProblem(404, f"Booking with uid={uid} not found")
        return found

    def cancel(self, uid: str, reason: str | None) -> SimBooking:
        """Cancel a booking; 400 when it is already cancelled."""
        booking = self.booking(uid)
        if booking.status == "cancelled":
            raise CalcomProblem(400, "This booking has already been cancelled.")
        booking.status = "cancelled"
        booking.cancellation_reason = reason
        booking.updated_at = self.now()
        return booking

    def reschedule(self, uid: str, start: datetime, reason: str | None) -> SimBooking:
        """Move a booking: the old one is cancelled (rescheduled), a new one is created."""
        old = self.booking(uid)
        if old.status == "cancelled":
            raise CalcomProblem(400, "Can't reschedule a cancelled booking.")
        old.status = "cancelled"  # frees the host's time for the new slot
        try:
            new = self.book(
                old.event_type,
                start,
                attendee=old.attendee,
                metadata=old.metadata,
                reserved_slot_uid=None,
            )
        except CalcomProblem:
            old.status = "accepted"
            raise
        old.rescheduled = True
        old.cancellation_reason = reason
        old.updated_at = self.now()
        new.rescheduled_from_uid = old.uid
        return new


def _new_uid() -> str:
    return secrets.token_urlsafe(16).replace("-", "a").replace("_", "b")
