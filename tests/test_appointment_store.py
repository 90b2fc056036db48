"""Existing appointments in the store, on real PostgreSQL: who finds which appointment,
and changes that happen one at a time (store/appointments.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest_asyncio

from store import appointments as apts
from store import holds as store
from store.db import create_engine_for
from tests.test_store import specs_for

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 49 hours after NOW
PHONE, OTHER = "+4915112345678", "+4917099999999"


@pytest_asyncio.fixture
async def engine(database_url):
    eng = create_engine_for(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


async def booked(
    engine,
    *,
    start: datetime = START,
    name: str = "Erika Mustermann",
    phone: str | None = PHONE,
    caller: str | None = None,
    service: str = "Herrenhaarschnitt",
) -> str:
    """An appointment as the booking path records it: booked claims plus the record."""
    appointment_id, hold_id = f"apt_{uuid.uuid4().hex[:8]}", f"hold-{uuid.uuid4().hex[:8]}"
    specs = specs_for(service, start)
    acquired = await store.acquire_hold(
        engine,
        hold_id=hold_id,
        call_id="call-1",
        claims=specs,
        expires_at=NOW + timedelta(minutes=5),
        now=NOW,
    )
    assert acquired.acquired
    uids = {s.segment_key: f"bk-{uuid.uuid4().hex[:8]}" for s in specs}
    await store.finalize_booking(
        engine,
        booking_uids=uids,
        appointment=apts.AppointmentRecord(
            id=appointment_id,
            call_id="call-1",
            hold_id=hold_id,
            service=service,
            start=specs[0].start,
            end=specs[-1].end,
            customer_name=name,
            customer_phone=phone,
            caller_phone=caller,
            segments=[
                apts.StoredSegment(
                    key=s.segment_key,
                    start=s.start,
                    end=s.end,
                    staff=True,
                    resource=s.resource,
                    calcom_booking_uid=uids[s.segment_key],
                )
                for s in specs
            ],
        ),
    )
    return appointment_id


async def ids(found: list[apts.StoredAppointment]) -> list[str]:
    return [a.id for a in found]


async def test_upcoming_by_number_or_by_exact_name_and_day_and_nothing_else(engine):
    mine = await booked(engine, phone=PHONE)
    from_my_phone = await booked(
        engine, start=START + timedelta(hours=2), phone=None, caller=PHONE, name="Eva Weber"
    )
    someone = await booked(
        engine, start=START + timedelta(hours=4), phone=OTHER, name="Jürgen Müller"
    )
    day = (START.replace(hour=0), START.replace(hour=0) + timedelta(days=1))

    assert await ids(await apts.upcoming(engine, now=NOW, phone=PHONE)) == [mine, from_my_phone]
    assert await apts.upcoming(engine, now=NOW, phone="+4930000000") == []
    # By name: only with the day, only exactly that name (letter case aside).
    assert await apts.upcoming(engine, now=NOW, name="Jürgen Müller") == []
    by_name = await apts.upcoming(engine, now=NOW, name="jürgen müller", day=day)
    assert await ids(by_name) == [someone]
    assert await apts.upcoming(engine, now=NOW, name="Jürgen", day=day) == []
    next_day = (day[1], day[1] + timedelta(days=1))
    assert await apts.upcoming(engine, now=NOW, name="Jürgen Müller", day=next_day) == []
    # Not upcoming once it has started.
    just_before = START + timedelta(hours=4) - timedelta(minutes=1)
    assert await ids(await apts.upcoming(engine, now=just_before, phone=OTHER)) == [someone]
    assert await apts.upcoming(engine, now=START + timedelta(hours=4), phone=OTHER) == []


async def test_one_change_at_a_time_and_the_owner_finishes_it(engine):
    appointment_id = await booked(engine)
    first = await apts.begin_change(
        engine, appointment_id=appointment_id, owner="call-a/cancel", now=NOW, notice=timedelta(0)
    )
    assert first.outcome == "begun" and first.appointment is not None
    again = await apts.begin_change(
        engine, appointment_id=appointment_id, owner="call-a/cancel", now=NOW, notice=timedelta(0)
    )
    assert again.outcome == "begun"  # a retried step of the same change
    other = await apts.begin_change(
        engine, appointment_id=appointment_id, owner="call-b/move", now=NOW, notice=timedelta(0)
    )
    assert other.outcome == "busy"
    assert not await apts.finish_cancel(
        engine, appointment_id=appointment_id, owner="call-b/move", cancelled_by="caller"
    )
    assert await apts.finish_cancel(
        engine, appointment_id=appointment_id, owner="call-a/cancel", cancelled_by="caller"
    )
    assert await apts.finish_cancel(  # the same step retried after it committed
        engine, appointment_id=appointment_id, owner="call-a/cancel", cancelled_by="caller"
    )
    after = await apts.begin_change(
        engine, appointment_id=appointment_id, owner="call-b/move", now=NOW, notice=timedelta(0)
    )
    assert after.outcome == "cancelled"
    claims = await store.list_claims(engine)
    assert {c.status for c in claims} == {"released"}  # the time is free again


async def test_concurrent_beginnings_let_exactly_one_change_start(engine):
    appointment_id = await booked(engine)
    results = await asyncio.gather(
        *(
            apts.begin_change(
                engine, appointment_id=appointment_id, owner=f"call-{i}", now=NOW, notice=None
            )
            for i in range(20)
        )
    )
    assert sorted(r.outcome for r in results).count("begun") == 1
    assert {r.outcome for r in results} == {"begun", "busy"}


async def test_notice_refuses_late_changes_and_abort_leaves_it_untouched(engine):
    appointment_id = await booked(engine)
    late = await apts.begin_change(
        engine, appointment_id=appointment_id, owner="c", now=NOW, notice=timedelta(hours=50)
    )
    assert late.outcome == "too_late"
    begun = await apts.begin_change(
        engine, appointment_id=appointment_id, owner="c", now=NOW, notice=timedelta(hours=48)
    )
    assert begun.outcome == "begun"
    assert await apts.abort_change(engine, appointment_id=appointment_id, owner="c")
    stored = await apts.get(engine, appointment_id)
    assert stored is not None and stored.status == "booked" and stored.locked_by is None
    assert {c.status for c in await store.list_claims(engine)} == {"booked"}


async def test_a_move_releases_the_old_time_and_points_to_the_new_appointment(engine):
    old = await booked(engine)
    new = await booked(engine, start=START + timedelta(days=1))
    assert (
        await apts.begin_change(engine, appointment_id=old, owner="m", now=NOW, notice=None)
    ).outcome == "begun"
    assert await apts.finish_move(engine, appointment_id=old, owner="m", moved_to=new)
    stored = await apts.get(engine, old)
    assert stored is not None and stored.status == "moved" and stored.moved_to == new
    assert await ids(await apts.upcoming(engine, now=NOW, phone=PHONE)) == [new]
    assert (
        await apts.begin_change(engine, appointment_id=old, owner="x", now=NOW, notice=None)
    ).outcome == "moved"


async def test_a_reschedule_in_calcom_moves_the_segment_and_its_claim(engine):
    appointment_id = await booked(engine)
    stored = await apts.get(engine, appointment_id)
    assert stored is not None
    old_uid = stored.segments[0].calcom_booking_uid
    assert old_uid is not None
    later = START + timedelta(hours=3)
    moved = await apts.reflect_reschedule(
        engine,
        old_uid=old_uid,
        new_uid="bk-new",
        start=later,
        end=later + timedelta(minutes=30),
        now=NOW,
    )
    assert moved.outcome == "reflected" and moved.resource == "stylist-1"
    stored = await apts.get(engine, appointment_id)
    assert stored is not None and stored.start == later
    assert stored.segments[0].calcom_booking_uid == "bk-new"
    [claim] = await store.list_claims(engine)
    assert (claim.start, claim.status, claim.calcom_booking_uid) == (later, "booked", "bk-new")
    # A repeated delivery changes nothing; an unknown booking is not ours.
    again = await apts.reflect_reschedule(
        engine, old_uid=old_uid, new_uid="bk-new", start=later, end=later, now=NOW
    )
    assert again.outcome == "ignored"
    unknown = await apts.reflect_reschedule(
        engine, old_uid="bk-x", new_uid="bk-y", start=later, end=later, now=NOW
    )
    assert unknown.outcome == "unknown"


async def test_a_reschedule_onto_someones_claim_keeps_calcom_right_and_frees_ours(engine):
    appointment_id = await booked(engine)
    other = await booked(engine, start=START + timedelta(hours=3), phone=OTHER)
    stored = await apts.get(engine, appointment_id)
    assert stored is not None and stored.segments[0].calcom_booking_uid
    clash = START + timedelta(hours=3)
    moved = await apts.reflect_reschedule(
        engine,
        old_uid=stored.segments[0].calcom_booking_uid,
        new_uid="bk-clash",
        start=clash,
        end=clash + timedelta(minutes=30),
        now=NOW,
    )
    assert moved.outcome == "reflected"
    mine = [c for c in await store.list_claims(engine) if c.hold_id == stored.hold_id]
    assert [c.status for c in mine] == ["released"]  # the other appointment's claim stands
    assert other in await ids(await apts.upcoming(engine, now=NOW, phone=OTHER))


async def test_a_reschedule_waits_while_a_change_runs(engine):
    appointment_id = await booked(engine)
    stored = await apts.get(engine, appointment_id)
    assert stored is not None and stored.segments[0].calcom_booking_uid
    await apts.begin_change(engine, appointment_id=appointment_id, owner="c", now=NOW, notice=None)
    busy = await apts.reflect_reschedule(
        engine,
        old_uid=stored.segments[0].calcom_booking_uid,
        new_uid="bk-new",
        start=START,
        end=START + timedelta(minutes=30),
        now=NOW,
    )
    assert busy.outcome == "busy"


async def test_a_moved_appointments_own_claims_do_not_block_its_new_time(engine):
    appointment_id = await booked(engine)
    stored = await apts.get(engine, appointment_id)
    assert stored is not None
    window = (START - timedelta(hours=1), START + timedelta(hours=2))
    busy = await store.busy_intervals(
        engine, resources=["stylist-1"], start=window[0], end=window[1], now=NOW
    )
    assert busy["stylist-1"]
    own = await store.busy_intervals(
        engine,
        resources=["stylist-1"],
        start=window[0],
        end=window[1],
        now=NOW,
        exclude_hold_id=stored.hold_id,
    )
    assert own["stylist-1"] == []
