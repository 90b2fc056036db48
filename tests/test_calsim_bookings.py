"""The Cal.com simulator's /v2/bookings against the contract: body checks, availability,
the first-in-line rule, cancel, reschedule, list filters, outside bookings."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from calcom import wire
from calcom.wire import utc_iso
from calsim.control import SimControlError
from tests.harness import next_open_day
from tests.simulator_catalog import demo_catalog, simulator  # noqa: F401 (fixtures)
from tests.test_calsim import BOOKINGS, assert_error, book, booking_body, http, reserve

__all__ = ["http"]  # the fixture, re-used from test_calsim


async def accepted(sim) -> list[dict]:
    return [b for b in (await sim.state())["bookings"] if b["status"] == "accepted"]


async def test_booking_shape(http):
    start = next_open_day(hour=10, minute=45)
    response = await book(http, 2001, start, lengthInMinutes=45)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert isinstance(data["id"], int) and data["uid"]
    assert data["status"] == "accepted"
    assert data["start"] == utc_iso(start) and data["start"].endswith("Z")
    assert data["end"] == utc_iso(start + timedelta(minutes=45))
    assert data["duration"] == 45
    assert data["eventType"]["id"] == 2001 and data["eventTypeId"] == 2001
    assert data["hosts"][0]["username"] == "stylist-2"
    assert data["attendees"][0]["phoneNumber"] == "+4930123456"
    assert data["attendees"][0]["language"] == "de"
    assert data["metadata"] == {"workflow_id": "call-x", "segment": "A"}


@pytest.mark.parametrize("start", ["{local}", "{naive}", "tomorrow at ten"])
async def test_start_must_be_utc(http, sim, start):
    moment = next_open_day(hour=10)
    text = start.format(
        local=moment.isoformat(), naive=moment.replace(tzinfo=None).isoformat(timespec="seconds")
    )
    body = booking_body(1001, moment)
    body["start"] = text
    response = await http.post("/v2/bookings", json=body, headers=BOOKINGS)
    assert "start" in assert_error(response, 400, "BadRequestException", "/v2/bookings")
    assert await accepted(sim) == []


@pytest.mark.parametrize(
    "attendee",
    [
        {"timeZone": "Europe/Berlin", "phoneNumber": "+4930123456"},  # no name
        {"name": "", "timeZone": "Europe/Berlin", "phoneNumber": "+4930123456"},
        {"name": "Kundin", "phoneNumber": "+4930123456"},  # no time zone
        {"name": "Kundin", "timeZone": "Mars/Olympus", "phoneNumber": "+4930123456"},
        {"name": "Kundin", "timeZone": "Europe/Berlin"},  # neither e-mail nor phone
        {"name": "Kundin", "timeZone": "Europe/Berlin", "phoneNumber": "030 123456"},
        {"name": "Kundin", "timeZone": "Europe/Berlin", "email": "not-an-address"},
    ],
)
async def test_attendee_fields_are_required(http, sim, attendee):
    response = await book(http, 1001, next_open_day(hour=10), attendee=attendee)
    assert_error(response, 400, "BadRequestException", "/v2/bookings")
    assert await accepted(sim) == []


async def test_attendee_with_email_only_is_fine(http):
    attendee = {"name": "Kundin", "timeZone": "Europe/Berlin", "email": "k@example.org"}
    assert (await book(http, 1001, next_open_day(hour=10), attendee=attendee)).status_code == 201


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(51)},
        {"k" * 41: "v"},
        {"k": "v" * 501},
        {"k": 5},
    ],
)
async def test_metadata_over_the_limits_is_refused(http, sim, metadata):
    response = await book(http, 1001, next_open_day(hour=10), metadata=metadata)
    assert_error(response, 400, "BadRequestException", "/v2/bookings")
    assert await accepted(sim) == []


async def test_metadata_at_the_limits_is_kept(http):
    metadata = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}
    response = await book(http, 1001, next_open_day(hour=10), metadata=metadata)
    assert response.status_code == 201 and response.json()["data"]["metadata"] == metadata


async def test_length_must_equal_the_event_types_length(http, sim):
    wrong = await book(http, 2001, next_open_day(hour=10), lengthInMinutes=30)
    assert "lengthInMinutes" in assert_error(wrong, 400, "BadRequestException", "/v2/bookings")
    assert await accepted(sim) == []
    right = await book(http, 2001, next_open_day(hour=10), lengthInMinutes=45)
    assert right.status_code == 201


async def test_past_and_closed_times_are_refused(http, sim, demo_catalog):
    past = datetime.now(next_open_day().tzinfo) - timedelta(days=1)
    assert "past" in assert_error(
        await book(http, 1001, past), 400, "BadRequestException", "/v2/bookings"
    )
    night = next_open_day(hour=22)
    closed = assert_error(await book(http, 1001, night), 400, "BadRequestException", "/v2/bookings")
    assert closed == wire.HOST_UNAVAILABLE
    day = next_open_day()
    closes = demo_catalog.opening_hours.for_weekday(day.weekday())[1]
    ends_after_closing = datetime.combine(day.date(), closes, day.tzinfo) - timedelta(minutes=15)
    assert (await book(http, 1001, ends_after_closing)).status_code == 400  # 30 minutes
    assert await accepted(sim) == []


async def test_unknown_event_type_is_404(http):
    response = await book(http, 424242, next_open_day(hour=10))
    assert_error(response, 404, "NotFoundException", "/v2/bookings")


async def test_second_booking_of_the_same_slot_is_400_already_booked(http, sim):
    start = next_open_day(hour=11)
    assert (await book(http, 1001, start)).status_code == 201
    again = await book(http, 1001, start)
    assert assert_error(again, 400, "BadRequestException", "/v2/bookings") == wire.HOST_UNAVAILABLE
    assert len(await accepted(sim)) == 1


async def test_host_is_busy_across_event_types(http, sim):
    start = next_open_day(hour=12)
    assert (await book(http, 1001, start)).status_code == 201  # stylist-1 12:00-12:30
    overlapping = await book(http, 1004, start + timedelta(minutes=15))  # stylist-1 12:15
    assert overlapping.status_code == 400
    assert overlapping.json()["error"]["message"] == wire.HOST_UNAVAILABLE
    assert (await book(http, 1004, start + timedelta(minutes=30))).status_code == 201
    assert (await book(http, 1002, start)).status_code == 201  # stylist-2 is free
    assert len(await accepted(sim)) == 3


async def test_booking_without_reservation_is_not_blocked_by_reservations(http, sim):
    start = next_open_day(hour=13)
    held = (await reserve(http, 1001, start)).json()["data"]
    response = await book(http, 1001, start)
    assert response.status_code == 201
    # The holder's reservation still exists, but booking with it now fails: host busy.
    assert [r["reservationUid"] for r in (await sim.state())["reservations"]] == [
        held["reservationUid"]
    ]
    late = await book(http, 1001, start, reservedSlotUid=held["reservationUid"])
    assert late.status_code == 400


async def test_first_in_line_reservation_wins_and_is_consumed(http, sim):
    start = next_open_day(hour=14)
    first = (await reserve(http, 1001, start)).json()["data"]["reservationUid"]

    blocked = await book(http, 1001, start, reservedSlotUid="someone-elses-uid")
    assert blocked.status_code == 409
    assert blocked.json()["error"]["message"] == wire.RESERVED_BY_SOMEONE_ELSE

    won = await book(http, 1001, start, reservedSlotUid=first)
    assert won.status_code == 201
    remaining = [r["reservationUid"] for r in (await sim.state())["reservations"]]
    assert first not in remaining
    read = await http.get(
        f"/v2/slots/reservations/{first}", headers={"cal-api-version": "2024-09-04"}
    )
    assert read.json()["data"] is None


async def test_first_in_line_between_two_reservations_of_the_same_slot(http, sim):
    start = next_open_day(hour=15)
    first = (await reserve(http, 1003, start, reservationDuration=1)).json()["data"]
    await sim.advance_clock(61)  # the first holder's reservation lapses...
    second = (await reserve(http, 1003, start)).json()["data"]  # ...so a second is made
    assert second["reservationUid"] != first["reservationUid"]

    # A stale uid is not first in line for this slot: the second holder is.
    stale = await book(http, 1003, start, reservedSlotUid=first["reservationUid"])
    assert stale.status_code == 409
    won = await book(http, 1003, start, reservedSlotUid=second["reservationUid"])
    assert won.status_code == 201


async def test_cancel_and_cancel_again(http, sim):
    uid = (await book(http, 1002, next_open_day(hour=10))).json()["data"]["uid"]
    cancelled = await http.post(
        f"/v2/bookings/{uid}/cancel", json={"cancellationReason": "Kunde"}, headers=BOOKINGS
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "cancelled"
    again = await http.post(
        f"/v2/bookings/{uid}/cancel", json={"cancellationReason": "Kunde"}, headers=BOOKINGS
    )
    assert_error(again, 400, "BadRequestException", f"/v2/bookings/{uid}/cancel")
    read = await http.get(f"/v2/bookings/{uid}", headers=BOOKINGS)
    assert read.json()["data"]["status"] == "cancelled"
    unknown = await http.post("/v2/bookings/nope/cancel", json={}, headers=BOOKINGS)
    assert_error(unknown, 404, "NotFoundException", "/v2/bookings/nope/cancel")


async def test_cancelled_booking_frees_the_slot(http):
    start = next_open_day(hour=16)
    uid = (await book(http, 1001, start)).json()["data"]["uid"]
    await http.post(f"/v2/bookings/{uid}/cancel", json={}, headers=BOOKINGS)
    assert (await book(http, 1001, start)).status_code == 201


async def test_reschedule_moves_the_booking(http, sim):
    start = next_open_day(hour=10)
    old = (await book(http, 1001, start)).json()["data"]
    moved = await http.post(
        f"/v2/bookings/{old['uid']}/reschedule",
        json={"start": utc_iso(start + timedelta(hours=1))},
        headers=BOOKINGS,
    )
    assert moved.status_code == 201
    new = moved.json()["data"]
    assert new["uid"] != old["uid"] and new["rescheduledFromUid"] == old["uid"]
    assert new["metadata"] == old["metadata"]
    assert [b["uid"] for b in await accepted(sim)] == [new["uid"]]


async def test_list_filters_and_paging(http):
    day = next_open_day(hour=9)
    uids = []
    for minutes in (0, 30, 60, 90):
        uids.append(
            (await book(http, 1001, day + timedelta(minutes=minutes))).json()["data"]["uid"]
        )
    other = (await book(http, 1002, day)).json()["data"]["uid"]
    await http.post(f"/v2/bookings/{uids[3]}/cancel", json={}, headers=BOOKINGS)

    async def listed(**params) -> list[str]:
        response = await http.get("/v2/bookings", params=params, headers=BOOKINGS)
        assert response.status_code == 200, response.text
        return [b["uid"] for b in response.json()["data"]]

    assert await listed(eventTypeId=1001) == uids
    assert await listed(eventTypeIds="1001,1002") == [uids[0], other, *uids[1:]]
    window = {
        "afterStart": utc_iso(day + timedelta(minutes=30)),
        "beforeEnd": utc_iso(day + timedelta(minutes=90)),
    }
    assert await listed(eventTypeId=1001, **window) == [uids[1], uids[2]]
    assert await listed(status="cancelled") == [uids[3]]
    assert await listed(eventTypeId=1001, status="upcoming") == uids[:3]
    assert await listed(bookingUid=other) == [other]
    page = await http.get(
        "/v2/bookings", params={"eventTypeId": 1001, "take": 3, "skip": 0}, headers=BOOKINGS
    )
    assert page.json()["pagination"]["hasNextPage"] is True
    assert page.json()["pagination"]["totalItems"] == 4
    assert await listed(eventTypeId=1001, take=3, skip=3) == [uids[3]]
    too_many = await http.get("/v2/bookings", params={"take": 251}, headers=BOOKINGS)
    assert_error(too_many, 400, "BadRequestException", "/v2/bookings")


async def test_outside_booking_through_the_booking_page_respects_reservations(http, sim):
    start = next_open_day(hour=11)
    await reserve(http, 1001, start)  # stylist-1 held 11:00-11:30
    with pytest.raises(SimControlError) as reserved:
        await sim.outside_booking(event_type_id=1004, start=start + timedelta(minutes=15))
    assert reserved.value.status == 409

    blind = await sim.outside_booking(
        event_type_id=1004, start=start + timedelta(minutes=15), respect_reservations=False
    )
    assert blind["status"] == "accepted" and blind["eventTypeId"] == 1004

    with pytest.raises(SimControlError) as booked:
        await sim.outside_booking(
            event_type_id=1001, start=start + timedelta(minutes=15), respect_reservations=False
        )
    assert booked.value.status == 400
    assert [b["uid"] for b in await accepted(sim)] == [blind["uid"]]


async def test_reset_forgets_everything(http, sim):
    await book(http, 1001, next_open_day(hour=10))
    await reserve(http, 1002, next_open_day(hour=10))
    await sim.reset()
    state = await sim.state()
    assert state["bookings"] == [] and state["reservations"] == [] and state["request_count"] == 0
