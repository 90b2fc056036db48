"""The Retell-facing API through its HTTP surface, on real parts: signed requests go
through FastAPI to a real Temporal server, a real worker, PostgreSQL and the Cal.com
simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from retell.lib.webhook_auth import symmetric
from temporalio.client import Client, WorkflowExecutionStatus

from api.main import create_app
from config import Settings
from tests.harness import assert_eventually, next_open_day, unique

KEY = "key_test_api_0123456789abcdef"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}|T\d{2}:")  # never said to a caller
ZONE = ZoneInfo("Europe/Berlin")
CALCOM_SECRET = "whsec_test_api"
OPS_TOKEN = "ops_test_api_9f8e7d6c5b4a"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}


def settings_for(task_queue: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "retell_api_key": KEY,
        "temporal_task_queue": task_queue,
        "calcom_webhook_secret": CALCOM_SECRET,
        "ops_token": OPS_TOKEN,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def api(settings: Settings, client: Client | None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield http


def signed(payload: Any, *, key: str = KEY, ts: int | None = None) -> dict[str, Any]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return {
        "content": body.encode(),
        "headers": {
            "Content-Type": "application/json",
            "X-Retell-Signature": symmetric["sign"](body, key, ts),
        },
    }


def call_obj(call_id: str, name: str | None = None, tool_call_id: str | None = None) -> dict:
    call: dict[str, Any] = {
        "call_id": call_id,
        "agent_id": "agent_test",
        "call_status": "ongoing",
        "from_number": "+4915112345678",
        "to_number": "+4930123456",
        "direction": "inbound",
    }
    if tool_call_id:
        call["transcript_with_tool_calls"] = [
            {"role": "user", "content": "Hallo"},
            {
                "role": "tool_call_invocation",
                "tool_call_id": tool_call_id,
                "name": name,
                "arguments": "{}",
            },
        ]
    return call


async def fn(
    http: httpx.AsyncClient, call_id: str, name: str, args: dict, tool_call_id: str | None = None
) -> dict[str, Any]:
    envelope = {"name": name, "args": args, "call": call_obj(call_id, name, tool_call_id)}
    response = await http.post("/retell/functions", **signed(envelope))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["message"] and not ISO.search(answer["message"]), answer["message"]
    return answer


def german_date(day: datetime) -> str:
    return f"{day.day}.{day.month}.{day.year}"


# ---------------------------------------------------------------- signatures, envelope
def test_retell_signature_matches_the_contract_vectors():
    verify = symmetric["verify"]
    v1 = "v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e"
    at = {"timestamp": 1700000000000}
    assert verify('{"event":"call_ended"}', "test-api-key", v1, at)
    body = '{"name":"start_booking","args":{"customer_name":"Jürgen Müller"}}'
    v2 = "v=1735689600000,d=32051ed9dc68934b434ee4152084f8b02bb9e5f609639caa874173a65e1f4442"
    key2, at2 = "key_test_0123456789abcdef", {"timestamp": 1735689600000}
    assert verify(body, key2, v2, at2)
    assert not verify(json.dumps(json.loads(body)), key2, v2, at2)  # re-serialised: fails
    assert verify(body, key2, v2, {"timestamp": 1735689600000 + 300_000})
    assert not verify(body, key2, v2, {"timestamp": 1735689600000 + 300_001})
    assert not verify(body, key2, v2.upper().replace("V=", "v="), at2)


async def test_missing_bad_and_stale_signatures_are_401(http):
    envelope = {"name": "check_availability", "args": {}, "call": call_obj("c-sig")}
    body = json.dumps(envelope).encode()
    missing = await http.post("/retell/functions", content=body)
    wrong_key = await http.post("/retell/functions", **signed(envelope, key="another-key"))
    stale = await http.post(
        "/retell/functions", **signed(envelope, ts=int(time.time() * 1000) - 301_000)
    )
    good = signed(envelope)
    tampered = await http.post(
        "/retell/functions", content=good["content"] + b" ", headers=good["headers"]
    )
    for response in (missing, wrong_key, stale, tampered):
        assert response.status_code == 401
        assert "X-Retell-Signature" in response.json()["detail"]


async def test_envelopes_without_call_id_or_with_unknown_function_are_422(http):
    args_only = await http.post("/retell/functions", **signed({"service": "Dauerwelle"}))
    no_call_id = await http.post(
        "/retell/functions", **signed({"name": "check_availability", "args": {}, "call": {}})
    )
    unknown = await http.post(
        "/retell/functions",
        **signed({"name": "book_everything", "args": {}, "call": call_obj("c-422")}),
    )
    assert args_only.status_code == 422 and "name" in args_only.json()["detail"]
    no_envelope = await http.post(
        "/retell/functions", **signed({"name": "check_availability", "args": {}})
    )
    assert no_envelope.status_code == 422 and "full envelope" in no_envelope.json()["detail"]
    assert no_call_id.status_code == 422 and "call_id" in no_call_id.json()["detail"]
    assert unknown.status_code == 422 and "book_everything" in unknown.json()["detail"]
    not_json = await http.post(
        "/retell/functions",
        content=b"{not json",
        headers={"X-Retell-Signature": symmetric["sign"]("{not json", KEY)},
    )
    assert not_json.status_code == 400


# ---------------------------------------------------------------- the happy path
async def test_check_then_book_a_perm_through_the_api(http, sim, stack):
    call_id = unique("api-happy")
    day = next_open_day(hour=10, minute=45)
    check = await fn(
        http,
        call_id,
        "check_availability",
        {"service": "eine Dauerwelle bitte", "date": german_date(day), "time": "viertel vor elf"},
    )
    assert check["available"] is True and check["error"] is None
    assert check["service"] == "Dauerwelle"
    assert datetime.fromisoformat(check["start"]) == day
    assert check["hold_seconds_left"] > 60 and check["hold_id"]
    assert "10:45 Uhr frei" in check["message"] and "T10" not in check["message"]

    booking = await fn(
        http, call_id, "start_booking", {"customer_name": "Müller mit ü", "customer_email": None}
    )
    assert booking["booked"] is True and booking["status"] == "booked"
    assert booking["customer_name"] == "Müller"
    assert "gebucht" in booking["message"] and "Müller" in booking["message"]
    staffed = [s for s in booking["segments"] if s["calcom_booking_uid"]]
    assert [s["key"] for s in staffed] == ["A", "B", "D"]
    accepted = [b for b in (await sim.state())["bookings"] if b["status"] == "accepted"]
    assert sorted(b["uid"] for b in accepted) == sorted(s["calcom_booking_uid"] for s in staffed)

    status = await fn(http, call_id, "booking_status", {})
    assert status["status"] == "booked" and status["appointment_id"] == booking["appointment_id"]
    state = await http.get(f"/calls/{call_id}", headers=OPS)
    assert state.status_code == 200 and state.json()["status"] == "booked"
    described = await stack.handle(call_id).describe()
    weekday = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"][day.weekday()]
    assert await described.static_summary() == f"Dauerwelle, {weekday} {day:%d.%m.} 10:45"
    assert (await http.get("/calls/no-such-call", headers=OPS)).status_code == 404


async def test_a_taken_slot_is_answered_with_german_alternatives(http):
    day = next_open_day(hour=14)
    # Beards are Anna's alone: nobody else can step in.
    args = {"service": "Bartpflege", "date": german_date(day), "time": "14 Uhr"}
    first = await fn(http, unique("api-first"), "check_availability", args)
    assert first["available"]
    second = await fn(http, unique("api-second"), "check_availability", args)
    assert second["available"] is False and second["error"] is None
    assert 1 <= len(second["alternatives"]) <= 3
    for alt in second["alternatives"]:
        assert alt["label"].endswith("Uhr") and "T" not in alt["label"]
        assert datetime.fromisoformat(alt["start"]) != day
    assert "leider" in second["message"] and "anbieten" in second["message"]


def _next_sunday() -> datetime:
    day = next_open_day(hour=11)
    while day.weekday() != 6:
        day += timedelta(days=1)
    return day


def _too_late_for_a_perm() -> dict[str, str]:
    """Half an hour before that day's closing time (the catalog's; Thursdays close
    later): a Dauerwelle, longer than that, no longer fits."""
    from config.settings import DEMO_CATALOG_PATH
    from domain.catalog import load_catalog

    day = next_open_day()
    hours = load_catalog(DEMO_CATALOG_PATH).opening_hours.for_weekday(day.weekday())
    assert hours is not None
    closing = datetime.combine(day.date(), hours[1], tzinfo=ZONE)
    late = closing - timedelta(minutes=30)
    return {"service": "Dauerwelle", "date": german_date(late), "time": f"{late:%H:%M}"}


# error code -> (check_availability arguments, a phrase of the German answer)
ERROR_CASES: dict[str, tuple[Any, str]] = {
    "unknown_service": (
        lambda: {"service": "Maniküre", "date": "morgen", "time": "10"},
        "Dauerwelle",  # the services we do offer are listed
    ),
    "invalid_date": (
        lambda: {"service": "Föhnen", "date": "irgendwann", "time": "10 Uhr"},
        "Tag",
    ),
    "invalid_time": (lambda: {"service": "Föhnen", "date": "morgen", "time": "bald"}, "Uhr"),
    "in_the_past": (
        lambda: {
            "dienstleistung": "Föhnen",
            "datum": german_date(datetime.now(ZONE) - timedelta(days=1)),
            "uhrzeit": "10:00",
        },
        "Vergangenheit",
    ),
    "closed_day": (
        lambda: {"service": "Föhnen", "date": german_date(_next_sunday()), "time": "11:00"},
        "geschlossen",
    ),
    "outside_opening_hours": (
        lambda: _too_late_for_a_perm(),
        "geöffnet",
    ),
}


@pytest.mark.parametrize("error", ERROR_CASES)
async def test_german_error_codes(http, error):
    args, phrase = ERROR_CASES[error]
    answer = await fn(http, unique("api-errors"), "check_availability", args())
    assert answer["error"] == error and answer["available"] is False
    assert phrase in answer["message"], answer["message"]
    if error in ("closed_day", "outside_opening_hours"):
        assert answer["alternatives"], "outside the hours still gets the nearest free times"


async def test_start_booking_without_a_name_asks_for_it(http):
    missing_name = await fn(http, unique("api-errors"), "start_booking", {})
    assert missing_name["status"] == "invalid_input" and "Namen" in missing_name["message"]


async def test_the_same_function_call_delivered_twice_books_once(http, sim):
    call_id = unique("api-dupe")
    day = next_open_day(hour=15)
    await fn(
        http,
        call_id,
        "check_availability",
        {"service": "Färben", "date": german_date(day), "time": "15 Uhr"},
        tool_call_id="tc-check",
    )
    answers = await asyncio.gather(
        *(
            fn(http, call_id, "start_booking", {"customer_name": "Anna Schmidt"}, "tc-book")
            for _ in range(3)
        )
    )
    assert {a["appointment_id"] for a in answers} == {answers[0]["appointment_id"]}
    assert all(a["booked"] for a in answers)
    # Without a tool_call_id: same name and arguments again -> the same answer, no booking.
    again = await fn(http, call_id, "start_booking", {"customer_name": "Anna Schmidt"})
    assert again["appointment_id"] == answers[0]["appointment_id"]
    accepted = [b for b in (await sim.state())["bookings"] if b["status"] == "accepted"]
    assert len(accepted) == 2  # Färben: segments A and D, once


async def test_call_ended_webhook_releases_the_hold_and_is_deduplicated(http, sim, stack):
    call_id = unique("api-hangup")
    day = next_open_day(hour=16)
    held = await fn(
        http,
        call_id,
        "check_availability",
        {"service": "Bartpflege", "date": german_date(day), "time": "16:00"},
    )
    assert held["available"] and len((await sim.state())["reservations"]) == 1
    ended = {"event": "call_ended", "call": {**call_obj(call_id), "call_status": "ended"}}
    first = await http.post("/retell/webhook", **signed(ended))
    second = await http.post("/retell/webhook", **signed(ended))
    assert first.status_code == second.status_code == 204
    result = await asyncio.wait_for(stack.handle(call_id).result(), timeout=20)
    assert result.call_ended and result.status == "released"
    assert (await sim.state())["reservations"] == []
    ignored = await http.post(
        "/retell/webhook", **signed({"event": "transcript_updated", "call": call_obj(call_id)})
    )
    assert ignored.status_code == 204
    unsigned = await http.post("/retell/webhook", json=ended)
    assert unsigned.status_code == 401


async def test_an_announced_call_is_held_and_once_over_says_so(http, sim, stack):
    """``call_started`` first (the API then sends the call's messages as plain updates),
    after the hang-up the same API still answers that the call is over."""
    call_id = unique("api-announced")
    day = next_open_day(hour=15)
    started = {"event": "call_started", "call": call_obj(call_id)}
    assert (await http.post("/retell/webhook", **signed(started))).status_code == 204

    async def running() -> None:
        description = await stack.handle(call_id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING

    await assert_eventually(running)
    args = {"service": "Bartpflege", "date": german_date(day), "time": "15:00"}
    held = await fn(http, call_id, "check_availability", args)
    assert held["available"], held
    ended = {"event": "call_ended", "call": {**call_obj(call_id), "call_status": "ended"}}
    assert (await http.post("/retell/webhook", **signed(ended))).status_code == 204
    await asyncio.wait_for(stack.handle(call_id).result(), timeout=20)
    again = await fn(http, call_id, "check_availability", {**args, "time": "15:30"})
    assert not again["available"]
    assert again["message"] == "Dieses Gespräch ist bereits beendet."


async def test_outside_booking_webhook_marks_the_hold_lost(http, sim):
    call_id = unique("api-lost")
    day = next_open_day(hour=11)
    held = await fn(
        http,
        call_id,
        "check_availability",
        {"service": "Damenhaarschnitt", "date": german_date(day), "time": "11:00"},
    )
    assert held["available"]
    # Staff book the same time on Cal.com directly (no reservation respected), Cal.com
    # tells us by webhook.
    booking = await sim.outside_booking(
        1002, datetime.fromisoformat(held["start"]), respect_reservations=False, name="Walk-in"
    )
    payload = {
        "triggerEvent": "BOOKING_CREATED",
        "createdAt": datetime.now(ZONE).isoformat(),
        "payload": {
            "uid": booking["uid"],
            "eventTypeId": 1002,
            "startTime": held["start"],
            "endTime": held["end"],
            "status": "ACCEPTED",
            "metadata": {},
        },
    }
    body = json.dumps(payload).encode()
    import hashlib
    import hmac

    sig = hmac.new(CALCOM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    rejected = await http.post("/calcom/webhook", content=body)
    assert rejected.status_code == 401
    accepted = await http.post(
        "/calcom/webhook", content=body, headers={"X-Cal-Signature-256": sig}
    )
    assert accepted.status_code == 200, accepted.text

    async def lost() -> dict:
        answer = await fn(http, call_id, "extend_hold", {})
        assert answer["available"] is False and answer["alternatives"]
        return answer

    from tests.harness import assert_eventually

    answer = await assert_eventually(lost, timeout=15)
    assert "anderweitig vergeben" in answer["message"]


async def test_unreachable_temporal_answers_pending_in_german_never_500():
    settings = settings_for("nowhere", temporal_address="127.0.0.1:1", check_budget_seconds=0.2)
    async with api(settings, None) as http:
        check = await fn(
            http,
            "c-down",
            "check_availability",
            {"service": "Föhnen", "date": "übermorgen", "time": "10 Uhr"},
        )
        assert check["available"] is False and "Moment" in check["message"]
        booking = await fn(http, "c-down", "start_booking", {"customer_name": "Eva Weber"})
        assert booking["status"] == "pending" and booking["message"]
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200


async def test_metrics_count_answers_by_function_and_outcome(http):
    await fn(http, unique("api-m"), "booking_status", {})
    text = (await http.get("/metrics", headers=OPS)).text
    assert 'api_requests_total{function="booking_status",outcome="no_booking"}' in text
    assert "api_request_seconds_bucket" in text


async def test_a_slow_worker_becomes_a_pending_answer(temporal_client):
    """A task queue nobody serves: the update is never answered within the budget."""
    settings = settings_for(unique("unserved"), check_budget_seconds=0.3)
    async with api(settings, temporal_client) as http:
        check = await fn(
            http,
            unique("api-slow"),
            "check_availability",
            {"service": "Föhnen", "date": "übermorgen", "time": "10 Uhr"},
        )
        assert check["available"] is False and "langsam" in check["message"]


def test_the_module_app_serves_openapi_with_all_endpoints():
    from api.main import app

    paths = set(app.openapi()["paths"])
    assert {
        "/retell/functions",
        "/retell/webhook",
        "/calcom/webhook",
        "/calls/{call_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= paths


async def test_a_call_driven_with_exactly_the_generated_retell_tools(http, sim):
    """The tools `booking retell-setup` installs: their names, URL and parameter schemas
    are all an agent has; a call made from them alone books."""
    from retell_kit.tools import tool_definitions

    tools = {t["name"]: t for t in tool_definitions("http://api")}
    assert set(tools) == {
        "check_availability",
        "start_booking",
        "extend_hold",
        "cancel_hold",
        "booking_status",
        "find_appointments",
        "cancel_appointment",
        "reschedule_appointment",
    }

    async def use(call_id: str, name: str, **args: Any) -> dict[str, Any]:
        tool = tools[name]
        schema = tool["parameters"]
        assert set(args) <= set(schema["properties"]), (name, args)
        assert set(schema.get("required", [])) <= set(args), (name, args)
        path = tool["url"].removeprefix("http://api")
        body = {"name": name, "args": args, "call": call_obj(call_id)}
        response = await http.post(path, **signed(body))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    call_id = unique("api-tools")
    day = next_open_day(hour=12)
    held = await use(
        call_id, "check_availability", service="Föhnen", date=german_date(day), time="12 Uhr"
    )
    assert held["available"]
    assert (await use(call_id, "extend_hold"))["available"]
    booked = await use(call_id, "start_booking", customer_name="Frau Dr. Weiß")
    assert booked["booked"] and "Frau Dr. Weiß" in booked["message"]
    assert (await use(call_id, "booking_status"))["status"] == "booked"

    other = unique("api-tools-cancel")
    later = day + timedelta(hours=2)
    assert (
        await use(
            other, "check_availability", service="Föhnen", date=german_date(later), time="14:00"
        )
    )["available"]
    cancelled = await use(other, "cancel_hold")
    assert cancelled["available"] is False and "freigegeben" in cancelled["message"]
    reservations = (await sim.state())["reservations"]
    assert reservations == []
