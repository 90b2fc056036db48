"""The Cal.com simulator against the contract (shared/contracts/calcom-v2.md): common
rules, /v2/slots and /v2/slots/reservations. Real HTTP against the session simulator."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from calcom.wire import utc_iso
from tests.harness import next_open_day
from tests.simulator_catalog import demo_catalog, simulator  # noqa: F401 (fixtures)

SLOTS = {"cal-api-version": "2024-09-04"}
BOOKINGS = {"cal-api-version": "2024-08-13"}
ZONE = "Europe/Berlin"


@pytest.fixture
async def http(simulator: Any, sim: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client with a valid API key, on a freshly reset simulator."""
    async with httpx.AsyncClient(
        base_url=simulator.url, headers={"Authorization": f"Bearer {simulator.api_key}"}
    ) as client:
        yield client


def booking_body(event_type_id: int, start: datetime, **overrides: Any) -> dict[str, Any]:
    """A valid POST /v2/bookings body; ``overrides`` replace top-level fields."""
    body: dict[str, Any] = {
        "start": utc_iso(start),
        "eventTypeId": event_type_id,
        "attendee": {
            "name": "Kundin Test",
            "timeZone": ZONE,
            "phoneNumber": "+4930123456",
            "language": "de",
        },
        "metadata": {"workflow_id": "call-x", "segment": "A"},
    }
    body.update(overrides)
    return body


async def book(
    http: httpx.AsyncClient, event_type_id: int, start: datetime, **overrides: Any
) -> httpx.Response:
    return await http.post(
        "/v2/bookings", json=booking_body(event_type_id, start, **overrides), headers=BOOKINGS
    )


async def reserve(
    http: httpx.AsyncClient, event_type_id: int, start: datetime, **fields: Any
) -> httpx.Response:
    body = {"eventTypeId": event_type_id, "slotStart": utc_iso(start), **fields}
    return await http.post("/v2/slots/reservations", json=body, headers=SLOTS)


async def slot_starts(
    http: httpx.AsyncClient, event_type_id: int, start: datetime, end: datetime
) -> list[datetime]:
    response = await http.get(
        "/v2/slots",
        params={
            "eventTypeId": event_type_id,
            "start": utc_iso(start),
            "end": utc_iso(end),
            "timeZone": ZONE,
            "format": "range",
        },
        headers=SLOTS,
    )
    assert response.status_code == 200, response.text
    days = response.json()["data"]
    return [datetime.fromisoformat(s["start"]) for day in days.values() for s in day]


def assert_error(response: httpx.Response, status: int, code: str, path: str) -> str:
    """Cal.com's error envelope; returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["path"] == path
    assert datetime.fromisoformat(body["timestamp"])
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message
    return message


# ------------------------------------------------------------------ common rules
@pytest.mark.parametrize("version", [None, "2024-08-13", "2099-01-01"])
async def test_slots_refuse_a_missing_or_wrong_api_version(http, version):
    headers = {"cal-api-version": version} if version else {}
    day = next_open_day()
    response = await http.get(
        "/v2/slots",
        params={"eventTypeId": 1001, "start": utc_iso(day), "end": utc_iso(day)},
        headers=headers,
    )
    assert "cal-api-version" in assert_error(response, 400, "BadRequestException", "/v2/slots")


@pytest.mark.parametrize("version", [None, "2024-09-04"])
async def test_bookings_refuse_a_missing_or_wrong_api_version(http, sim, version):
    headers = {"cal-api-version": version} if version else {}
    response = await http.post(
        "/v2/bookings", json=booking_body(1001, next_open_day(hour=10)), headers=headers
    )
    assert_error(response, 400, "BadRequestException", "/v2/bookings")
    assert (await sim.state())["bookings"] == []


async def test_success_and_error_envelopes(http):
    start = next_open_day(hour=10)
    ok = await reserve(http, 1001, start)
    assert ok.status_code == 201
    assert ok.json()["status"] == "success" and ok.json()["data"]["eventTypeId"] == 1001
    missing = await http.get("/v2/bookings/nope", headers=BOOKINGS)
    assert_error(missing, 404, "NotFoundException", "/v2/bookings/nope")
    unknown_route = await http.get("/v2/not-an-endpoint", headers=BOOKINGS)
    assert_error(unknown_route, 404, "NotFoundException", "/v2/not-an-endpoint")


async def test_bookings_need_a_valid_api_key_and_slots_do_not(simulator, sim):
    day = next_open_day(hour=10)
    async with httpx.AsyncClient(base_url=simulator.url) as anonymous:
        slots = await anonymous.get(
            "/v2/slots",
            params={"eventTypeId": 1001, "start": utc_iso(day), "end": utc_iso(day)},
            headers=SLOTS,
        )
        assert slots.status_code == 200
        body = booking_body(1001, day)
        no_key = await anonymous.post("/v2/bookings", json=body, headers=BOOKINGS)
        assert_error(no_key, 401, "UnauthorizedException", "/v2/bookings")
        listed = await anonymous.get("/v2/bookings", headers=BOOKINGS)
        assert_error(listed, 401, "UnauthorizedException", "/v2/bookings")
        bad_key = await anonymous.post(
            "/v2/bookings",
            json=body,
            headers={**BOOKINGS, "Authorization": "Bearer not_a_cal_key"},
        )
        assert_error(bad_key, 401, "UnauthorizedException", "/v2/bookings")
    assert (await sim.state())["bookings"] == []


# ------------------------------------------------------------------ slots
async def test_slots_fill_the_opening_hours_on_the_event_types_grid(http, demo_catalog):
    # A 30-minute event type at Cal.com's defaults steps by its length from opening time
    # (the grid itself is tested in test_calsim_grid.py).
    day = next_open_day(hour=0)
    opens, closes = demo_catalog.opening_hours.for_weekday(day.weekday())
    starts = await slot_starts(http, 1001, day, day + timedelta(days=1))
    local = [s.astimezone(day.tzinfo) for s in starts]
    assert local[0] == datetime.combine(day.date(), opens, day.tzinfo)
    # The last 30-minute slot ends at closing time.
    assert local[-1] == datetime.combine(day.date(), closes, day.tzinfo) - timedelta(minutes=30)
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(local))


async def test_slots_come_in_the_requested_zone_grouped_by_local_day(http):
    day = next_open_day(hour=9)
    response = await http.get(
        "/v2/slots",
        params={
            "eventTypeId": 1004,
            "start": utc_iso(day),
            "end": utc_iso(day + timedelta(minutes=30)),
            "timeZone": ZONE,
        },
        headers=SLOTS,
    )
    data = response.json()["data"]
    assert list(data) == [day.date().isoformat()]
    first = data[day.date().isoformat()][0]
    assert set(first) == {"start"}  # format=time is the default
    assert first["start"] == day.isoformat(timespec="milliseconds")


async def test_no_slots_on_a_closed_day_and_none_in_the_past(http):
    day = next_open_day(hour=0)
    sunday = day + timedelta(days=(6 - day.weekday()))
    assert await slot_starts(http, 1001, sunday, sunday + timedelta(days=1)) == []
    yesterday = datetime.now(day.tzinfo) - timedelta(days=1)
    assert await slot_starts(http, 1001, yesterday - timedelta(days=2), yesterday) == []


async def test_slots_refuse_a_reversed_range(http):
    day = next_open_day()
    response = await http.get(
        "/v2/slots",
        params={"eventTypeId": 1001, "start": utc_iso(day), "end": utc_iso(day - timedelta(1))},
        headers=SLOTS,
    )
    assert "Invalid time range" in assert_error(response, 400, "BadRequestException", "/v2/slots")


async def test_every_reservation_hides_the_hosts_time_on_all_its_event_types(http):
    start = next_open_day(hour=10)
    assert (await reserve(http, 1001, start)).status_code == 201  # stylist-1, 10:00-10:30

    window = (start - timedelta(hours=1), start + timedelta(hours=1))
    same_type = await slot_starts(http, 1001, *window)
    other_type_same_host = await slot_starts(http, 1004, *window)  # 15 min, stylist-1
    other_host = await slot_starts(http, 2004, *window)  # 30 min, stylist-2

    assert start not in same_type
    assert start - timedelta(minutes=30) in same_type  # 9:30-10:00 touches, no overlap
    assert start not in other_type_same_host
    assert start + timedelta(minutes=15) not in other_type_same_host
    assert start + timedelta(minutes=30) in other_type_same_host
    assert start in other_host


# ------------------------------------------------------------------ reservations
async def test_reservation_shape_and_read_back(http):
    start = next_open_day(hour=11)
    created = (await reserve(http, 2001, start, slotDuration=45, reservationDuration=3)).json()
    data = created["data"]
    assert data["slotStart"] == utc_iso(start)
    assert data["slotEnd"] == utc_iso(start + timedelta(minutes=45))
    assert data["slotDuration"] == 45 and data["reservationDuration"] == 3
    until = datetime.fromisoformat(data["reservationUntil"])
    assert timedelta(minutes=2) < until - datetime.now(until.tzinfo) <= timedelta(minutes=3)

    read = await http.get(f"/v2/slots/reservations/{data['reservationUid']}", headers=SLOTS)
    assert read.json() == {"status": "success", "data": data}


async def test_unknown_reservation_reads_as_data_null(http):
    response = await http.get("/v2/slots/reservations/unknown-uid", headers=SLOTS)
    assert response.status_code == 200
    assert response.json() == {"status": "success", "data": None}


async def test_reserving_a_reserved_or_booked_slot_answers_422_on_that_event_type(http):
    start = next_open_day(hour=10)
    assert (await reserve(http, 1001, start)).status_code == 201
    again = await reserve(http, 1001, start)
    assert_error(again, 422, "UnprocessableEntityException", "/v2/slots/reservations")

    later = start + timedelta(hours=2)
    assert (await book(http, 1003, later)).status_code == 201
    booked = await reserve(http, 1003, later)
    assert_error(booked, 422, "UnprocessableEntityException", "/v2/slots/reservations")

    # Checked for the same event type only: the host's other event types are not consulted.
    assert (await reserve(http, 1004, start)).status_code == 201


async def test_custom_reservation_duration_needs_an_api_key(simulator, sim):
    start = next_open_day(hour=12)
    async with httpx.AsyncClient(base_url=simulator.url) as anonymous:
        default = await reserve(anonymous, 1001, start)
        custom = await reserve(anonymous, 1002, start, reservationDuration=2)
    assert default.status_code == 201 and default.json()["data"]["reservationDuration"] == 5
    assert_error(custom, 401, "UnauthorizedException", "/v2/slots/reservations")


async def test_reservation_expires_and_frees_the_slot(http, sim):
    start = next_open_day(hour=13)
    uid = (await reserve(http, 1001, start, reservationDuration=1)).json()["data"]["reservationUid"]
    slot = (start, start + timedelta(minutes=30))  # a slot must end inside the query
    assert start not in await slot_starts(http, 1001, *slot)

    await sim.advance_clock(61)

    gone = await http.get(f"/v2/slots/reservations/{uid}", headers=SLOTS)
    assert gone.json()["data"] is None
    assert start in await slot_starts(http, 1001, *slot)
    extend = await http.patch(
        f"/v2/slots/reservations/{uid}",
        json={"eventTypeId": 1001, "slotStart": utc_iso(start), "reservationDuration": 2},
        headers=SLOTS,
    )
    assert_error(extend, 404, "NotFoundException", f"/v2/slots/reservations/{uid}")
    assert (await sim.state())["reservations"] == []


async def test_extending_a_reservation_moves_its_expiry(http, sim):
    start = next_open_day(hour=14)
    first = (await reserve(http, 1002, start, reservationDuration=2)).json()["data"]
    await sim.advance_clock(90)
    extended = await http.patch(
        f"/v2/slots/reservations/{first['reservationUid']}",
        json={"eventTypeId": 1002, "slotStart": utc_iso(start), "reservationDuration": 2},
        headers=SLOTS,
    )
    assert extended.status_code == 200
    data = extended.json()["data"]
    assert data["reservationUid"] == first["reservationUid"]
    assert data["reservationUntil"] > first["reservationUntil"]
    await sim.advance_clock(60)  # past the first expiry, inside the extended one
    read = await http.get(f"/v2/slots/reservations/{first['reservationUid']}", headers=SLOTS)
    assert read.json()["data"]["reservationUid"] == first["reservationUid"]


async def test_deleting_a_reservation(http, sim):
    start = next_open_day(hour=15)
    uid = (await reserve(http, 1001, start)).json()["data"]["reservationUid"]
    deleted = await http.delete(f"/v2/slots/reservations/{uid}", headers=SLOTS)
    assert deleted.status_code == 200 and deleted.json() == {"status": "success"}
    assert (await sim.state())["reservations"] == []
    again = await http.delete(f"/v2/slots/reservations/{uid}", headers=SLOTS)
    assert_error(again, 404, "NotFoundException", f"/v2/slots/reservations/{uid}")


@pytest.mark.parametrize(
    "fields",
    [
        {"slotStart": "2030-01-07T10:00:00+01:00"},
        {"slotStart": "2030-01-07T10:00:00"},
        {"slotDuration": 45},
        {"eventTypeId": "1001"},
        {"unexpected": True},
    ],
)
async def test_reservation_body_is_checked(http, sim, fields):
    body = {"eventTypeId": 1001, "slotStart": utc_iso(next_open_day(hour=10)), **fields}
    response = await http.post("/v2/slots/reservations", json=body, headers=SLOTS)
    assert_error(response, 400, "BadRequestException", "/v2/slots/reservations")
    assert (await sim.state())["reservations"] == []


async def test_unknown_event_type_is_404(http):
    response = await reserve(http, 999999, next_open_day(hour=10))
    assert_error(response, 404, "NotFoundException", "/v2/slots/reservations")
