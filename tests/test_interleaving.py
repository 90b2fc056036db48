"""The call workflow under interleaved messages: the real workflow, fake activities held
at gates the test opens (tests/fake_salon.py), so each test decides exactly what is in
flight when the next message arrives. After each, what the workflow says, the claims,
the appointment and the bookings must agree."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import CancelledError
from temporalio.worker import Worker

from config import get_settings
from contracts.appointments import CheckMove, RescheduleAppointment
from contracts.messages import (
    BookingStatus,
    CallEnded,
    CallState,
    CancelHold,
    CheckAvailability,
    Customer,
    ExtendHold,
    OutsideBooking,
    StartBooking,
)
from domain.catalog import load_catalog
from tests.fake_salon import FakeSalon
from tests.harness import assert_eventually, unique
from workflows.call import CallWorkflow
from workflows.ids import call_workflow_id

CATALOG = load_catalog(get_settings().catalog_path)
PERM = CATALOG.service("Dauerwelle")
CUSTOMER = Customer(name="Erika Mustermann", phone="+4915100000000")


def slot(hours_from_now: int) -> datetime:
    """A start well in the future; fake activities do not look at opening hours."""
    now = datetime.now(CATALOG.zone).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(days=3, hours=hours_from_now)


@dataclass
class Call:
    client: Client
    task_queue: str
    call_id: str

    @property
    def handle(self) -> WorkflowHandle:
        return self.client.get_workflow_handle_for(CallWorkflow.run, call_workflow_id(self.call_id))

    async def _update(self, update: object, arg: object) -> object:
        """Update-with-start, as the API sends every message of a call."""
        op = WithStartWorkflowOperation(
            CallWorkflow.run,
            # A long answer budget: these tests decide what is in flight with gates, so a
            # loaded machine must not turn an answer into "pending".
            get_settings()
            .call_input(self.call_id, "+4930123456")
            .model_copy(update={"booking_budget_seconds": 60.0}),
            id=call_workflow_id(self.call_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return await self.client.execute_update_with_start_workflow(
            update,  # type: ignore[call-overload]
            arg,
            start_workflow_operation=op,
        )

    async def check(self, start: datetime) -> object:
        return await self._update(
            CallWorkflow.check_availability, CheckAvailability(service=PERM, start=start)
        )

    async def book(self, check_at: datetime | None = None) -> object:
        check = CheckAvailability(service=PERM, start=check_at) if check_at else None
        return await self._update(
            CallWorkflow.start_booking, StartBooking(customer=CUSTOMER, check=check)
        )

    async def state(self) -> CallState:
        return await self.handle.query(CallWorkflow.state)


@pytest.fixture
async def salon(temporal_client: Client) -> AsyncIterator[tuple[FakeSalon, Call]]:
    fake = FakeSalon()
    queue = unique("interleave")
    async with Worker(
        temporal_client, task_queue=queue, workflows=[CallWorkflow], activities=fake.activities()
    ):
        yield fake, Call(temporal_client, queue, unique("call"))


def assert_agree(fake: FakeSalon, state: CallState) -> None:
    """Workflow state, claims, appointment and bookings tell one story."""
    accepted = fake.accepted()
    if state.status == BookingStatus.BOOKED:
        assert state.appointment_id in fake.appointments
        start, end = fake.appointments[state.appointment_id]
        assert (start, end) == (state.start, state.end)
        staffed = {s.key: (s.start, s.end) for s in state.segments if s.staff}
        assert {b.key: (b.start, b.end) for b in accepted} == staffed
        assert fake.claims[state.hold_id or ""] == "booked"
        assert {b.uid for b in accepted} == {
            s.calcom_booking_uid for s in state.segments if s.staff
        }
    else:
        assert accepted == [], f"{state.status} but Cal.com holds {accepted}"
        assert not fake.appointments
    live = [h for h, status in fake.claims.items() if status == "held"]
    if state.status == BookingStatus.HOLDING:
        assert live == [state.hold_id]
    else:
        assert live == [], f"{state.status} with claims still held: {live}"
        assert fake.reservations == {}, f"reservations left behind: {fake.reservations}"


async def test_a_check_during_a_booking_changes_nothing_and_says_so(salon):
    fake, call = salon
    b, c = slot(10), slot(14)
    gate = fake.hold_gate("book_segment")
    booking = asyncio.create_task(call.book(check_at=b))  # the one-shot: check B and book
    await fake.entered["book_segment"].wait()

    during = await call.check(c)  # the agent checks C while B is being booked

    assert during.outcome == "booking" and not during.available
    gate.set()
    result = await booking
    assert result.status == "booked" and result.start == b
    state = await call.state()
    assert state.start == b and state.status == BookingStatus.BOOKED
    assert fake.calls.count("check_slots") == 1, "C was never checked, let alone held"
    assert_agree(fake, state)


async def test_extend_and_cancel_during_a_booking_answer_booking(salon):
    fake, call = salon
    await call.check(slot(10))
    gate = fake.hold_gate("book_segment")
    booking = asyncio.create_task(call.book())
    await fake.entered["book_segment"].wait()

    extended = await call.handle.execute_update(CallWorkflow.extend_hold, ExtendHold())
    cancelled = await call.handle.execute_update(CallWorkflow.cancel_hold, CancelHold())

    assert extended.outcome == "booking" and cancelled.outcome == "booking"
    assert "extend_hold" not in fake.calls and "release_hold" not in fake.calls
    gate.set()
    assert (await booking).status == "booked"
    assert_agree(fake, await call.state())


async def test_a_second_start_booking_for_another_slot_waits_for_the_first(salon):
    fake, call = salon
    b, c = slot(10), slot(14)
    gate = fake.hold_gate("book_segment")
    first = asyncio.create_task(call.book(check_at=b))
    await fake.entered["book_segment"].wait()

    second = await call.book(check_at=c)

    assert second.status == "pending" and second.reason == "booking_in_progress"
    gate.set()
    assert (await first).start == b
    state = await call.state()
    assert state.start == b and len(fake.accepted()) == 3  # A, B and D, all at B
    assert_agree(fake, state)


async def test_hang_up_during_a_booking_finishes_it_then_closes(salon):
    fake, call = salon
    await call.check(slot(10))
    gate = fake.hold_gate("book_segment")
    booking = asyncio.create_task(call.book())
    await fake.entered["book_segment"].wait()

    await call.handle.signal(CallWorkflow.call_ended, CallEnded(reason="user_hangup"))
    gate.set()

    assert (await booking).status == "booked"
    final = await call.handle.result()
    assert final.status == BookingStatus.BOOKED
    assert_agree(fake, final)


async def test_an_outside_booking_during_an_extend_loses_the_hold(salon):
    fake, call = salon
    held = await call.check(slot(10))
    gate = fake.hold_gate("extend_hold")
    extending = asyncio.create_task(
        call.handle.execute_update(CallWorkflow.extend_hold, ExtendHold())
    )
    await fake.entered["extend_hold"].wait()
    first = next(s for s in (await call.state()).segments if s.staff)
    await call.handle.signal(
        CallWorkflow.outside_booking,
        OutsideBooking(
            calcom_uid="web-1", resource=first.resource or "", start=first.start, end=first.end
        ),
    )
    gate.set()

    answer = await extending

    # The extend runs as a local activity, so the signal is delivered either while it
    # is in flight (the extend answers hold_lost) or right after it (extended, and the
    # run loop releases the hold at once). Either way the hold ends lost and released.
    assert held.available and answer.outcome in ("hold_lost", "extended")

    async def lost() -> CallState:
        state = await call.state()
        assert state.hold_lost and state.status == BookingStatus.RELEASED
        return state

    state = await assert_eventually(lost)
    assert_agree(fake, state)
    booking = await call.book()
    assert booking.status == "slot_taken" and booking.reason == "hold_lost"


async def test_cancelling_the_workflow_during_a_booking_compensates_and_releases(salon):
    fake, call = salon
    await call.check(slot(10))
    gate = fake.hold_gate("book_segment")
    booking = asyncio.create_task(call.book())
    await assert_eventually(_entered(fake, "book_segment", 3))

    await call.handle.cancel()
    gate.set()

    with pytest.raises(WorkflowFailureError) as closed:
        await call.handle.result()
    assert isinstance(closed.value.cause, CancelledError)
    answer = await booking
    assert not answer.booked
    assert fake.accepted() == [] and "cancel_segment" in fake.calls
    assert [s for s in fake.claims.values() if s == "held"] == []
    assert fake.reservations == {}


async def test_cancelling_during_compensation_lets_the_compensation_finish(salon):
    fake, call = salon
    await call.check(slot(10))
    fake.finalize_fails = True  # Cal.com books everything, recording fails for good
    gate = fake.hold_gate("cancel_segment")
    booking = asyncio.create_task(call.book())
    await fake.entered["cancel_segment"].wait()

    await call.handle.cancel()
    await asyncio.sleep(0.5)  # the cancellation reaches the workflow while compensating
    gate.set()

    with pytest.raises(WorkflowFailureError) as closed:
        await call.handle.result()
    assert isinstance(closed.value.cause, CancelledError)
    answer = await booking
    assert answer.status == "failed"
    assert fake.accepted() == [], "every booking made was compensated"
    assert fake.calls.count("cancel_segment") == 3
    assert [s for s in fake.claims.values() if s == "held"] == []


async def test_recording_that_fails_for_good_compensates_and_answers_failed(salon):
    fake, call = salon
    await call.check(slot(10))
    fake.finalize_fails = True

    answer = await call.book()

    assert answer.status == "failed" and answer.reason == "recording_failed"
    state = await call.state()
    assert state.status == BookingStatus.FAILED
    status = await call.handle.query(CallWorkflow.booking_status)
    assert status.status == "failed", "booking_status never stays pending"
    assert_agree(fake, state)
    await call.handle.signal(CallWorkflow.call_ended, CallEnded(reason="user_hangup"))
    assert (await call.handle.result()).status == BookingStatus.FAILED


def _entered(fake: FakeSalon, name: str, times: int):  # type: ignore[no-untyped-def]
    async def check() -> None:
        assert fake.calls.count(name) >= times

    return check


async def test_cancelling_the_workflow_during_a_move_finishes_the_move(salon):
    """Once the old appointment is locked for a move, the move runs to its end: the new
    time booked, the old appointment cancelled at Cal.com and recorded moved. Never both,
    never neither, even when ops cancel the workflow while Cal.com books."""
    fake, call = salon
    fake.seed_appointment("apt_old", PERM, slot(10))
    old_uids = {b.uid for b in fake.accepted()}
    held = await call._update(
        CallWorkflow.check_move, CheckMove(appointment_id="apt_old", start=slot(30))
    )
    assert held.available  # type: ignore[attr-defined]
    gate = fake.hold_gate("book_segment")
    move = asyncio.create_task(
        call._update(CallWorkflow.reschedule_appointment, RescheduleAppointment())
    )
    await assert_eventually(_entered(fake, "book_segment", 3))

    await call.handle.cancel()
    gate.set()

    with pytest.raises(WorkflowFailureError):
        await call.handle.result()
    await move
    old = fake.existing["apt_old"]
    assert old.status == "moved" and old.locked_by is None
    assert old.moved_to in fake.appointments  # the new appointment is recorded
    assert {b.uid for b in fake.accepted()}.isdisjoint(old_uids)  # old bookings cancelled
    assert len(fake.accepted()) == 3  # and the new perm booked once
    assert fake.reservations == {} and [s for s in fake.claims.values() if s == "held"] == []


async def test_a_second_reschedule_during_a_move_joins_it(salon):
    fake, call = salon
    fake.seed_appointment("apt_old", PERM, slot(10))
    await call._update(CallWorkflow.check_move, CheckMove(appointment_id="apt_old", start=slot(30)))
    gate = fake.hold_gate("book_segment")
    first = asyncio.create_task(
        call._update(CallWorkflow.reschedule_appointment, RescheduleAppointment())
    )
    await assert_eventually(_entered(fake, "book_segment", 3))
    # The second is inside the workflow, joined to the move, before the check is sent:
    # joining must not keep the lock from other messages while the move runs.
    second = await call.handle.start_update(
        CallWorkflow.reschedule_appointment,
        RescheduleAppointment(appointment_id="apt_old"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    check = await asyncio.wait_for(call.check(slot(50)), 30)  # changes nothing
    assert check.outcome == "booking"  # type: ignore[attr-defined]
    gate.set()
    answers = [await first, await second.result()]
    assert all(a.booked for a in answers)  # type: ignore[attr-defined]
    assert len({a.appointment_id for a in answers}) == 1  # type: ignore[attr-defined]
    assert fake.calls.count("begin_appointment_change") == 1
    assert len(fake.appointments) == 1 and fake.existing["apt_old"].status == "moved"
