"""The store on real PostgreSQL: claims that never overlap, even when calls race."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from domain.catalog import load_catalog
from domain.planning import plan_service
from store import appointments as apts
from store import holds as store
from store import outside
from store.db import create_engine_for
from store.schema import alembic_config, current_revision, downgrade_to_base, upgrade_to_head
from tests.harness import next_open_day
from tests.simulator_catalog import CATALOG_PATH as SIMULATOR_CATALOG

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# The newest migration (one head: migrations form a single line).
HEAD = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
LATER = NOW + timedelta(seconds=90)


@pytest_asyncio.fixture
async def engine(database_url):
    eng = create_engine_for(database_url, pool_size=60, max_overflow=10)
    try:
        yield eng
    finally:
        await eng.dispose()


def specs_for(service_name: str, start: datetime) -> list[store.ClaimSpec]:
    """The staffed segments of a service as claims (tests/catalogs/simulator.toml: the
    fixed lengths these tests' offsets are written for)."""
    catalog = load_catalog(SIMULATOR_CATALOG)
    plan = plan_service(catalog.service(service_name), start)
    return [
        store.ClaimSpec(
            segment_key=s.key,
            resource=s.resource,
            start=s.start,
            end=s.end,
            calcom_event_type_id=s.calcom_event_type_id,
        )
        for s in plan.staffed
        if s.resource is not None
    ]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def acquire(engine, specs, *, call_id=None, expires_at=LATER, now=NOW):
    call_id = call_id or new_id("call")
    hold_id = new_id("hold")
    result = await store.acquire_hold(
        engine, hold_id=hold_id, call_id=call_id, claims=specs, expires_at=expires_at, now=now
    )
    return hold_id, result


@pytest.mark.parametrize("run", range(20))
async def test_fifty_concurrent_acquisitions_yield_exactly_one_hold(engine, run):
    start = next_open_day(hour=10, minute=45)
    specs = specs_for("Dauerwelle", start)
    results = await asyncio.gather(*(acquire(engine, specs) for _ in range(50)))
    winners = [hold for hold, r in results if r.acquired]
    assert len(winners) == 1
    losers = [r for _, r in results if not r.acquired]
    assert all(r.conflicts for r in losers), "a loser is told who holds the slot"
    rows = await store.list_claims(engine, resource="stylist-2")
    held = [c for c in rows if c.status == "held"]
    assert {c.hold_id for c in held} == set(winners)
    assert sorted(c.segment_key for c in held) == ["A", "B", "D"]


async def test_partial_overlap_conflicts_segment_a_against_segment_d(engine):
    """Dauerwelle at 10:00 has D at 11:30-12:00; one starting at 11:45 has A at 11:45."""
    first = next_open_day(hour=10)
    hold, r1 = await acquire(engine, specs_for("Dauerwelle", first))
    assert r1.acquired
    _, r2 = await acquire(engine, specs_for("Dauerwelle", first + timedelta(minutes=105)))
    assert not r2.acquired
    assert [c.hold_id for c in r2.conflicts] == [hold]
    assert r2.conflicts[0].start == first + timedelta(minutes=90)  # segment D of the first
    # All or none: the loser left no claim behind (its B and D did not overlap anything).
    assert [c.hold_id for c in await store.list_claims(engine, resource="stylist-2")] == [hold] * 3


async def test_a_booking_inside_another_plans_processing_gap_succeeds(engine):
    """Färben at 10:00: A 10:00-10:30, processing gap 10:30-11:00, D 11:00-11:30, all on
    stylist-1. A 30-minute Herrenhaarschnitt on the same stylist at 10:30 fits in the gap."""
    start = next_open_day(hour=10)
    _, dye = await acquire(engine, specs_for("Färben", start))
    assert dye.acquired
    cut = specs_for("Herrenhaarschnitt", start + timedelta(minutes=30))
    assert cut[0].resource == "stylist-1"
    _, r = await acquire(engine, cut)
    assert r.acquired, r.conflicts
    # ...but not a minute longer than the gap: 10:45 would run into D.
    _, late = await acquire(engine, specs_for("Herrenhaarschnitt", start + timedelta(minutes=45)))
    assert not late.acquired


async def test_expired_hold_does_not_block_even_if_nobody_released_it(engine):
    start = next_open_day(hour=14)
    specs = specs_for("Herrenhaarschnitt", start)
    old, r1 = await acquire(engine, specs, expires_at=NOW + timedelta(seconds=90))
    assert r1.acquired
    # 91 s later nothing has released the first hold, yet it blocks nobody.
    later = NOW + timedelta(seconds=91)
    assert (
        await store.find_overlapping_holds(
            engine,
            resource=specs[0].resource,
            start=start,
            end=start + timedelta(hours=1),
            now=later,
        )
        == []
    )
    assert not await store.hold_is_active(engine, hold_id=old, now=later)
    new, r2 = await acquire(engine, specs, now=later, expires_at=later + timedelta(seconds=90))
    assert r2.acquired
    statuses = {c.hold_id: c.status for c in await store.list_claims(engine, resource="stylist-1")}
    assert statuses == {old: "expired", new: "held"}
    # The stale hold can no longer be extended into the new one's time.
    assert not await store.extend_hold(
        engine, hold_id=old, expires_at=later + timedelta(minutes=5), now=later
    )


async def test_released_hold_frees_the_time_and_booked_claims_keep_it(engine):
    start = next_open_day(hour=15)
    specs = specs_for("Färben", start)
    hold, r = await acquire(engine, specs)
    assert r.acquired
    assert await store.release_hold(engine, hold_id=hold) == 2
    assert await store.release_hold(engine, hold_id=hold) == 0  # idempotent
    hold2, r2 = await acquire(engine, specs)
    assert r2.acquired
    await store.convert_to_booked(engine, hold_id=hold2, booking_uids={"A": "bk-a", "D": "bk-d"})
    rows = await store.get_hold(engine, hold2)
    assert [(c.status, c.calcom_booking_uid, c.expires_at) for c in rows] == [
        ("booked", "bk-a", None),
        ("booked", "bk-d", None),
    ]
    # Booked time blocks for ever, expiry or not; release does not touch booked claims.
    far = NOW + timedelta(days=1)
    _, r3 = await acquire(engine, specs, now=far, expires_at=far + timedelta(seconds=90))
    assert not r3.acquired
    assert await store.release_hold(engine, hold_id=hold2) == 0


async def test_acquire_is_idempotent_for_a_retried_hold_id(engine):
    specs = specs_for("Föhnen", next_open_day(hour=9))
    kwargs: dict[str, Any] = dict(
        hold_id="h-retry", call_id="c-1", claims=specs, expires_at=LATER, now=NOW
    )
    first, second = await asyncio.gather(
        store.acquire_hold(engine, **kwargs), store.acquire_hold(engine, **kwargs)
    )
    assert first.acquired and second.acquired
    assert len(await store.get_hold(engine, "h-retry")) == 1


async def test_a_retried_hold_id_that_wants_other_time_is_not_acquired(engine):
    """A retried placement for "anyone" may choose another stylist than its first attempt
    claimed: the hold id's claims are not what it wants, so it must not count as held."""
    start = next_open_day(hour=9)
    [spec] = specs_for("Föhnen", start)
    kwargs: dict[str, Any] = dict(hold_id="h-moved", call_id="c-1", expires_at=LATER, now=NOW)
    assert (await store.acquire_hold(engine, claims=[spec], **kwargs)).acquired
    other = dataclasses.replace(spec, resource=spec.resource + "-other")
    again = await store.acquire_hold(engine, claims=[other], **kwargs)

    assert not again.acquired
    assert [c.resource for c in await store.get_hold(engine, "h-moved")] == [spec.resource]


async def test_extend_keeps_a_live_hold(engine):
    start = next_open_day(hour=11)
    hold, r = await acquire(engine, specs_for("Bartpflege", start))
    assert r.acquired
    new_expiry = NOW + timedelta(minutes=4)
    assert await store.extend_hold(engine, hold_id=hold, expires_at=new_expiry, now=NOW)
    [claim] = await store.get_hold(engine, hold)
    assert claim.expires_at == new_expiry
    assert await store.hold_is_active(engine, hold_id=hold, now=NOW + timedelta(minutes=3))
    assert await store.active_claim_count(engine, now=NOW) == 1


async def test_appointment_recorded_once_and_cancel_frees_its_time(engine):
    start = next_open_day(hour=12)
    specs = specs_for("Herrenhaarschnitt", start)
    hold, _ = await acquire(engine, specs, call_id="call-apt")
    await store.convert_to_booked(engine, hold_id=hold, booking_uids={"A": "bk-1"})
    record = apts.AppointmentRecord(
        id="apt-1",
        call_id="call-apt",
        hold_id=hold,
        service="Herrenhaarschnitt",
        start=specs[0].start,
        end=specs[0].end,
        customer_name="Jürgen Müller",
        segments=[
            apts.StoredSegment(
                key="A",
                start=specs[0].start,
                end=specs[0].end,
                staff=True,
                resource=specs[0].resource,
                calcom_booking_uid="bk-1",
            )
        ],
    )
    assert await apts.record_appointment(engine, appointment=record)
    assert not await apts.record_appointment(engine, appointment=record)  # a retry
    saved = await apts.get_appointment(engine, "apt-1")
    assert saved is not None and saved["customer_name"] == "Jürgen Müller"
    assert [s["calcom_booking_uid"] for s in saved["segments"]] == ["bk-1"]
    assert await apts.cancel_appointment(engine, "apt-1")
    _, again = await acquire(engine, specs)
    assert again.acquired


async def test_outside_bookings_are_upserted_cancelled_and_find_overlapping_holds(engine):
    start = next_open_day(hour=16)
    specs = specs_for("Dauerwelle", start)
    hold, _ = await acquire(engine, specs, call_id="call-out")
    seg_d = specs[-1]
    for _ in range(2):  # Cal.com may deliver the webhook twice
        await outside.record_outside_booking(
            engine,
            calcom_uid="web-1",
            event_type_id=seg_d.calcom_event_type_id,
            resource=seg_d.resource,
            start=seg_d.start,
            end=seg_d.end,
        )
    [row] = await outside.list_outside_bookings(engine, resource=seg_d.resource)
    assert row["status"] == "accepted"
    hits = await store.find_overlapping_holds(
        engine, resource=seg_d.resource, start=seg_d.start, end=seg_d.end, now=NOW
    )
    assert hits == [store.HoldRef(call_id="call-out", hold_id=hold)]
    # In the processing gap (no claim there) the booking hits nobody.
    gap_start = specs[1].end
    assert (
        await store.find_overlapping_holds(
            engine,
            resource=seg_d.resource,
            start=gap_start,
            end=gap_start + timedelta(minutes=30),
            now=NOW,
        )
        == []
    )

    async def busy() -> list:
        found = await store.busy_intervals(
            engine,
            resources=[seg_d.resource],
            start=start,
            end=start + timedelta(hours=3),
            now=NOW,
            exclude_hold_id=hold,
        )
        return found[seg_d.resource]

    assert await busy() == [(seg_d.start, seg_d.end)]  # the outside booking only
    assert await outside.cancel_outside_booking(engine, "web-1")
    assert await busy() == []


async def test_the_constraint_itself_rejects_overlap_written_behind_our_back(engine):
    """Even SQL that bypasses acquire_hold cannot create two active overlapping claims."""
    start = next_open_day(hour=13)
    _, r = await acquire(engine, specs_for("Herrenhaarschnitt", start))
    assert r.acquired
    with pytest.raises(IntegrityError, match="claims_no_overlap"):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO claims (hold_id, call_id, segment_key, resource, start_at,"
                    " end_at, status, expires_at) VALUES ('x', 'y', 'A', 'stylist-1', :s, :e,"
                    " 'booked', NULL)"
                ),
                {"s": start + timedelta(minutes=10), "e": start + timedelta(minutes=40)},
            )


def test_migrations_run_up_and_down_on_an_empty_database(postgres_server):
    url = postgres_server.create_database(migrate=False)
    try:
        assert current_revision(url) is None
        upgrade_to_head(url)
        upgrade_to_head(url)  # idempotent
        assert current_revision(url) == HEAD
        assert _tables(url) >= {
            "claims",
            "appointments",
            "appointment_segments",
            "outside_bookings",
            "calcom_rate_budget",
        }
        downgrade_to_base(url)
        assert current_revision(url) is None
        assert _tables(url) & {"claims", "appointments", "outside_bookings"} == set()
        assert "calcom_rate_budget" not in _tables(url)
        upgrade_to_head(url)
        assert current_revision(url) == HEAD
    finally:
        postgres_server.drop_database(url)


def _tables(url: str) -> set[str]:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}
