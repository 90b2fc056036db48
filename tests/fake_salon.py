"""Fake activities for interleaving tests, registered under the real activities' names
(as samples-python mocks activities by name): an in-memory salon whose every step can be
held at a gate the test opens, so a test decides what is in flight when the next message
arrives. The fake keeps what Cal.com and our database would hold, so a test can check
that the workflow's state, the claims, the appointment and the bookings agree."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts import activities as acts
from contracts.failures import INVALID_DATA


@dataclass
class FakeBooking:
    uid: str
    hold_id: str
    key: str
    start: datetime
    end: datetime
    status: str = "accepted"


@dataclass
class FakeAppointment:
    """An existing appointment (the store's row, its lock and its segments)."""

    details: acts.AppointmentDetails
    segments: list[Any]
    status: str = "booked"
    locked_by: str | None = None
    moved_to: str | None = None


@dataclass
class FakeSalon:
    """What Cal.com and PostgreSQL would hold, plus gates on every activity."""

    claims: dict[str, str] = field(default_factory=dict)  # hold_id -> held/booked/released
    claim_times: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    reservations: dict[str, str] = field(default_factory=dict)  # uid -> hold_id
    bookings: dict[str, FakeBooking] = field(default_factory=dict)
    appointments: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    entered: dict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    calls: list[str] = field(default_factory=list)
    finalize_fails: bool = False
    existing: dict[str, FakeAppointment] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)

    def seed_appointment(self, appointment_id: str, service: Any, start: datetime) -> None:
        """An appointment booked earlier, with accepted bookings for its staffed segments."""
        from contracts.activities import segment_views
        from contracts.appointments import AppointmentView
        from contracts.messages import Customer

        segments = []
        for seg in segment_views(service, start):
            if seg.staff:
                uid = f"bk-{next(self._ids)}"
                self.bookings[uid] = FakeBooking(uid, "old-hold", seg.key, seg.start, seg.end)
                seg = seg.model_copy(update={"calcom_booking_uid": uid, "status": "booked"})
            segments.append(seg)
        view = AppointmentView(
            appointment_id=appointment_id,
            service=service.name,
            start=segments[0].start,
            end=segments[-1].end,
            label="-",
            short_label="-",
        )
        details = acts.AppointmentDetails(
            view=view, hold_id="old-hold", service=service, customer=Customer(name="Erika")
        )
        self.existing[appointment_id] = FakeAppointment(details, segments)

    def hold_gate(self, name: str) -> asyncio.Event:
        """Activities named ``name`` wait until the returned event is set."""
        self.gates[name] = asyncio.Event()
        return self.gates[name]

    async def _step(self, name: str, *, heartbeat: bool = False) -> None:
        self.calls.append(name)
        self.entered[name].set()
        gate = self.gates.get(name)
        while gate is not None and not gate.is_set():
            if heartbeat:
                activity.heartbeat()
            try:
                await asyncio.wait_for(gate.wait(), 0.2)
            except TimeoutError:
                pass

    def accepted(self) -> list[FakeBooking]:
        return [b for b in self.bookings.values() if b.status == "accepted"]

    def activities(self) -> list[Any]:
        salon = self

        @activity.defn(name="check_slots")
        async def check_slots(inp: acts.CheckSlotsInput) -> acts.CheckSlotsResult:
            await salon._step("check_slots")
            key = inp.stylist or inp.service.stylists[0]
            return acts.CheckSlotsResult(free=True, candidates=[acts.StylistRef(key=key)])

        @activity.defn(name="find_alternatives")
        async def find_alternatives(inp: acts.FindAlternativesInput) -> acts.FindAlternativesResult:
            await salon._step("find_alternatives")
            return acts.FindAlternativesResult()

        @activity.defn(name="acquire_claims")
        async def acquire_claims(inp: acts.AcquireClaimsInput) -> acts.AcquireClaimsResult:
            await salon._step("acquire_claims")
            salon.claims[inp.hold_id] = "held"
            salon.claim_times[inp.hold_id] = [(s.start, s.end) for s in inp.segments if s.staff]
            return acts.AcquireClaimsResult(acquired=True)

        @activity.defn(name="reserve_segment")
        async def reserve_segment(inp: acts.ReserveSegmentInput) -> acts.ReserveSegmentResult:
            await salon._step("reserve_segment")
            uid = f"rs-{next(salon._ids)}"
            salon.reservations[uid] = inp.hold_id
            return acts.ReserveSegmentResult(reservation_uid=uid)

        @activity.defn(name="place_hold")
        async def place_hold(inp: acts.PlaceHoldInput) -> acts.PlaceHoldResult:
            """The three steps above, as the real one runs them (their gates hold it)."""
            await salon._step("place_hold")
            service, start = inp.check.service, inp.check.start

            def claim_with(key: str) -> acts.AcquireClaimsInput:
                segments = acts.segment_views(service, start, key)
                return acts.AcquireClaimsInput(
                    hold_id=inp.hold_id,
                    call_id=inp.call_id,
                    segments=segments,
                    expires_at=inp.expires_at,
                )

            if inp.stylist is None:
                check = await check_slots(inp.check)
                if not check.free:
                    return acts.PlaceHoldResult(check=check)
                wanted = claim_with(check.candidates[0].key)
                claim = await acquire_claims(wanted)
            else:
                wanted = claim_with(inp.stylist)
                check, claim = await asyncio.gather(check_slots(inp.check), acquire_claims(wanted))
            placed = acts.PlaceHoldResult(
                check=check,
                stylist=wanted.segments[0].resource,
                claim=claim,
            )
            if not (check.free and claim.acquired):
                return placed
            staffed = [s for s in wanted.segments if s.staff]
            made = await asyncio.gather(
                *(
                    reserve_segment(
                        acts.ReserveSegmentInput(
                            hold_id=inp.hold_id, segment=s, until=inp.expires_at
                        )
                    )
                    for s in staffed
                )
            )
            return placed.model_copy(
                update={
                    "reservations": [
                        acts.ReservationTry(key=s.key, reservation_uid=r.reservation_uid)
                        for s, r in zip(staffed, made, strict=True)
                    ]
                }
            )

        @activity.defn(name="record_degraded_hold")
        async def record_degraded_hold(inp: acts.RecordDegradedHoldInput) -> None:
            await salon._step("record_degraded_hold")

        @activity.defn(name="release_hold")
        async def release_hold(inp: acts.ReleaseHoldInput) -> int:
            await salon._step("release_hold")
            for uid in inp.reservation_uids:
                salon.reservations.pop(uid, None)
            if salon.claims.get(inp.hold_id) == "held":
                salon.claims[inp.hold_id] = "released"
                return 1
            return 0

        @activity.defn(name="extend_hold")
        async def extend_hold(inp: acts.ExtendHoldInput) -> acts.ExtendHoldResult:
            await salon._step("extend_hold")
            return acts.ExtendHoldResult(extended=salon.claims.get(inp.hold_id) == "held")

        @activity.defn(name="validate_hold")
        async def validate_hold(inp: acts.ValidateHoldInput) -> acts.ValidateHoldResult:
            await salon._step("validate_hold")
            return acts.ValidateHoldResult(valid=salon.claims.get(inp.hold_id) == "held")

        @activity.defn(name="book_segment")
        async def book_segment(inp: acts.BookSegmentInput) -> acts.BookSegmentResult:
            await salon._step("book_segment", heartbeat=True)
            seg = inp.segment
            salon.reservations.pop(seg.calcom_reservation_uid or "", None)
            uid = f"bk-{next(salon._ids)}"
            salon.bookings[uid] = FakeBooking(uid, inp.hold_id, seg.key, seg.start, seg.end)
            return acts.BookSegmentResult(key=seg.key, calcom_booking_uid=uid, status="accepted")

        @activity.defn(name="cancel_segment")
        async def cancel_segment(inp: acts.CancelSegmentInput) -> acts.CancelSegmentResult:
            await salon._step("cancel_segment", heartbeat=True)
            seg = inp.segment
            uid = seg.calcom_booking_uid or next(
                (
                    b.uid
                    for b in salon.bookings.values()
                    if b.key == seg.key and b.start == seg.start and b.status == "accepted"
                ),
                None,
            )
            if uid is not None:
                salon.bookings[uid].status = "cancelled"
            return acts.CancelSegmentResult(cancelled_uid=uid)

        @activity.defn(name="finalize_booking")
        async def finalize_booking(inp: acts.FinalizeBookingInput) -> None:
            await salon._step("finalize_booking")
            if salon.finalize_fails:
                raise ApplicationError("database refuses", type=INVALID_DATA, non_retryable=True)
            salon.claims[inp.hold_id] = "booked"
            salon.appointments[inp.appointment_id] = (inp.start, inp.end)

        @activity.defn(name="record_booking_outcome")
        async def record_booking_outcome(inp: acts.RecordBookingOutcomeInput) -> None:
            await salon._step("record_booking_outcome")

        @activity.defn(name="record_outside_booking")
        async def record_outside_booking(
            inp: acts.RecordOutsideBookingInput,
        ) -> acts.RecordOutsideBookingResult:
            await salon._step("record_outside_booking")
            return acts.RecordOutsideBookingResult()

        return [
            *self.appointment_activities(),
            check_slots,
            find_alternatives,
            acquire_claims,
            reserve_segment,
            place_hold,
            record_degraded_hold,
            release_hold,
            extend_hold,
            validate_hold,
            book_segment,
            cancel_segment,
            finalize_booking,
            record_booking_outcome,
            record_outside_booking,
        ]

    def appointment_activities(self) -> list[Any]:
        """find/begin/finish over ``existing``, with the store's rules (one change at a
        time, its owner finishes it)."""
        salon = self

        @activity.defn(name="find_appointments")
        async def find_appointments(inp: acts.FindAppointmentsInput) -> acts.FindAppointmentsResult:
            await salon._step("find_appointments")
            booked = [a.details for a in salon.existing.values() if a.status == "booked"]
            return acts.FindAppointmentsResult(appointments=booked)

        @activity.defn(name="begin_appointment_change")
        async def begin_appointment_change(inp: acts.BeginChangeInput) -> acts.BeginChangeResult:
            await salon._step("begin_appointment_change")
            found = salon.existing.get(inp.appointment_id)
            if found is None:
                return acts.BeginChangeResult(outcome="not_found")
            outcome = "begun"
            if found.locked_by not in (None, inp.owner):
                outcome = "busy"
            elif found.status != "booked":
                outcome = found.status
            else:
                found.locked_by = inp.owner
            staffed = [s for s in found.segments if s.staff] if outcome == "begun" else []
            return acts.BeginChangeResult(
                outcome=outcome,  # type: ignore[arg-type]
                details=found.details,
                segments=staffed,
                new_short_label="-",
            )

        @activity.defn(name="finish_appointment_change")
        async def finish_appointment_change(inp: acts.FinishChangeInput) -> None:
            await salon._step("finish_appointment_change")
            found = salon.existing[inp.appointment_id]
            if found.locked_by != inp.owner:
                raise ApplicationError("not locked by this change", non_retryable=True)
            found.locked_by = None
            if inp.outcome != "aborted":
                found.status = inp.outcome
                found.moved_to = inp.moved_to

        return [find_appointments, begin_appointment_change, finish_appointment_change]
