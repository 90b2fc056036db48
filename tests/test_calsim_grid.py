"""The simulator's slot grid and booking checks against Cal.com's source (docs/calsim.md,
"The slot grid"). Real HTTP against the session simulator; days come from the catalog's
opening hours, "now" from the simulator's clock, so no test depends on today's date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from calcom import wire
from calcom.wire import utc_iso
from calsim.control import SimControlError
from calsim.event_types import (
    CALCOM_DEFAULTS,
    EventTypeSettings,
    SettingsFileError,
    load_settings,
)
from calsim.server import SimulatorServer
from tests.simulator_catalog import demo_catalog, simulator  # noqa: F401 (fixtures)
from tests.test_calsim import SLOTS, assert_error, book, http, reserve

__all__ = ["http"]  # the fixture, re-used from test_calsim

# Demo catalog event types: stylist-1 hosts 1001 (30 min), 1003 (30), 1004 (15);
# stylist-2 hosts 1002 (45), 2002 (15), 2004 (30).


@pytest.fixture
def day(demo_catalog) -> date:
    """The first day at least two days ahead that opens at 09:00 and stays open past
    14:00 (every test below fits into 09:00-14:00)."""
    candidate = datetime.now(demo_catalog.zone).date() + timedelta(days=2)
    for _ in range(14):
        hours = demo_catalog.opening_hours.for_weekday(candidate.weekday())
        if hours and hours[0] == time(9) and hours[1] >= time(14):
            return candidate
        candidate += timedelta(days=1)
    pytest.fail("the catalog has no day open 09:00-14:00")


def closing(demo_catalog, day: date) -> datetime:
    hours = demo_catalog.opening_hours.for_weekday(day.weekday())
    assert hours is not None
    return datetime.combine(day, hours[1], demo_catalog.zone)


def at(day: date, hhmm: str, zone: str = "Europe/Berlin") -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), ZoneInfo(zone))


async def slots(
    http: httpx.AsyncClient,
    event_type_id: int,
    start: datetime,
    end: datetime,
    zone: str = "Europe/Berlin",
) -> list[str]:
    """Slot starts as local ``HH:MM`` (format=range; each end is checked against the
    event type's length)."""
    length = {1001: 30, 1002: 45, 1003: 30, 1004: 15, 2002: 15, 2004: 30}[event_type_id]
    response = await http.get(
        "/v2/slots",
        params={
            "eventTypeId": event_type_id,
            "start": utc_iso(start),
            "end": utc_iso(end),
            "timeZone": zone,
            "format": "range",
        },
        headers=SLOTS,
    )
    assert response.status_code == 200, response.text
    out = []
    for day_slots in response.json()["data"].values():
        for s in day_slots:
            begin, finish = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
            assert finish - begin == timedelta(minutes=length)
            out.append(begin.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M"))
    return out


def every(step: int, first: str, last: str) -> list[str]:
    """``first``, ``first + step`` ... up to ``last`` as ``HH:MM``."""
    t = datetime.combine(date.min, time.fromisoformat(first))
    end = datetime.combine(date.min, time.fromisoformat(last))
    out = []
    while t <= end:
        out.append(t.strftime("%H:%M"))
        t += timedelta(minutes=step)
    return out


def hhmm(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")


# ------------------------------------------------------------------ the grid of a free day
async def test_a_30_minute_type_at_defaults_offers_the_hour_and_the_half_hour(
    http, day, demo_catalog
):
    closes = closing(demo_catalog, day)
    offered = await slots(http, 1001, at(day, "00:00"), at(day, "23:59"))
    assert offered == every(30, "09:00", hhmm(closes - timedelta(minutes=30)))
    assert {t[3:] for t in offered} == {"00", "30"}


async def test_a_45_minute_type_steps_by_its_length(http, day, demo_catalog):
    offered = await slots(http, 1002, at(day, "00:00"), at(day, "23:59"))
    assert offered[:4] == ["09:00", "09:45", "10:30", "11:15"]
    assert offered == every(45, "09:00", offered[-1])
    last_end = at(day, offered[-1]) + timedelta(minutes=45)
    assert last_end <= closing(demo_catalog, day) < last_end + timedelta(minutes=45)


async def test_slot_interval_15_on_a_30_minute_type(http, sim, day, demo_catalog):
    changed = await sim.set_event_type(1001, slot_interval=15)
    assert changed["slotInterval"] == 15 and changed["lengthInMinutes"] == 30
    closes = closing(demo_catalog, day)
    offered = await slots(http, 1001, at(day, "00:00"), at(day, "23:59"))
    assert offered == every(15, "09:00", hhmm(closes - timedelta(minutes=30)))
    assert {t[3:] for t in offered} == {"00", "15", "30", "45"}
    # Another 30-minute type of the same host keeps its own default.
    assert (await slots(http, 1003, at(day, "09:00"), at(day, "10:00"))) == ["09:00", "09:30"]


async def test_the_query_window_clips_the_grid(http, day):
    # Working hours are clipped to the query (processWorkingHours), so the grid starts at
    # the query's start, rounded up, and a slot must end by the query's end.
    assert await slots(http, 1002, at(day, "10:15"), at(day, "12:00")) == ["10:15", "11:00"]
    assert await slots(http, 1001, at(day, "10:07"), at(day, "11:30")) == ["10:30", "11:00"]
    assert await slots(http, 1001, at(day, "10:50"), at(day, "11:20")) == []


async def test_the_first_slot_is_rounded_in_the_requested_time_zone(http, sim, day):
    # An hourly step rounds to the top of the hour in the booker's zone: Asia/Kolkata is
    # half an hour off Berlin, so its hours start at Berlin's half hours.
    await sim.set_event_type(1001, slot_interval=60)
    window = (at(day, "09:00"), at(day, "12:00"))
    assert await slots(http, 1001, *window) == ["09:00", "10:00", "11:00"]
    assert await slots(http, 1001, *window, zone="Asia/Kolkata") == ["09:30", "10:30", "11:30"]


# ------------------------------------------------------------------ busy times
async def test_after_a_booking_ending_at_10_50_the_grid_restarts_at_the_next_point(http, day):
    off_grid = await book(http, 1001, at(day, "10:20"))  # stylist-1 10:20-10:50
    assert off_grid.status_code == 201, off_grid.text
    morning = (at(day, "09:00"), at(day, "12:00"))

    # 30 minutes: the range before ends at 10:20 (09:30 is the last to fit); the range
    # after starts at 10:50, rounded up to the half hour.
    assert await slots(http, 1001, *morning) == ["09:00", "09:30", "11:00", "11:30"]
    # 15 minutes, same host: the free 10:50 is no slot either (rounded up to 11:00).
    fifteen = await slots(http, 1004, *morning)
    assert fifteen[:6] == ["09:00", "09:15", "09:30", "09:45", "10:00", "11:00"]
    # Another host is untouched.
    assert (await slots(http, 1002, *morning))[:3] == ["09:00", "09:45", "10:30"]


async def test_a_45_minute_grid_restarts_on_the_quarter_hour(http, day):
    assert (await book(http, 2002, at(day, "10:05"))).status_code == 201  # stylist-2 -10:20
    assert await slots(http, 1002, at(day, "09:00"), at(day, "13:00")) == [
        "09:00",
        "10:30",
        "11:15",
        "12:00",
    ]


async def test_minimum_booking_notice_hides_near_slots(http, sim, day):
    # Put the simulator's "now" at 08:07 of the test day: the default notice of 120 minutes
    # makes 10:07 the earliest start, rounded up to the event type's interval.
    now = datetime.fromisoformat((await sim.state())["now"])
    await sim.advance_clock((at(day, "08:07") - now).total_seconds())
    morning = (at(day, "09:00"), at(day, "12:00"))
    assert (await slots(http, 1001, *morning))[0] == "10:30"
    assert (await slots(http, 1004, *morning))[0] == "10:15"
    assert (await slots(http, 1002, *morning))[0] == "10:15"  # 45 minutes: quarter hours

    too_soon = await book(http, 1001, at(day, "10:00"))
    message = assert_error(too_soon, 400, "BadRequestException", "/v2/bookings")
    assert message == wire.BOOKING_OUT_OF_BOUNDS
    assert (await book(http, 1003, at(day, "10:10"))).status_code == 201  # past the notice

    await sim.set_event_type(1004, minimum_booking_notice=0)
    assert (await slots(http, 1004, *morning))[:2] == ["09:00", "09:15"]
    assert (await book(http, 1004, at(day, "09:00"))).status_code == 201


async def test_buffers_widen_busy_times_and_hide_adjacent_slots(http, sim, day):
    await sim.set_event_type(1003, after_event_buffer=10)
    assert (await book(http, 1003, at(day, "12:00"))).status_code == 201  # busy to 12:40
    window = (at(day, "11:00"), at(day, "14:00"))
    # The existing booking's own after-buffer hides 12:30; the grid restarts at 13:00.
    assert await slots(http, 1001, *window) == ["11:00", "11:30", "13:00", "13:30"]

    # The queried type's before-buffer is added before every existing booking (Cal.com
    # sums both event types' buffers on each side of a busy time).
    await sim.set_event_type(1001, before_event_buffer=15)
    assert await slots(http, 1001, *window) == ["11:00", "13:00", "13:30"]
    in_buffer = await book(http, 1001, at(day, "11:30"))
    assert assert_error(in_buffer, 400, "BadRequestException", "/v2/bookings") == (
        wire.HOST_UNAVAILABLE
    )
    assert (await book(http, 1001, at(day, "12:40"))).status_code == 201  # right after it


async def test_a_buffer_reaching_into_the_query_from_outside_is_missed_as_upstream(http, sim, day):
    # Upstream bug #29532: /slots prefetches bookings for the raw query window only, so a
    # booking that ends before the window does not widen into it, while the booking
    # check (which widens its own query by 120 minutes) still refuses the time.
    await sim.set_event_type(1003, after_event_buffer=30)
    assert (await book(http, 1003, at(day, "09:00"))).status_code == 201  # busy to 10:00
    seen = await slots(http, 1004, at(day, "09:00"), at(day, "10:30"))
    assert seen == ["10:00", "10:15"]
    missed = await slots(http, 1004, at(day, "09:45"), at(day, "10:30"))
    assert missed == ["09:45", "10:00", "10:15"]
    refused = await book(http, 1004, at(day, "09:45"))
    assert assert_error(refused, 400, "BadRequestException", "/v2/bookings") == (
        wire.HOST_UNAVAILABLE
    )


# ------------------------------------------------------------------ bookings off the grid
async def test_an_off_grid_booking_on_a_free_host_is_accepted(http, day):
    response = await book(http, 1001, at(day, "10:50"))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["start"] == utc_iso(at(day, "10:50"))
    assert data["end"] == utc_iso(at(day, "11:20"))


async def test_a_booking_overlapping_another_by_five_minutes_is_refused(http, sim, day):
    assert (await book(http, 1001, at(day, "10:50"))).status_code == 201  # 10:50-11:20
    for event_type_id, start in ((1004, "11:15"), (1001, "10:25")):
        refused = await book(http, event_type_id, at(day, start))
        message = assert_error(refused, 400, "BadRequestException", "/v2/bookings")
        assert message == wire.HOST_UNAVAILABLE
    assert (await book(http, 1004, at(day, "11:20"))).status_code == 201  # touching is fine
    assert (await book(http, 1002, at(day, "11:00"))).status_code == 201  # another host


# ------------------------------------------------------------------ reservations
async def test_a_reservation_on_one_event_type_does_not_refuse_another_but_hides_it(http, day):
    assert (await reserve(http, 1001, at(day, "10:00"))).status_code == 201  # 10:00-10:30
    other = await reserve(http, 1004, at(day, "10:15"))  # same host, other event type
    assert other.status_code == 201
    again = await reserve(http, 1001, at(day, "10:15"))  # same event type, overlapping
    assert_error(again, 422, "UnprocessableEntityException", "/v2/slots/reservations")

    morning = (at(day, "09:00"), at(day, "11:30"))
    fifteen = await slots(http, 1004, *morning)
    assert "09:45" in fifteen and "10:30" in fifteen
    assert "10:00" not in fifteen and "10:15" not in fifteen
    assert await slots(http, 1003, *morning) == ["09:00", "09:30", "10:30", "11:00"]


async def test_reservations_drop_slots_but_bookings_restart_the_grid(http, day):
    window = (at(day, "09:00"), at(day, "12:00"))
    held = await reserve(http, 2002, at(day, "09:50"))  # stylist-2 09:50-10:05
    uid = held.json()["data"]["reservationUid"]
    # Reserved time drops the overlapping slot from a grid laid out as if it were free.
    assert await slots(http, 1002, *window) == ["09:00", "10:30", "11:15"]

    await http.delete(f"/v2/slots/reservations/{uid}", headers=SLOTS)
    assert (await book(http, 2002, at(day, "09:50"))).status_code == 201
    # A booking splits the free time: the grid restarts at 10:05, rounded up to 10:15.
    assert await slots(http, 1002, *window) == ["09:00", "10:15", "11:00"]


# ------------------------------------------------------------------ settings
async def test_event_types_start_at_calcoms_defaults_and_reset_restores_them(sim):
    listed = await sim.event_types()
    assert [e["id"] for e in listed] == [1001, 1002, 1003, 1004, 2001, 2002, 2004, 3001, 3004]
    for e in listed:
        assert e["slotInterval"] is None and e["minimumBookingNotice"] == 120
        assert e["beforeEventBuffer"] == 0 and e["afterEventBuffer"] == 0

    await sim.set_event_type(1002, slot_interval=15, before_event_buffer=5)
    await sim.set_all_event_types(minimum_booking_notice=0)
    changed = {e["id"]: e for e in await sim.event_types()}
    assert changed[1002]["slotInterval"] == 15 and changed[1002]["beforeEventBuffer"] == 5
    assert {e["minimumBookingNotice"] for e in changed.values()} == {0}
    back = await sim.set_event_type(1002, slot_interval=0)  # 0, like null: the length
    assert back["slotInterval"] is None

    await sim.reset()
    assert await sim.event_types() == listed


async def test_event_type_settings_are_checked(simulator, sim):
    with pytest.raises(SimControlError) as unknown:
        await sim.set_event_type(424242, slot_interval=15)
    assert unknown.value.status == 404
    async with httpx.AsyncClient(base_url=simulator.url) as client:
        for body in ({"slotInterval": -5}, {"minimumBookingNotice": None}, {"buffer": 5}):
            response = await client.patch("/_sim/event-types/1001", json=body)
            assert response.status_code == 400, (body, response.text)
    assert (await sim.event_types())[0]["slotInterval"] is None


def test_settings_file(tmp_path: Path, demo_catalog):
    ids = demo_catalog.event_types()
    path = tmp_path / "event-types.toml"
    path.write_text(
        "[defaults]\nminimumBookingNotice = 0\n\n[event_types.1001]\nslotInterval = 15\n"
        "afterEventBuffer = 5\n",
        encoding="utf-8",
    )
    settings = load_settings(path, ids)
    assert settings[1001] == EventTypeSettings(15, 0, 0, 5)
    assert settings[1002] == EventTypeSettings(minimum_booking_notice=0)
    assert set(settings) == set(ids)

    json_path = tmp_path / "event-types.json"
    json_path.write_text('{"event_types": {"2001": {"beforeEventBuffer": 10}}}', "utf-8")
    assert load_settings(json_path, ids)[2001] == EventTypeSettings(before_event_buffer=10)
    assert load_settings(json_path, ids)[1001] == CALCOM_DEFAULTS

    for text, phrase in (
        ("[event_types.999]\nslotInterval = 15\n", "no such event type"),
        ("[defaults]\nslotIntervall = 15\n", "slotIntervall"),
        ("[defaults]\nminimumBookingNotice = -1\n", "minimumBookingNotice"),
        ("[elsewhere]\n", "unknown section"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SettingsFileError, match=phrase):
            load_settings(path, ids)


async def test_a_simulator_started_with_settings_keeps_them_across_resets(demo_catalog):
    from calsim.control import SimControl

    settings = {1001: EventTypeSettings(slot_interval=15, minimum_booking_notice=0)}
    with SimulatorServer(demo_catalog, event_type_settings=settings) as server:
        control = SimControl(server.url)
        await control.set_event_type(1001, slot_interval=60)
        await control.reset()
        first = (await control.event_types())[0]
        assert first["id"] == 1001 and first["slotInterval"] == 15
        assert first["minimumBookingNotice"] == 0
        async with httpx.AsyncClient(base_url=server.url) as client:
            day = datetime.now(demo_catalog.zone).date() + timedelta(days=2)
            while demo_catalog.opening_hours.for_weekday(day.weekday()) is None:
                day += timedelta(days=1)
            opens = demo_catalog.opening_hours.for_weekday(day.weekday())[0]
            start = datetime.combine(day, opens, demo_catalog.zone)
            response = await client.get(
                "/v2/slots",
                params={
                    "eventTypeId": 1001,
                    "start": utc_iso(start),
                    "end": utc_iso(start + timedelta(minutes=60)),
                    "timeZone": demo_catalog.timezone,
                },
                headers=SLOTS,
            )
        offered = [s["start"] for d in response.json()["data"].values() for s in d]
        assert len(offered) == 3  # every 15 minutes, each ending within the hour
