"""Several stylists, on real parts: a real worker, PostgreSQL and the Cal.com simulator over
HTTP. In the demo catalog Anna and Carla cut men's hair (Herrenhaarschnitt: Anna's event
type 1001, Carla's 1101) and Ben and Carla do perms (Dauerwelle: Ben 2001/2002/2004, Carla
2101/2102/2104). Each test checks what callers and the salon would notice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from contracts.messages import BookingStatus, CallEnded, Customer, StartBooking
from store import appointments as appointments_store
from store import holds as store
from tests.harness import assert_eventually, assert_indexed, next_open_day, unique
from workflows.call import CallWorkflow
from workflows.search_attributes import STYLIST

CUSTOMER = Customer(name="Jürgen Müller", phone="+4930123456")
CUT = "Herrenhaarschnitt"
PERM = "Dauerwelle"


async def held_by(stack, call_id: str) -> set[str]:
    """The stylists (resources) of the call's live claims."""
    claims = await store.list_claims(stack.engine, call_id=call_id)
    return {c.resource for c in claims if c.status == "held"}


def reserved_event_types(state: dict) -> list[int]:
    return sorted(r["eventTypeId"] for r in state["reservations"])


async def test_without_a_preference_the_second_caller_gets_the_other_stylist(stack, sim):
    ten = next_open_day(hour=10)

    first = await stack.check(unique("first"), CUT, ten)
    insists = await stack.check(unique("insists"), CUT, ten, stylist="anna")
    second_call = unique("second")
    second = await stack.check(second_call, CUT, ten)

    # Nobody has booked anything that day: the tie goes to the catalog's first, Anna.
    assert first.outcome == "held" and first.stylist == "Anna"
    # Whoever insists on Anna hears that Carla could take them at that very time first,
    # then Anna's own nearest times.
    assert insists.outcome == "slot_taken" and not insists.available
    assert (insists.alternatives[0].start, insists.alternatives[0].stylist) == (ten, "Carla")
    assert len(insists.alternatives) >= 2
    assert all(a.stylist == "Anna" and a.start != ten for a in insists.alternatives[1:])
    # No preference: Carla, who is still free at 10:00.
    assert second.outcome == "held" and second.stylist == "Carla"
    assert await held_by(stack, second_call) == {"carla"}
    assert reserved_event_types(await sim.state()) == [1001, 1101]

    booked = await stack.handle(second_call).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )

    assert booked.status == "booked" and booked.stylist == "Carla"
    bookings = [b for b in (await sim.state())["bookings"] if b["status"] == "accepted"]
    assert [(b["eventTypeId"], b["hosts"][0]["username"]) for b in bookings] == [(1101, "carla")]
    [appointment] = await appointments_store.list_appointments(stack.engine, call_id=second_call)
    assert appointment["stylist"] == "carla"
    await assert_indexed(stack.handle(second_call), (STYLIST, "carla"))  # the catalog key
    await stack.handle(second_call).signal(CallWorkflow.call_ended, CallEnded())
    final = await stack.handle(second_call).result()
    assert final.status == BookingStatus.BOOKED and final.stylist == "Carla"


async def test_the_stylist_with_less_booked_time_that_day_is_chosen(stack, sim):
    day = next_open_day(hour=14)
    assert (await stack.check(unique("busy-anna"), CUT, day, stylist="anna")).available

    chosen = await stack.check(unique("whoever"), CUT, day + timedelta(hours=2))

    # Both are free at 16:00; Anna already has half an hour that day, Carla nothing.
    assert chosen.outcome == "held" and chosen.stylist == "Carla"


async def test_a_caller_moving_the_time_stays_with_the_stylist_they_heard(stack, sim):
    call_id = unique("moves")
    day = next_open_day(hour=14)
    assert (await stack.check(call_id, CUT, day)).stylist == "Anna"  # nobody booked yet
    assert (
        await stack.check(unique("busy-anna"), CUT, day - timedelta(hours=4), stylist="anna")
    ).available

    # Anna now has more booked time than Carla, but the caller has heard "bei Anna".
    moved = await stack.check(call_id, CUT, day + timedelta(minutes=15))

    assert moved.outcome == "held" and moved.stylist == "Anna"
    assert await held_by(stack, call_id) == {"anna"}


async def test_a_hold_placed_again_after_expiring_keeps_its_stylist(stack, sim):
    call_id = unique("rehold")
    day = next_open_day(hour=16)
    assert (await stack.check(call_id, CUT, day, hold_seconds=1)).stylist == "Anna"
    assert (
        await stack.check(unique("busy-anna"), CUT, day - timedelta(hours=6), stylist="anna")
    ).available

    async def expired():
        state = await stack.handle(call_id).query(CallWorkflow.state)
        assert state.status == BookingStatus.EXPIRED

    await assert_eventually(expired, timeout=15)
    booked = await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )

    assert booked.status == "booked" and booked.fresh_hold and booked.stylist == "Anna"
    accepted = [b for b in (await sim.state())["bookings"] if b["status"] == "accepted"]
    assert [b["eventTypeId"] for b in accepted] == [1001]


async def test_a_compound_service_is_never_split_across_stylists(stack, sim):
    ten = next_open_day(hour=10)  # A 10:00-10:45, B -11:15, gap -11:35, D -12:10
    # Ben is booked during D, Carla during A: each could do a part, nobody all of it.
    await sim.outside_booking(event_type_id=2004, start=ten + timedelta(minutes=95))
    await sim.outside_booking(event_type_id=2101, start=ten)

    split = await stack.check(unique("split"), PERM, ten)

    assert split.outcome == "slot_taken" and not split.available
    assert (await sim.state())["reservations"] == []
    assert all(a.stylist in ("Ben", "Carla") for a in split.alternatives)

    # Half an hour later Carla's A is over: she takes the whole perm, Ben's D is not needed.
    later_call = unique("later")
    later = await stack.check(later_call, PERM, ten + timedelta(minutes=45))
    assert later.outcome == "held" and later.stylist == "Carla"
    state = await stack.handle(later_call).query(CallWorkflow.state)
    staffed = [(s.key, s.resource, s.calcom_event_type_id) for s in state.segments if s.staff]
    assert staffed == [("A", "carla", 2101), ("B", "carla", 2102), ("D", "carla", 2104)]
    booked = await stack.handle(later_call).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )
    assert booked.status == "booked"
    ours = [b for b in (await sim.state())["bookings"] if (b.get("metadata") or {}).get("hold_id")]
    assert sorted(b["eventTypeId"] for b in ours if b["status"] == "accepted") == [2101, 2102, 2104]


async def test_alternatives_for_anyone_range_over_all_stylists(stack, sim):
    day = next_open_day(hour=10)
    at = {m: day + timedelta(minutes=m) for m in (-30, 0, 30)}  # 9:30, 10:00, 10:30
    # Anna is held 9:30-10:30, Carla 10:00-11:00: an hour each.
    for stylist, minutes in (("anna", -30), ("anna", 0), ("carla", 0), ("carla", 30)):
        assert (await stack.check(unique(stylist), CUT, at[minutes], stylist=stylist)).available

    anyone = await stack.check(unique("anyone"), CUT, day)

    assert anyone.outcome == "slot_taken"
    offered = [(a.start - day, a.stylist) for a in anyone.alternatives]
    # 9:30 only Carla is free, 10:30 only Anna, 9:15 Carla again (nearest first, earlier
    # wins a tie).
    assert offered == [
        (timedelta(minutes=-30), "Carla"),
        (timedelta(minutes=30), "Anna"),
        (timedelta(minutes=-45), "Carla"),
    ]


async def test_a_named_stylist_is_held_even_when_the_rule_would_choose_another(stack, sim):
    call_id = unique("named")
    held = await stack.check(call_id, CUT, next_open_day(hour=11), stylist="carla")

    assert held.outcome == "held" and held.stylist == "Carla"
    assert await held_by(stack, call_id) == {"carla"}
    assert reserved_event_types(await sim.state()) == [1101]


async def test_fifty_concurrent_callers_for_one_time_and_two_stylists_make_two_holds(stack, sim):
    start = next_open_day(hour=15)
    calls = [unique(f"rush-{i}") for i in range(50)]

    answers = await asyncio.gather(*(stack.check(c, CUT, start) for c in calls))

    held = [a for a in answers if a.outcome == "held"]
    assert sorted(a.stylist for a in held) == ["Anna", "Carla"]
    refused = [a for a in answers if a.outcome != "held"]
    assert len(refused) == 48 and {a.outcome for a in refused} == {"slot_taken"}
    # Both stylists are taken at that time: the others are offered other times.
    assert all(alt.start != start for a in refused for alt in a.alternatives)
    claims = [c for c in await store.list_claims(stack.engine) if c.status == "held"]
    assert sorted(c.resource for c in claims) == ["anna", "carla"]
    assert reserved_event_types(await sim.state()) == [1001, 1101]
