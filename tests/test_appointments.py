"""Callers who already have an appointment, on real parts over HTTP: signed Retell
requests through FastAPI to a real Temporal server, a real worker, PostgreSQL and the
Cal.com simulator. Recognised by the inbound webhook, they find, move and cancel their
appointment; a stranger finds nothing; Cal.com's own changes are reflected."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import jsonschema

from calcom.wire import utc_iso
from retell_kit.tools import tool_definitions
from store import appointments as appointments_store
from store import holds as store
from tests.harness import assert_eventually, next_open_day, unique
from tests.test_api import CALCOM_SECRET, ISO, api, german_date, settings_for, signed

TOOL_SCHEMAS = {
    t["name"]: jsonschema.Draft202012Validator(t["parameters"])
    for t in tool_definitions("http://api")
}
CALLER = "+4915112345678"
CALLER_NATIONAL = "0151 12345678"  # the same number, as a national number
STRANGER = "+4917099999999"
PERM_KEYS = ["A", "B", "D"]


def call_from(call_id: str, number: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "agent_id": "agent_test",
        "call_status": "ongoing",
        "from_number": number,
        "to_number": "+4930123456",
        "direction": "inbound",
    }


class Caller:
    """One phone call of one number, speaking to the API as Retell does."""

    def __init__(self, http: httpx.AsyncClient, number: str) -> None:
        self.http = http
        self.number = number
        self.call_id = unique("apt-call")

    async def fn(self, name: str, **args: Any) -> dict[str, Any]:
        """A tool call, with arguments the generated Retell tool's schema allows."""
        TOOL_SCHEMAS[name].validate(args)
        envelope = {"name": name, "args": args, "call": call_from(self.call_id, self.number)}
        response = await self.http.post("/retell/functions", **signed(envelope))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert answer["message"] and not ISO.search(answer["message"]), answer["message"]
        return answer

    async def inbound(self) -> dict[str, str]:
        body = {
            "event": "call_inbound",
            "call_inbound": {
                "agent_id": "agent_test",
                "from_number": self.number,
                "to_number": "+4930123456",
            },
        }
        response = await self.http.post("/retell/inbound", **signed(body))
        assert response.status_code == 200, response.text
        variables: dict[str, str] = response.json()["call_inbound"]["dynamic_variables"]
        assert all(isinstance(v, str) for v in variables.values()), variables
        return variables

    async def book(
        self, service: str, start: datetime, name: str, **stylist: str
    ) -> dict[str, Any]:
        held = await self.fn(
            "check_availability",
            service=service,
            date=german_date(start),
            time=f"{start:%H:%M}",
            **stylist,
        )
        assert held["available"], held
        booked = await self.fn("start_booking", customer_name=name)
        assert booked["booked"], booked
        return booked


def ours(state: dict[str, Any], status: str = "accepted") -> list[dict[str, Any]]:
    return [
        b
        for b in state["bookings"]
        if b["status"] == status and (b.get("metadata") or {}).get("source") == "salon-booking"
    ]


def uids(answer: dict[str, Any]) -> set[str]:
    return {s["calcom_booking_uid"] for s in answer["segments"] if s["calcom_booking_uid"]}


async def calcom_webhook(
    http: httpx.AsyncClient, trigger: str, booking: dict, **extra: Any
) -> None:
    payload = {
        "triggerEvent": trigger,
        "createdAt": datetime.now().isoformat(),
        "payload": {
            "uid": booking["uid"],
            "eventTypeId": booking["eventTypeId"],
            "startTime": booking["start"],
            "endTime": booking["end"],
            "status": booking["status"].upper(),
            "metadata": booking.get("metadata") or {},
            **extra,
        },
    }
    body = json.dumps(payload).encode()
    sig = hmac.new(CALCOM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = await http.post(
        "/calcom/webhook", content=body, headers={"X-Cal-Signature-256": sig}
    )
    assert response.status_code == 200, response.text


async def current_details(handle: Any) -> str:
    """What the Temporal UI shows as the workflow's current details."""
    from temporalio.api.sdk.v1 import WorkflowMetadata

    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(metadata.current_details)


async def calcom_api(simulator, method: str, path: str, **json_body: Any) -> dict[str, Any]:
    """Cal.com itself (the simulator's /v2), as staff in Cal.com's own UI would act."""
    async with httpx.AsyncClient(base_url=simulator.url, timeout=10) as client:
        response = await client.request(
            method,
            path,
            json=json_body,
            headers={
                "Authorization": f"Bearer {simulator.api_key}",
                "cal-api-version": "2024-08-13",
            },
        )
    assert response.is_success, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# ---------------------------------------------------------------- the whole story
async def test_a_returning_caller_is_recognised_moves_then_cancels(http, sim, stack):
    day1 = next_open_day(hour=10)
    day2 = next_open_day(
        days_ahead=(day1.date() - datetime.now(day1.tzinfo).date()).days + 1, hour=11
    )
    first = Caller(http, CALLER)
    # With Carla, not the perm's first stylist: the move must keep her, not pick anyone.
    booked = await first.book("Dauerwelle", day1, "Frau Erika Mustermann", stylist="Carla")
    old_uids = uids(booked)
    assert len(old_uids) == 3

    # A new call from the same number (sent as a national number this time).
    again = Caller(http, CALLER_NATIONAL)
    known = await again.inbound()
    assert known["customer_known"] == "true"
    assert known["customer_name"] == "Frau Erika Mustermann"
    assert known["next_appointment_id"] == booked["appointment_id"]
    assert (
        known["next_appointment"].startswith("Dauerwelle, ")
        and "10 Uhr" in known["next_appointment"]
    )

    found = await again.fn("find_appointments")
    assert [a["appointment_id"] for a in found["appointments"]] == [booked["appointment_id"]]
    assert found["appointments"][0]["label"].endswith("10 Uhr")
    assert "Dauerwelle" in found["message"]
    stylist = found["appointments"][0]["stylist"]
    assert stylist == booked["stylist"] == "Carla"  # who it is with, by name

    # Move it to another day: the new time is held like any check (service omitted) ...
    held = await again.fn(
        "check_availability",
        appointment_id=booked["appointment_id"],
        date=german_date(day2),
        time="11 Uhr",
    )
    assert held["available"] and held["service"] == "Dauerwelle", held
    assert len((await sim.state())["reservations"]) == 3
    # ... then booked with those reservations, and the old appointment cancelled.
    moved = await again.fn("reschedule_appointment", appointment_id=booked["appointment_id"])
    assert moved["status"] == "booked" and moved["booked"], moved
    assert moved["previous_appointment_id"] == booked["appointment_id"]
    assert moved["appointment_id"] != booked["appointment_id"]
    assert datetime.fromisoformat(moved["start"]) == day2
    assert moved["stylist"] == stylist  # nobody asked for another: the same stylist, free
    assert "verschoben" in moved["message"]
    state = await sim.state()
    assert state["reservations"] == []  # consumed by the new bookings
    assert {b["uid"] for b in ours(state, "cancelled")} == old_uids
    assert {b["uid"] for b in ours(state)} == uids(moved)
    details = await current_details(stack.handle(again.call_id))
    weekday = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"][day1.weekday()]
    assert f"Termin verschoben:** {weekday} 10:00 -> " in details

    found = await again.fn("find_appointments")
    assert [a["appointment_id"] for a in found["appointments"]] == [moved["appointment_id"]]

    # Cancel it (the caller's one appointment: no id needed).
    cancelled = await again.fn("cancel_appointment")
    assert cancelled["cancelled"] and cancelled["status"] == "cancelled", cancelled
    assert cancelled["appointment_id"] == moved["appointment_id"]
    assert "abgesagt" in cancelled["message"]
    assert ours(await sim.state()) == []
    claims = await store.list_claims(stack.engine)
    assert [c for c in claims if c.status in ("held", "booked")] == []
    again_cancelled = await again.fn("cancel_appointment", appointment_id=moved["appointment_id"])
    assert again_cancelled["status"] == "cancelled"

    # The time is bookable by someone else at once; the stranger knows nothing of it.
    stranger = Caller(http, STRANGER)
    assert (await stranger.inbound())["customer_known"] == "false"
    assert (await stranger.fn("find_appointments"))["appointments"] == []
    taken = await stranger.fn(
        "check_availability", service="Dauerwelle", date=german_date(day2), time="11 Uhr"
    )
    assert taken["available"], taken


async def test_a_failing_new_booking_leaves_the_old_appointment_untouched(http, sim, stack):
    day = next_open_day(hour=9)
    caller = Caller(http, CALLER)
    booked = await caller.book("Dauerwelle", day, "Erika Mustermann")
    held = await caller.fn(
        "check_availability",
        appointment_id=booked["appointment_id"],
        date=german_date(day),
        time="14 Uhr",
    )
    assert held["available"], held
    await sim.add_fault(endpoint="/v2/bookings", kind="reject", event_type_id=2004)

    moved = await caller.fn("reschedule_appointment", appointment_id=booked["appointment_id"])

    assert moved["booked"] is False and moved["status"] in ("slot_taken", "failed"), moved
    assert moved["previous_appointment_id"] == booked["appointment_id"]
    assert "bleibt bestehen" in moved["message"] or "unverändert" in moved["message"]
    await sim.clear_faults()
    state = await sim.state()
    assert {b["uid"] for b in ours(state)} == uids(booked)  # the old bookings, and only they
    stored = await appointments_store.get(stack.engine, booked["appointment_id"])
    assert stored is not None and stored.status == "booked" and stored.locked_by is None
    found = await caller.fn("find_appointments")
    assert [a["appointment_id"] for a in found["appointments"]] == [booked["appointment_id"]]


async def test_a_stranger_finds_nothing_and_cannot_touch_an_appointment(http, stack):
    day = next_open_day(hour=12)
    booked = await Caller(http, CALLER).book("Föhnen", day, "Jürgen Müller")
    stranger = Caller(http, STRANGER)
    assert await stranger.inbound() == {
        "customer_known": "false",
        "customer_name": "",
        "next_appointment": "",
        "next_appointment_id": "",
    }
    assert (await stranger.fn("find_appointments"))["appointments"] == []
    # A name alone reveals nothing, nor a name with another day.
    by_name = await stranger.fn("find_appointments", customer_name="Jürgen Müller")
    assert by_name["appointments"] == []
    other_day = await stranger.fn(
        "find_appointments",
        customer_name="Jürgen Müller",
        date=german_date(day + timedelta(days=1)),
    )
    assert other_day["appointments"] == []
    # Knowing the id is not enough either.
    refused = await stranger.fn("cancel_appointment", appointment_id=booked["appointment_id"])
    assert refused["status"] == "not_found" and not refused["cancelled"]
    moved = await stranger.fn(
        "reschedule_appointment",
        appointment_id=booked["appointment_id"],
        date=german_date(day),
        time="15 Uhr",
    )
    assert moved["status"] == "not_found"
    stored = await appointments_store.get(stack.engine, booked["appointment_id"])
    assert stored is not None and stored.status == "booked"


async def test_a_caller_from_another_number_finds_it_by_exact_name_and_day(http, sim):
    day = next_open_day(hour=15)
    booked = await Caller(http, CALLER).book("Herrenhaarschnitt", day, "Jürgen Müller")
    elsewhere = Caller(http, STRANGER)
    found = await elsewhere.fn(
        "find_appointments", customer_name="jürgen müller", date=german_date(day)
    )
    assert [a["appointment_id"] for a in found["appointments"]] == [booked["appointment_id"]]
    cancelled = await elsewhere.fn("cancel_appointment", appointment_id=booked["appointment_id"])
    assert cancelled["status"] == "cancelled"
    assert ours(await sim.state()) == []


async def test_late_cancellations_are_refused_with_a_sentence_to_call_the_salon(
    stack, temporal_client, sim
):
    day = next_open_day(hour=16)
    # Every appointment of the test is closer than a year away.
    settings = settings_for(stack.task_queue, cancellation_notice_hours=24 * 365)
    async with api(settings, temporal_client) as http:
        caller = Caller(http, CALLER)
        booked = await caller.book("Bartpflege", day, "Erika Mustermann")
        late = await caller.fn("cancel_appointment")
        assert late["status"] == "too_late" and not late["cancelled"], late
        assert "im Salon an" in late["message"] and "8760 Stunden" in late["message"]
        moved = await caller.fn(
            "reschedule_appointment",
            appointment_id=booked["appointment_id"],
            date=german_date(day),
            time="17 Uhr",
        )
        assert moved["status"] == "too_late"
    assert {b["uid"] for b in ours(await sim.state())} == uids(booked)


async def test_two_calls_cancelling_one_appointment_both_hear_cancelled(http, sim):
    await sim.set_latency("/v2/bookings/{uid}/cancel", 0.3)
    booked = await Caller(http, CALLER).book("Dauerwelle", next_open_day(hour=11), "Eva Weber")
    first, second = Caller(http, CALLER), Caller(http, CALLER)
    answers = await asyncio.gather(
        first.fn("cancel_appointment", appointment_id=booked["appointment_id"]),
        second.fn("cancel_appointment", appointment_id=booked["appointment_id"]),
    )
    assert [a["status"] for a in answers] == ["cancelled", "cancelled"], answers
    assert {b["uid"] for b in ours(await sim.state(), "cancelled")} == uids(booked)


async def test_a_move_and_a_cancel_at_once_end_with_one_of_them(http, sim, stack):
    """Two calls change one appointment at the same time: one change waits for the
    other and then sees its result, so the appointment is moved or cancelled, never
    both, and exactly one live appointment (moved) or none (cancelled) is left."""
    await sim.set_latency("/v2/bookings", 0.3)
    day = next_open_day(hour=10)
    booked = await Caller(http, CALLER).book("Färben", day, "Eva Weber")
    mover, canceller = Caller(http, CALLER), Caller(http, CALLER)
    held = await mover.fn(
        "check_availability",
        appointment_id=booked["appointment_id"],
        date=german_date(day),
        time="15 Uhr",
    )
    assert held["available"]
    moved, cancelled = await asyncio.gather(
        mover.fn("reschedule_appointment", appointment_id=booked["appointment_id"]),
        canceller.fn("cancel_appointment", appointment_id=booked["appointment_id"]),
    )

    async def settled() -> tuple[str, str]:
        m = moved if moved["status"] != "pending" else await mover.fn("booking_status")
        c = cancelled
        if c["status"] == "pending":  # asking again joins the waiting cancel
            c = await canceller.fn("cancel_appointment", appointment_id=booked["appointment_id"])
        assert m["status"] != "pending" and c["status"] != "pending"
        return m["status"], c["status"]

    move_status, cancel_status = await assert_eventually(settled, timeout=30)
    assert (move_status == "booked") != (cancel_status == "cancelled"), (move_status, cancel_status)
    live = [
        a
        for a in await appointments_store.list_appointments(stack.engine)
        if a["status"] == "booked"
    ]
    assert len(live) == (1 if move_status == "booked" else 0)
    accepted = ours(await sim.state())
    assert len(accepted) == 2 * len(live)  # Färben: segments A and D


async def test_a_cancellation_in_calcom_cancels_the_whole_appointment(http, sim, stack, simulator):
    booked = await Caller(http, CALLER).book("Dauerwelle", next_open_day(hour=9), "Eva Weber")
    first = next(s for s in booked["segments"] if s["key"] == "A")
    gone = await calcom_api(
        simulator,
        "POST",
        f"/v2/bookings/{first['calcom_booking_uid']}/cancel",
        cancellationReason="Krank",
    )
    await calcom_webhook(http, "BOOKING_CANCELLED", gone)

    async def reflected() -> None:
        stored = await appointments_store.get(stack.engine, booked["appointment_id"])
        assert (
            stored is not None and stored.status == "cancelled" and stored.cancelled_by == "calcom"
        )

    await assert_eventually(reflected, timeout=20)
    assert ours(await sim.state()) == []  # B and D cancelled too: no half appointment
    found = await Caller(http, CALLER).fn("find_appointments")
    assert found["appointments"] == []


async def test_a_reschedule_in_calcom_moves_the_appointment(http, sim, stack, simulator):
    day = next_open_day(hour=9)
    booked = await Caller(http, CALLER).book("Herrenhaarschnitt", day, "Eva Weber")
    uid = booked["segments"][0]["calcom_booking_uid"]
    later = day + timedelta(hours=4)
    new = await calcom_api(
        simulator, "POST", f"/v2/bookings/{uid}/reschedule", start=utc_iso(later)
    )
    await calcom_webhook(http, "BOOKING_RESCHEDULED", new, rescheduleUid=uid)

    async def reflected() -> list[dict[str, Any]]:
        found = await Caller(http, CALLER).fn("find_appointments")
        assert [datetime.fromisoformat(a["start"]) for a in found["appointments"]] == [later]
        return list(found["appointments"])

    found = await assert_eventually(reflected, timeout=20)
    assert found[0]["appointment_id"] == booked["appointment_id"]
    # Cancelling it now cancels the booking Cal.com moved it to.
    cancelled = await Caller(http, CALLER).fn("cancel_appointment")
    assert cancelled["status"] == "cancelled"
    assert ours(await sim.state()) == []
