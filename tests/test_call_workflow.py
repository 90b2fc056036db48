"""The call workflow end to end: real worker, real activities, the Cal.com simulator over
HTTP and real PostgreSQL. Each test checks what a caller and the salon would notice."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType

from contracts.messages import (
    BookingStatus,
    CallEnded,
    CancelHold,
    Customer,
    ExtendHold,
    StartBooking,
)
from store import holds as store
from tests.harness import (
    assert_eventually,
    assert_indexed,
    call_stack,
    local_activities,
    next_open_day,
    unique,
)
from workflows.call import CallWorkflow
from workflows.ids import call_workflow_id
from workflows.outside_booking import (
    CalcomBookingEvent,
    CalcomBookingEventWorkflow,
    calcom_event_workflow_id,
)
from workflows.search_attributes import BOOKING_STATUS, SERVICE_NAME, SLOT_START

CUSTOMER = Customer(name="Jürgen Müller", phone="+4930123456")


def accepted(state: dict) -> list[dict]:
    return [b for b in state["bookings"] if b["status"] == "accepted"]


async def active_claims(engine, call_id: str) -> list:
    return [c for c in await store.list_claims(engine, call_id=call_id) if c.status == "held"]


async def test_compound_service_is_held_then_booked_in_parallel(stack, sim):
    call_id = unique("booked")
    start = next_open_day(hour=10, minute=45)

    held = await stack.check(call_id, "Dauerwelle", start)

    assert held.outcome == "held" and held.available
    assert held.hold_seconds_left is not None and 80 <= held.hold_seconds_left <= 90
    state = await sim.state()
    assert len(state["reservations"]) == 3  # A, B, D staffed; C is the processing gap

    handle = stack.handle(call_id)
    result = await handle.execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )

    assert result.status == "booked" and result.booked and result.appointment_id
    uids = {s.key: s.calcom_booking_uid for s in result.segments}
    assert uids["C"] is None and all(uids[k] for k in "ABD")
    state = await sim.state()
    bookings = accepted(state)
    assert sorted(b["uid"] for b in bookings) == sorted(uids[k] for k in "ABD")
    # Each booking consumed its segment's reservation (reservedSlotUid): none is left,
    # although nothing released them (they last minutes beyond the hold).
    assert state["reservations"] == []
    assert all(b["metadata"]["call_id"] == call_id for b in bookings)
    claims = await store.list_claims(stack.engine, call_id=call_id)
    assert sorted(c.status for c in claims) == ["booked"] * 3

    # A repeated start_booking (Retell retry) answers the same and books nothing more.
    again = await handle.execute_update(CallWorkflow.start_booking, StartBooking(customer=CUSTOMER))
    assert again.appointment_id == result.appointment_id
    assert len(accepted(await sim.state())) == 3

    await handle.signal(CallWorkflow.call_ended, CallEnded(reason="user_hangup"))
    final = await handle.result()
    assert final.status == BookingStatus.BOOKED


async def test_second_caller_gets_alternatives_for_a_held_slot(stack, sim):
    start = next_open_day(hour=11)
    first = await stack.check(unique("first"), "Färben", start)
    assert first.available

    second_call = unique("second")
    second = await stack.check(second_call, "Färben", start)

    assert second.outcome == "slot_taken" and not second.available
    assert 1 <= len(second.alternatives) <= 3
    for alt in second.alternatives:
        assert alt.start != start
        assert alt.end - alt.start == timedelta(
            minutes=stack.catalog.service("Färben").total_minutes
        )
    # Nothing of the second caller's attempt is left behind.
    assert len((await sim.state())["reservations"]) == 2
    # Every alternative offered is really holdable: the second caller takes each in turn
    # (a new check of the call releases its previous hold).
    for alt in second.alternatives:
        taken = await stack.check(second_call, "Färben", alt.start)
        assert taken.available, f"offered {alt.start} but it cannot be held"


async def test_booking_inside_another_plans_processing_gap_is_possible(stack, sim):
    """Färben at 9:00 is A 9:00-9:35, a 35-minute gap, D 10:10-10:40 (stylist-1). Cal.com's
    15-minute Bartpflege grid restarts at 9:45 after A: the stylist does a beard there."""
    start = next_open_day(hour=9)
    colour = unique("colour")
    assert (await stack.check(colour, "Färben", start)).available
    booked = await stack.handle(colour).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )
    assert booked.status == "booked"

    in_gap = await stack.check(unique("beard"), "Bartpflege", start + timedelta(minutes=45))
    five_into_a = await stack.check(unique("early"), "Bartpflege", start + timedelta(minutes=30))
    five_into_d = await stack.check(unique("late"), "Bartpflege", start + timedelta(minutes=60))

    assert in_gap.outcome == "held"
    assert five_into_a.outcome == "slot_taken", "9:30-9:45 overlaps A (until 9:35) by 5 min"
    assert five_into_d.outcome == "slot_taken", "10:00-10:15 overlaps D (from 10:10) by 5 min"


async def test_outside_booking_during_the_hold_marks_it_lost(stack, sim, temporal_client):
    call_id = unique("lost")
    start = next_open_day(hour=14)
    assert (await stack.check(call_id, "Herrenhaarschnitt", start)).available

    # Someone books the same stylist through Cal.com's API, ignoring our reservation.
    outside = await sim.outside_booking(event_type_id=1004, start=start, respect_reservations=False)
    event = CalcomBookingEvent(
        trigger="BOOKING_CREATED",
        calcom_uid=outside["uid"],
        event_type_id=1004,
        start=start,
        end=start + timedelta(minutes=15),
    )
    result = await temporal_client.execute_workflow(
        CalcomBookingEventWorkflow.run,
        event,
        id=calcom_event_workflow_id(event.trigger, event.calcom_uid),
        task_queue=stack.task_queue,
    )
    assert result.signalled_calls == [call_id]

    async def hold_released():
        assert await active_claims(stack.engine, call_id) == []

    await assert_eventually(hold_released)
    answer = await stack.handle(call_id).execute_update(CallWorkflow.extend_hold, ExtendHold())
    assert answer.outcome == "hold_lost" and answer.alternatives
    booking = await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )
    assert booking.status == "slot_taken" and booking.reason == "hold_lost"
    assert [b["uid"] for b in accepted(await sim.state())] == [outside["uid"]]


async def test_failing_segment_is_compensated_leaving_no_booking(stack, sim):
    call_id = unique("comp")
    start = next_open_day(hour=10)
    assert (await stack.check(call_id, "Dauerwelle", start)).available
    await sim.add_fault(endpoint="/v2/bookings", kind="reject", event_type_id=2004)

    result = await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )

    assert result.status == "slot_taken" and not result.booked
    assert result.alternatives
    assert accepted(await sim.state()) == []
    assert await active_claims(stack.engine, call_id) == []
    assert (await sim.state())["reservations"] == []


async def test_lost_response_after_calcom_committed_yields_exactly_one_booking(stack, sim):
    call_id = unique("lostresp")
    start = next_open_day(hour=15)
    assert (await stack.check(call_id, "Dauerwelle", start)).available
    await sim.add_fault(endpoint="/v2/bookings", kind="lost_response", event_type_id=2002, times=1)

    result = await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )

    assert result.status == "booked"
    bookings = accepted(await sim.state())
    assert sorted(b["eventTypeId"] for b in bookings) == [2001, 2002, 2004]


async def test_hold_expires_and_releases_everything(temporal_client, database_url, simulator, sim):
    async with call_stack(temporal_client, database_url, simulator, hold_seconds=2) as stack:
        call_id = unique("expiry")
        held = await stack.check(call_id, "Föhnen", next_open_day(hour=12))
        assert held.available

        async def expired():
            state = await stack.handle(call_id).query(CallWorkflow.state)
            assert state.status == BookingStatus.EXPIRED

        await assert_eventually(expired, timeout=15)
        assert await active_claims(stack.engine, call_id) == []
        assert (await sim.state())["reservations"] == []
        answer = await stack.handle(call_id).execute_update(CallWorkflow.extend_hold, ExtendHold())
        assert answer.outcome == "expired"


async def test_expired_hold_books_after_a_fresh_hold_when_still_free(
    temporal_client, database_url, simulator, sim
):
    async with call_stack(temporal_client, database_url, simulator, hold_seconds=1) as stack:
        call_id = unique("rehold")
        assert (await stack.check(call_id, "Bartpflege", next_open_day(hour=16))).available

        async def expired():
            state = await stack.handle(call_id).query(CallWorkflow.state)
            assert state.status == BookingStatus.EXPIRED

        await assert_eventually(expired, timeout=15)
        result = await stack.handle(call_id).execute_update(
            CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
        )
        assert result.status == "booked" and result.fresh_hold
        assert len(accepted(await sim.state())) == 1


async def test_extension_is_bounded(stack, sim):
    call_id = unique("extend")
    held = await stack.check(call_id, "Herrenhaarschnitt", next_open_day(hour=9, minute=30))
    handle = stack.handle(call_id)

    outcomes = [
        (await handle.execute_update(CallWorkflow.extend_hold, ExtendHold(seconds=60))).outcome
        for _ in range(4)
    ]

    assert outcomes == ["extended", "extended", "extended", "extend_limit"]
    state = await handle.query(CallWorkflow.state)
    assert state.hold_expires_at > held.hold_expires_at
    assert state.status == BookingStatus.HOLDING


async def test_cancel_and_hang_up_release_the_hold(stack, sim):
    cancelled_call, hung_up_call = unique("cancel"), unique("hangup")
    day = next_open_day(hour=13)
    assert (await stack.check(cancelled_call, "Herrenhaarschnitt", day)).available
    assert (await stack.check(hung_up_call, "Damenhaarschnitt", day)).available

    cancelled = await stack.handle(cancelled_call).execute_update(
        CallWorkflow.cancel_hold, CancelHold()
    )
    await stack.handle(hung_up_call).signal(CallWorkflow.call_ended, CallEnded())
    final = await stack.handle(hung_up_call).result()

    assert cancelled.outcome == "cancelled"
    assert final.status == BookingStatus.RELEASED
    assert await active_claims(stack.engine, cancelled_call) == []
    assert await active_claims(stack.engine, hung_up_call) == []
    assert (await sim.state())["reservations"] == []


async def test_new_check_releases_the_previous_hold(stack, sim):
    call_id = unique("recheck")
    day = next_open_day(hour=10)
    assert (await stack.check(call_id, "Herrenhaarschnitt", day)).available
    moved = await stack.check(call_id, "Herrenhaarschnitt", day + timedelta(minutes=15))

    assert moved.outcome == "held"
    claims = await active_claims(stack.engine, call_id)
    assert [c.start for c in claims] == [day + timedelta(minutes=15)]
    assert len((await sim.state())["reservations"]) == 1


async def test_reservations_failing_for_good_leave_a_degraded_hold_that_ops_can_see(stack, sim):
    """Cal.com answers 500 to every reservation: the caller still hears "frei" (our claims
    keep our own callers off the time), but the state, the UI details and a metric say the
    hold has no Cal.com reservation; the booking still goes through."""
    from prometheus_client import REGISTRY

    def degraded_count() -> float:
        return (
            REGISTRY.get_sample_value(
                "booking_degraded_holds_total", {"reason": "reservation_failed"}
            )
            or 0.0
        )

    before = degraded_count()
    await sim.add_fault(endpoint="POST /v2/slots/reservations", kind="500")
    call_id = unique("degraded")
    held = await stack.check(call_id, "Färben", next_open_day(hour=15))

    assert held.available and held.degraded
    handle = stack.handle(call_id)
    state = await handle.query(CallWorkflow.state)
    assert state.degraded and all(s.calcom_reservation_uid is None for s in state.segments)
    assert degraded_count() == before + 1
    other = await stack.check(unique("other"), "Färben", next_open_day(hour=15))
    assert other.outcome == "slot_taken", "our claims still keep other callers off"

    await sim.clear_faults()
    booked = await handle.execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )
    assert booked.status == "booked"
    assert len(accepted(await sim.state())) == 2


async def test_a_reservation_cal_com_fails_once_is_made_again_and_the_hold_is_whole(stack, sim):
    """The stylist asked for is known before the check, so the check, the claim and the
    reservations run as one step (``place_hold``). Cal.com fails one segment's reservation
    once: the workflow reserves that segment again, and the caller's hold has every
    reservation (not degraded), as it would without the one step."""
    await sim.add_fault(
        endpoint="POST /v2/slots/reservations", kind="500", times=1, event_type_id=2002
    )
    call_id = unique("reserve-again")
    held = await stack.check(call_id, "Dauerwelle", next_open_day(hour=10), stylist="ben")

    assert held.available and not held.degraded
    state = await stack.handle(call_id).query(CallWorkflow.state)
    assert all(s.calcom_reservation_uid for s in state.segments if s.staff)
    sim_state = await sim.state()
    assert sim_state["faults"] == [], "the fault never hit a reservation"
    assert len(sim_state["reservations"]) == 3
    steps = local_activities(await stack.handle(call_id).fetch_history())
    assert steps == ["place_hold", "reserve_segment"]


async def test_a_reservation_refused_in_the_one_step_releases_everything(stack, sim):
    """Cal.com refuses one segment's reservation (taken meanwhile): the caller hears the
    time is taken, and nothing of the attempt stays behind: no claim, no reservation."""
    await sim.add_fault(
        endpoint="POST /v2/slots/reservations", kind="reject", times=1, event_type_id=2004
    )
    call_id = unique("reserve-refused")
    answer = await stack.check(call_id, "Dauerwelle", next_open_day(hour=10), stylist="ben")

    assert answer.outcome == "slot_taken" and not answer.available
    sim_state = await sim.state()
    assert sim_state["faults"] == [], "the fault never hit a reservation"
    assert sim_state["reservations"] == []
    assert await active_claims(stack.engine, call_id) == []
    assert local_activities(await stack.handle(call_id).fetch_history())[0] == "place_hold"


async def test_a_check_cal_com_fails_once_is_retried_with_the_claim_it_made(stack, sim):
    """The one step fails when Cal.com fails the check (its claim already made): the
    retry claims the same hold again, so the caller holds the time once, not twice."""
    await sim.add_fault(endpoint="/v2/slots", kind="500", times=1)
    call_id = unique("check-again")
    held = await stack.check(call_id, "Dauerwelle", next_open_day(hour=10), stylist="carla")

    assert held.available and held.stylist == "Carla"
    assert (await sim.state())["faults"] == [], "the fault never hit the check"
    claims = await active_claims(stack.engine, call_id)
    assert sorted(c.segment_key for c in claims) == ["A", "B", "D"]
    assert len({c.hold_id for c in claims}) == 1


async def test_a_time_cal_com_does_not_offer_is_taken_with_alternatives_and_no_claim(stack, sim):
    """The one step claims while it asks Cal.com: when Cal.com no longer offers the time
    (booked elsewhere), the caller hears alternatives from the same step and the claim
    it made is released; nothing is reserved."""
    start = next_open_day(hour=11)
    await sim.outside_booking(event_type_id=3001, start=start, respect_reservations=False)
    call_id = unique("outside-first")

    answer = await stack.check(call_id, "Färben", start)

    assert answer.outcome == "slot_taken" and answer.alternatives
    assert all(a.start != start for a in answer.alternatives)
    assert await active_claims(stack.engine, call_id) == []
    assert (await sim.state())["reservations"] == []
    assert local_activities(await stack.handle(call_id).fetch_history()) == [
        "place_hold",
        "release_hold",
    ]


async def test_the_check_answers_before_its_search_attributes_are_indexed(stack, sim):
    """Ops find the held call by its status, service, slot and stylist, but the caller's
    answer does not wait for the indexing: the check's workflow task answers, the search
    attributes follow in the next one."""
    call_id = unique("indexed")
    start = next_open_day(hour=11)
    # Announced first, as Retell's call_started does: the run's own start is behind it.
    handle = await stack.client.start_workflow(
        CallWorkflow.run,
        stack.call_input(call_id),
        id=call_workflow_id(call_id),
        task_queue=stack.task_queue,
    )
    await handle.query(CallWorkflow.state)
    held = await stack.check(call_id, "Herrenhaarschnitt", start)
    assert held.available

    await assert_indexed(
        handle,
        (BOOKING_STATUS, BookingStatus.HOLDING.value),
        (SERVICE_NAME, "Herrenhaarschnitt"),
        (SLOT_START, start),
    )
    events = [e async for e in handle.fetch_history_events()]
    answered = next(
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    )
    upserts = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    later = [i for i in upserts if i > answered]
    assert later, "the holding status was never indexed"
    task_ends = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    # The answer's workflow task ends before the upsert: it is in a task of its own.
    answer_task_end = min(i for i in task_ends if i > answered)
    assert all(i > answer_task_end for i in later)
    assert not [i for i in upserts if answered > i > max(t for t in task_ends if t < answered)]
    # A new run records one code-version marker (the newest patch implies the older).
    patches = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert len(patches) == 1 and patches[0].event_id < answered
    await handle.signal(CallWorkflow.call_ended, CallEnded())
    await handle.result()
