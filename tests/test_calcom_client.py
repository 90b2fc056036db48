"""The Cal.com client against the simulator over real HTTP: every operation and every
error class, as the activities use them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from prometheus_client import REGISTRY

from calcom.client import CalcomClient
from calcom.errors import (
    CalcomError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    SlotUnavailableError,
    TransientError,
)
from calcom.models import Attendee, BookingRequest
from tests.harness import free_port, next_open_day
from tests.simulator_catalog import demo_catalog, simulator  # noqa: F401 (fixtures)

ZONE = "Europe/Berlin"
PHONE = "+4917612345678"


@pytest.fixture
async def calcom(simulator: Any, sim: Any) -> AsyncIterator[CalcomClient]:
    async with CalcomClient(simulator.url, simulator.api_key) as client:
        yield client


def request(event_type_id: int, start: datetime, minutes: int, **fields: Any) -> BookingRequest:
    return BookingRequest(
        event_type_id=event_type_id,
        start=start,
        length_in_minutes=minutes,
        attendee=Attendee(name="Jürgen Müller", time_zone=ZONE, phone_number=PHONE),
        metadata=fields.pop("metadata", {"workflow_id": "call-1", "segment": "A"}),
        **fields,
    )


# ------------------------------------------------------------------ operations
async def test_slots_are_typed_ranges_in_the_salon_zone(calcom):
    start = next_open_day(hour=9)  # opening time: the 45-minute grid starts here
    slots = await calcom.get_slots(2001, start, start + timedelta(hours=3), ZONE)
    assert [s.start for s in slots] == [start + timedelta(minutes=m) for m in (0, 45, 90, 135)]
    assert all(s.end - s.start == timedelta(minutes=45) for s in slots)
    assert slots[0].start.utcoffset() == start.utcoffset()


async def test_reserve_read_extend_release(calcom, sim):
    start = next_open_day(hour=11)
    held = await calcom.reserve_slot(1001, start, 30, reservation_minutes=2)
    assert held.slot_start == start and held.slot_end == start + timedelta(minutes=30)
    assert held.event_type_id == 1001 and held.slot_duration == 30
    assert await calcom.get_reservation(held.uid) == held
    assert start not in [s.start for s in await calcom.get_slots(1001, start, start, ZONE)]

    await sim.advance_clock(60)
    extended = await calcom.extend_reservation(held.uid, 1001, start, 30, reservation_minutes=3)
    assert extended.uid == held.uid and extended.reservation_until > held.reservation_until

    await calcom.release_reservation(held.uid)
    await calcom.release_reservation(held.uid)  # already gone: still fine
    assert await calcom.get_reservation(held.uid) is None
    assert (await sim.state())["reservations"] == []


async def test_extending_a_reservation_whose_time_was_booked_meanwhile_is_slot_unavailable(
    calcom, sim
):
    start = next_open_day(hour=13)
    held = await calcom.reserve_slot(1001, start, 30)
    await sim.outside_booking(1001, start, respect_reservations=False, name="Staff")
    with pytest.raises(SlotUnavailableError) as caught:
        await calcom.extend_reservation(held.uid, 1001, start, 30)
    assert caught.value.status == 422 and not caught.value.retryable


async def test_extending_a_vanished_reservation_is_not_found(calcom):
    with pytest.raises(NotFoundError) as caught:
        await calcom.extend_reservation("gone", 1001, next_open_day(hour=9), 30)
    assert caught.value.status == 404 and not caught.value.retryable
    assert caught.value.error_type == "NotFound"


async def test_book_with_reservation_sends_utc_and_metadata(calcom, sim):
    start = next_open_day(hour=10, minute=45)
    held = await calcom.reserve_slot(2001, start, 45)
    booking = await calcom.create_booking(
        request(2001, start, 45, reserved_slot_uid=held.uid, metadata={"call_id": "c-9"})
    )
    assert booking.status == "accepted" and booking.event_type_id == 2001
    assert booking.start == start and booking.end == start + timedelta(minutes=45)
    assert booking.metadata == {"call_id": "c-9"}
    state = await sim.state()
    assert state["reservations"] == []  # consumed
    [stored] = state["bookings"]
    assert stored["attendees"][0]["phoneNumber"] == PHONE
    assert stored["attendees"][0]["language"] == "de"
    assert await calcom.get_booking(booking.uid) == booking


async def test_cancel_is_idempotent(calcom):
    booking = await calcom.create_booking(request(1002, next_open_day(hour=12), 45))
    first = await calcom.cancel_booking(booking.uid, "Kunde hat abgesagt")
    second = await calcom.cancel_booking(booking.uid, "Kunde hat abgesagt")
    assert first.status == second.status == "cancelled" and second.uid == booking.uid
    with pytest.raises(NotFoundError):
        await calcom.cancel_booking("never-existed", "x")


async def test_find_booking_by_metadata_pages_and_prefers_live_bookings(calcom, sim):
    day = next_open_day(hour=9)
    for i in range(5):
        await calcom.create_booking(
            request(1004, day + timedelta(minutes=15 * i), 15, metadata={"workflow_id": f"w{i}"})
        )
    calcom.page_size = 2
    window = (day, day + timedelta(hours=2))
    found = await calcom.find_booking_by_metadata(1004, *window, {"workflow_id": "w4"})
    assert found is not None and found.start == day + timedelta(minutes=60)
    assert await calcom.find_booking_by_metadata(1004, *window, {"workflow_id": "w9"}) is None
    assert await calcom.find_booking_by_metadata(1001, *window, {"workflow_id": "w4"}) is None

    await calcom.cancel_booking(found.uid, "retry")
    only_cancelled = await calcom.find_booking_by_metadata(1004, *window, {"workflow_id": "w4"})
    assert only_cancelled is not None and only_cancelled.status == "cancelled"
    again = await calcom.create_booking(
        request(1004, day + timedelta(minutes=60), 15, metadata={"workflow_id": "w4"})
    )
    live = await calcom.find_booking_by_metadata(1004, *window, {"workflow_id": "w4"})
    assert live is not None and live.uid == again.uid


# ------------------------------------------------------------------ typed errors
async def test_slot_unavailable_on_reserve_422(calcom):
    start = next_open_day(hour=13)
    await calcom.reserve_slot(1001, start, 30)
    with pytest.raises(SlotUnavailableError) as caught:
        await calcom.reserve_slot(1001, start, 30)
    assert caught.value.status == 422 and not caught.value.retryable
    assert caught.value.error_type == "SlotUnavailable" and caught.value.message


async def test_slot_unavailable_on_book_400_and_409(calcom):
    start = next_open_day(hour=14)
    held = await calcom.reserve_slot(1001, start, 30)
    with pytest.raises(SlotUnavailableError) as first_in_line:
        await calcom.create_booking(request(1001, start, 30, reserved_slot_uid="not-first"))
    assert first_in_line.value.status == 409
    await calcom.create_booking(request(1001, start, 30, reserved_slot_uid=held.uid))
    with pytest.raises(SlotUnavailableError) as booked:
        await calcom.create_booking(request(1004, start, 15))  # same stylist
    assert booked.value.status == 400
    assert "already has booking" in booked.value.message


async def test_rate_limited_carries_the_reset_time(calcom, sim):
    await sim.add_fault(endpoint="/v2/slots", kind="429", times=1)
    with pytest.raises(RateLimitedError) as caught:
        await calcom.get_slots(1001, next_open_day(), next_open_day(), ZONE)
    assert caught.value.retryable and caught.value.status == 429
    assert caught.value.error_type == "RateLimited"
    assert caught.value.retry_after_seconds is not None
    assert 0 <= caught.value.retry_after_seconds <= 2


async def test_transient_on_5xx_and_lost_response(calcom, sim):
    await sim.add_fault(endpoint="/v2/bookings/{uid}", kind="500", times=1)
    with pytest.raises(TransientError) as server_error:
        await calcom.get_booking("whatever")
    assert server_error.value.status == 500 and server_error.value.retryable
    assert server_error.value.error_type == "Transient"

    start = next_open_day(hour=15)
    await sim.add_fault(endpoint="/v2/bookings", kind="lost_response", times=1)
    with pytest.raises(TransientError) as lost:
        await calcom.create_booking(request(1003, start, 30, metadata={"workflow_id": "lost"}))
    assert lost.value.status == 502
    # The booking exists although the answer was lost: found by our metadata.
    found = await calcom.find_booking_by_metadata(
        1003, start - timedelta(minutes=1), start + timedelta(minutes=31), {"workflow_id": "lost"}
    )
    assert found is not None and found.status == "accepted"


async def test_transient_on_timeout_and_connection_error(simulator, sim):
    timeout = httpx2.Timeout(0.3, connect=0.3)
    async with CalcomClient(simulator.url, simulator.api_key, timeout=timeout) as slow:
        await sim.add_fault(endpoint="/v2/slots/reservations/{uid}", kind="timeout", times=1)
        with pytest.raises(TransientError) as timed_out:
            await slow.get_reservation("any")
        assert timed_out.value.status is None and timed_out.value.retryable
    async with CalcomClient(f"http://127.0.0.1:{free_port()}", "cal_x") as nowhere:
        with pytest.raises(TransientError) as refused:
            await nowhere.get_booking("any")
        assert refused.value.status is None


async def test_invalid_requests_are_not_retryable(calcom, simulator):
    past = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(InvalidRequestError) as in_past:
        await calcom.create_booking(request(1001, past, 30))
    assert in_past.value.status == 400 and not in_past.value.retryable
    assert not isinstance(in_past.value, SlotUnavailableError)
    assert in_past.value.error_type == "InvalidRequest"
    with pytest.raises(InvalidRequestError) as wrong_length:
        await calcom.create_booking(request(1001, next_open_day(hour=10), 45))
    assert "lengthInMinutes" in wrong_length.value.message
    async with CalcomClient(simulator.url, "wrong_key") as unauthorized:
        with pytest.raises(InvalidRequestError) as denied:
            await unauthorized.get_booking("x")
        assert denied.value.status == 401


async def test_unknown_event_type_and_booking_are_not_found(calcom):
    with pytest.raises(NotFoundError):
        await calcom.get_slots(31337, next_open_day(), next_open_day(), ZONE)
    with pytest.raises(NotFoundError) as caught:
        await calcom.get_booking("no-such-booking")
    assert isinstance(caught.value, InvalidRequestError) and isinstance(caught.value, CalcomError)


# ------------------------------------------------------------------ accounting
def _observations(endpoint: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "calcom_request_seconds_count", {"endpoint": endpoint, "status": status}
    )
    return value or 0.0


async def test_request_count_and_latency_metric(calcom, sim):
    before = _observations("/v2/slots/reservations/{uid}", "200")
    held = await calcom.reserve_slot(1002, next_open_day(hour=16), 45)
    await calcom.get_reservation(held.uid)
    await calcom.get_reservation(held.uid)
    assert calcom.request_count == 3 == (await sim.state())["request_count"]
    assert _observations("/v2/slots/reservations/{uid}", "200") == before + 2


async def test_neither_api_key_nor_phone_number_is_logged(simulator, sim, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    key = "cal_secret_key_for_log_test"
    async with CalcomClient(simulator.url, key) as client:
        start = next_open_day(hour=17)
        booking = await client.create_booking(request(1001, start, 30))
        with pytest.raises(SlotUnavailableError):
            await client.create_booking(request(1001, start, 30))
        await client.cancel_booking(booking.uid, "test")
    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert "cal.com request" in logged  # the client does log its requests
    assert key not in logged and PHONE not in logged


async def test_at_info_the_cal_com_client_logs_no_request_url(simulator, capsys):
    """httpx2, like httpx, logs every request's full URL at INFO: the worker's logging
    keeps both libraries at WARNING, and our own per-request line is a debug line."""
    import structlog

    from observability.logging import configure_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "httpx2", "httpcore2")}
    try:
        configure_logging(level="INFO", json=True)
        async with CalcomClient(simulator.url, simulator.api_key) as client:
            day = next_open_day(hour=9)
            await client.get_slots(1001, day, day + timedelta(hours=8), "Europe/Berlin")
            logging.getLogger("calcom.client").info("marker line")
        logged = capsys.readouterr().err
        assert "marker line" in logged  # the handler writes where we read
        assert "eventTypeId" not in logged and "/v2/slots" not in logged
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)
        structlog.reset_defaults()
