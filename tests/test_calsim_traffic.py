"""The Cal.com simulator's rate limit, injected faults and latency, and its signed
webhooks (each with its own simulator where the configuration differs)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from calcom import wire
from calsim.control import SimControl
from calsim.server import SimulatorServer
from tests.harness import assert_eventually, next_open_day
from tests.simulator_catalog import demo_catalog, simulator  # noqa: F401 (fixtures)
from tests.test_calsim import BOOKINGS, SLOTS, assert_error, book, http, reserve

__all__ = ["http"]


# ------------------------------------------------------------------ rate limit
@pytest.fixture(scope="module")
def limited(demo_catalog) -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_catalog, rate_limit_per_minute=3) as server:
        yield server


async def test_rate_limit_per_api_key_with_headers(limited):
    control = SimControl(limited.url)
    await control.reset()
    day = next_open_day(hour=10)
    params: dict[str, str | int] = {
        "eventTypeId": 1001,
        "start": wire.utc_iso(day),
        "end": wire.utc_iso(day),
    }

    async def get(key: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=limited.url) as client:
            return await client.get(
                "/v2/slots", params=params, headers={**SLOTS, "Authorization": f"Bearer {key}"}
            )

    answers = [await get("cal_key_one") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers[wire.RATE_LIMIT_REMAINING] for a in answers[:3]] == ["2", "1", "0"]
    assert all(a.headers[wire.RATE_LIMIT_LIMIT] == "3" for a in answers)
    reset = int(answers[3].headers[wire.RATE_LIMIT_RESET])
    now = datetime.fromisoformat((await control.state())["now"]).timestamp()
    assert 0 < reset - now <= 60
    assert_error(answers[3], 429, "ThrottlerException", "/v2/slots")
    assert (await get("cal_key_two")).status_code == 200  # per key

    await control.advance_clock(61)
    assert (await get("cal_key_one")).status_code == 200
    await control.reset()


# ------------------------------------------------------------------ faults and latency
async def test_fault_500_hits_the_given_number_of_requests(http, sim):
    await sim.add_fault(endpoint="/v2/slots/reservations", kind="500", times=2)
    start = next_open_day(hour=10)
    statuses = [(await reserve(http, 1001, start)).status_code for _ in range(3)]
    assert statuses == [500, 500, 201]
    assert len((await sim.state())["reservations"]) == 1


async def test_fault_429_and_clear_faults(http, sim):
    await sim.add_fault(endpoint="*", kind="429")
    first = await reserve(http, 1001, next_open_day(hour=10))
    assert_error(first, 429, "ThrottlerException", "/v2/slots/reservations")
    assert wire.RATE_LIMIT_RESET in first.headers
    await sim.clear_faults()
    assert (await reserve(http, 1001, next_open_day(hour=10))).status_code == 201


async def test_reject_fault_only_hits_its_event_type(http, sim):
    await sim.add_fault(endpoint="/v2/bookings", kind="reject", event_type_id=2004)
    start = next_open_day(hour=11)
    rejected = await book(http, 2004, start)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["message"] == wire.HOST_UNAVAILABLE
    assert (await book(http, 2001, start - timedelta(hours=1))).status_code == 201
    listed = await http.get("/v2/bookings", params={"eventTypeId": 2004}, headers=BOOKINGS)
    assert listed.status_code == 200  # reject only hits requests that change something


async def test_lost_response_books_but_the_caller_sees_502(http, sim):
    await sim.add_fault(endpoint="POST /v2/bookings", kind="lost_response", times=1)
    start = next_open_day(hour=12)
    lost = await book(http, 1002, start)
    assert lost.status_code == 502
    bookings = (await sim.state())["bookings"]
    assert [b["status"] for b in bookings] == ["accepted"]
    retry = await book(http, 1002, start)  # a blind retry fails: the slot is now booked
    assert retry.status_code == 400


async def test_timeout_fault_and_latency_outlast_a_short_client_timeout(simulator, sim):
    day = next_open_day(hour=10)
    params: dict[str, str | int] = {
        "eventTypeId": 1001,
        "start": wire.utc_iso(day),
        "end": wire.utc_iso(day),
    }
    async with httpx.AsyncClient(base_url=simulator.url, timeout=0.3) as client:
        await sim.set_latency("/v2/slots", 2.0)
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/v2/slots", params=params, headers=SLOTS)
        await sim.set_latency("/v2/slots", 0)
        await sim.add_fault(endpoint="/v2/slots", kind="timeout", times=1)
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/v2/slots", params=params, headers=SLOTS)
        assert (await client.get("/v2/slots", params=params, headers=SLOTS)).status_code == 200


async def test_request_count_counts_cal_com_requests_only(http, sim):
    await reserve(http, 1001, next_open_day(hour=10))
    await http.get("/v2/bookings", headers=BOOKINGS)
    await sim.state()
    assert (await sim.state())["request_count"] == 2


# ------------------------------------------------------------------ webhooks
class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A real HTTP endpoint recording the webhooks it gets."""
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/calcom/webhook", received
    finally:
        server.shutdown()
        server.server_close()


async def _triggers(received: list, count: int) -> list[tuple[dict[str, str], dict]]:
    async def arrived() -> list[tuple[dict[str, str], dict]]:
        assert len(received) >= count
        return [(headers, json.loads(body)) for headers, body in received]

    return await assert_eventually(arrived, timeout=5)


async def test_webhooks_are_signed_with_the_secret(http, sim, receiver):
    url, received = receiver
    await sim.configure_webhook(url, "s3cret")
    start = next_open_day(hour=14)
    created = (await book(http, 1001, start)).json()["data"]
    await http.post(f"/v2/bookings/{created['uid']}/cancel", json={}, headers=BOOKINGS)

    (h1, created_hook), (h2, cancelled_hook) = await _triggers(received, 2)

    for headers, (_, raw) in zip((h1, h2), received, strict=True):
        expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
        assert headers[wire.SIGNATURE_HEADER.lower()] == expected
        assert headers[wire.WEBHOOK_VERSION_HEADER]
    assert created_hook["triggerEvent"] == "BOOKING_CREATED"
    payload = created_hook["payload"]
    assert payload["uid"] == created["uid"] and payload["bookingId"] == created["id"]
    assert payload["eventTypeId"] == 1001 and payload["status"] == "ACCEPTED"
    assert payload["startTime"] == wire.utc_iso(start)
    assert payload["endTime"] == wire.utc_iso(start + timedelta(minutes=30))
    assert payload["metadata"] == created["metadata"]
    assert cancelled_hook["triggerEvent"] == "BOOKING_CANCELLED"
    assert cancelled_hook["payload"]["status"] == "CANCELLED"


async def test_webhooks_without_secret_and_on_reschedule(http, sim, receiver):
    url, received = receiver
    await sim.configure_webhook(url, None)
    start = next_open_day(hour=15)
    old = (await book(http, 1002, start)).json()["data"]
    moved = await http.post(
        f"/v2/bookings/{old['uid']}/reschedule",
        json={"start": wire.utc_iso(start + timedelta(hours=1))},
        headers=BOOKINGS,
    )
    new_uid = moved.json()["data"]["uid"]

    hooks = await _triggers(received, 2)

    assert all(h[wire.SIGNATURE_HEADER.lower()] == "no-secret-provided" for h, _ in hooks)
    rescheduled = hooks[1][1]
    assert rescheduled["triggerEvent"] == "BOOKING_RESCHEDULED"
    assert rescheduled["payload"]["uid"] == new_uid
    assert rescheduled["payload"]["rescheduleUid"] == old["uid"]


async def test_outside_booking_sends_a_webhook(sim, receiver):
    url, received = receiver
    await sim.configure_webhook(url, "s3cret")
    booking = await sim.outside_booking(event_type_id=1003, start=next_open_day(hour=16))
    ((_, hook),) = await _triggers(received, 1)
    assert hook["payload"]["uid"] == booking["uid"] and hook["payload"]["metadata"] == {}
