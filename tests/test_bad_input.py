"""Bad input never costs a booking and never leaves one behind (issue 14).

Through the HTTP API on real parts (a real worker, Temporal, PostgreSQL and the Cal.com
simulator over HTTP): what the caller said arrives as it is heard, and what Cal.com and
the appointment record end up with is read back from the simulator's state and the
database. Days and times come from the catalog's opening hours, never from today's
weekday or hour.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from config.settings import DEFAULT_FALLBACK_EMAIL, DEMO_CATALOG_PATH
from domain.catalog import load_catalog
from domain.wording import WEEKDAY_NAMES
from store.appointments import get_appointment
from tests.harness import unique
from tests.test_api import ISO, ZONE, api, call_obj, german_date, settings_for, signed

CATALOG = load_catalog(DEMO_CATALOG_PATH)
MOBILE = "+4915112345678"
CALLER = "+4930123456"


def open_slots(service: str, count: int, *, days_ahead: int = 2) -> list[datetime]:
    """``count`` back-to-back starts of ``service`` from the opening time of the first
    open days at least ``days_ahead`` days out, within the catalog's opening hours."""
    length = timedelta(minutes=CATALOG.service(service).total_minutes)
    day = datetime.now(ZONE).date() + timedelta(days=days_ahead)
    slots: list[datetime] = []
    while len(slots) < count:
        hours = CATALOG.opening_hours.for_weekday(day.weekday())
        if hours is not None:
            start = datetime.combine(day, hours[0], tzinfo=ZONE)
            closing = datetime.combine(day, hours[1], tzinfo=ZONE)
            while start + length <= closing and len(slots) < count:
                slots.append(start)
                start += length
        day += timedelta(days=1)
    return slots


def said_date(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def first_open_day_after(day: date) -> date:
    while CATALOG.opening_hours.for_weekday(day.weekday()) is None:
        day += timedelta(days=1)
    return day


async def ask(
    http: httpx.AsyncClient,
    call_id: str,
    name: str,
    args: dict[str, Any],
    *,
    from_number: str | None = CALLER,
) -> dict[str, Any]:
    """One signed function call from a caller whose number is ``from_number``."""
    call = {**call_obj(call_id), "from_number": from_number}
    response = await http.post(
        "/retell/functions", **signed({"name": name, "args": args, "call": call})
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["message"] and not ISO.search(answer["message"]), answer["message"]
    return answer


async def hold(http: httpx.AsyncClient, call_id: str, start: datetime, **kw: Any) -> dict:
    held = await ask(
        http,
        call_id,
        "check_availability",
        {"service": "Herrenhaarschnitt", "date": german_date(start), "time": f"{start:%H:%M}"},
        **kw,
    )
    assert held["available"], held["message"]
    return held


async def attendees(sim: Any, call_id: str) -> list[dict[str, Any]]:
    """The attendees of the call's accepted bookings at Cal.com."""
    bookings = (await sim.state())["bookings"]
    return [
        b["attendees"][0]
        for b in bookings
        if b["status"] == "accepted" and b["metadata"].get("call_id") == call_id
    ]


# ---------------------------------------------------------------- phone numbers
@pytest.mark.parametrize("said", ["0151 12345678", "+49 151 12345678", "+49 (0)151-1234 5678"])
async def test_each_spoken_phone_form_books_with_its_e164_number(http, sim, stack, said):
    call_id = unique("bad-phone")
    await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0])
    booked = await ask(
        http, call_id, "start_booking", {"customer_name": "Jonas Beck", "customer_phone": said}
    )
    assert booked["status"] == "booked", booked["message"]
    assert [a["phoneNumber"] for a in await attendees(sim, call_id)] == [MOBILE]
    recorded = await get_appointment(stack.engine, booked["appointment_id"])
    assert recorded is not None and recorded["customer_phone"] == MOBILE


async def test_an_anonymous_caller_without_a_number_books_with_the_fallback_contact(
    http, sim, stack
):
    call_id = unique("bad-anon")
    await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0], from_number="anonymous")
    booked = await ask(
        http, call_id, "start_booking", {"customer_name": "Lea Roth"}, from_number="anonymous"
    )
    assert booked["status"] == "booked", booked["message"]
    (attendee,) = await attendees(sim, call_id)
    assert attendee["phoneNumber"] is None and attendee["email"] == DEFAULT_FALLBACK_EMAIL
    # The appointment keeps what the customer gave: nothing, not the salon's address.
    recorded = await get_appointment(stack.engine, booked["appointment_id"])
    assert recorded is not None
    assert (recorded["customer_phone"], recorded["customer_email"]) == (None, None)


async def test_an_unusable_number_and_address_fall_back_to_the_callers_number(http, sim):
    call_id = unique("bad-garbage")
    await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0])
    booked = await ask(
        http,
        call_id,
        "start_booking",
        {
            "customer_name": "Ida Wolf",
            "customer_phone": "weiß ich nicht auswendig",
            "customer_email": "ida at web punkt de",
        },
    )
    assert booked["status"] == "booked", booked["message"]
    (attendee,) = await attendees(sim, call_id)
    assert (attendee["phoneNumber"], attendee["email"]) == (CALLER, "")
    assert "Telefon" not in booked["message"]  # nothing to ask: the salon has a number


# ---------------------------------------------------------------- names
async def test_a_nul_in_the_name_books_and_the_appointment_is_recorded(http, sim, stack):
    call_id = unique("bad-nul")
    await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0])
    booked = await ask(http, call_id, "start_booking", {"customer_name": "Max\u0000Muster"})
    assert booked["status"] == "booked", booked["message"]
    assert booked["customer_name"] == "Max Muster"
    assert [a["name"] for a in await attendees(sim, call_id)] == ["Max Muster"]
    recorded = await get_appointment(stack.engine, booked["appointment_id"])
    assert recorded is not None and recorded["customer_name"] == "Max Muster"
    assert (await ask(http, call_id, "booking_status", {}))["status"] == "booked"


async def test_bidi_overrides_never_reach_the_calendar(http, sim):
    call_id = unique("bad-bidi")
    await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0])
    booked = await ask(
        http, call_id, "start_booking", {"customer_name": "\u202eMüller\u202c \u2067Anna\u2069"}
    )
    assert booked["status"] == "booked", booked["message"]
    (attendee,) = await attendees(sim, call_id)
    assert attendee["name"] == "Müller Anna"
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in attendee["name"])


async def test_a_name_of_only_control_characters_is_asked_again_and_the_hold_stays(http, sim):
    call_id = unique("bad-ctrl")
    held = await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0])
    answer = await ask(
        http, call_id, "start_booking", {"customer_name": "\u0000\u202e\u200b\u0007"}
    )
    assert answer["status"] == "invalid_input" and answer["booked"] is False
    assert "Namen" in answer["message"] and answer["message"].endswith("?")
    assert await attendees(sim, call_id) == []
    # Nothing was lost: the slot is still held and books once the name is heard.
    assert [r["reservationUid"] for r in (await sim.state())["reservations"]]
    again = await ask(http, call_id, "start_booking", {"customer_name": "Tom Weber"})
    assert again["status"] == "booked" and again["start"] == held["start"]


async def test_the_number_is_asked_for_only_when_the_agent_asks_again_and_none_is_left(http):
    args = {"customer_name": "12345", "customer_phone": "null eins fünf"}
    no_number = await ask(http, unique("bad-ask"), "start_booking", args, from_number="anonymous")
    assert no_number["status"] == "invalid_input"
    assert "Namen" in no_number["message"] and "Telefonnummer" in no_number["message"]
    callers_number = await ask(http, unique("bad-ask"), "start_booking", args)
    assert callers_number["status"] == "invalid_input"
    assert "Telefonnummer" not in callers_number["message"]


# ---------------------------------------------------------------- bodies
def _spaces(total: int, pulled: list[int], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes, produced only as the server reads them (counted in ``pulled``)."""
    sent = 0
    while sent < total:
        part = b" " * min(chunk, total - sent)
        sent += len(part)
        pulled.append(len(part))
        yield part


async def _async(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize("path", ["/retell/functions", "/retell/webhook", "/calcom/webhook"])
async def test_a_200_mb_unsigned_body_is_refused_413_without_being_read(http, path):
    limit = settings_for("any").api_max_body_bytes
    pulled: list[int] = []
    chunked = await http.post(path, content=_async(_spaces(200 * 1024 * 1024, pulled)))
    assert chunked.status_code == 413 and "larger than" in chunked.json()["detail"]
    assert sum(pulled) <= limit + 64 * 1024  # read up to the limit, not 200 MB
    pulled.clear()
    declared = await http.post(
        path,
        content=_async(_spaces(200 * 1024 * 1024, pulled)),
        headers={"Content-Length": str(200 * 1024 * 1024)},
    )
    assert declared.status_code == 413 and pulled == []  # refused before the first byte


async def test_deeply_nested_json_is_a_400_json_answer_not_a_500(http, sim):
    call_id = unique("bad-deep")
    nested: Any = "x"
    for _ in range(100):
        nested = {"a": nested}
    envelope = {
        "name": "check_availability",
        "args": {"service": "Föhnen", "date": "übermorgen", "time": "10 Uhr"},
        "call": {**call_obj(call_id), "metadata": nested},
    }
    response = await http.post("/retell/functions", **signed(envelope))
    assert response.status_code == 400 and "deeper than 32" in response.json()["detail"]
    hundred_thousand = '{"name":"check_availability","args":' + "[" * 100_000 + "]" * 100_000 + "}"
    response = await http.post("/retell/functions", **_signed_text(hundred_thousand))
    assert response.status_code == 400 and "deeper than 32" in response.json()["detail"]
    assert (await sim.state())["reservations"] == []  # nothing was held


async def test_a_repeated_function_name_is_refused_and_runs_neither(http, sim):
    call_id = unique("bad-dup")
    await hold(http, call_id, open_slots("Herrenhaarschnitt", 1)[0])
    call = json.dumps(call_obj(call_id))
    body = f'{{"name": "check_availability", "name": "cancel_hold", "args": {{}}, "call": {call}}}'
    response = await http.post("/retell/functions", **_signed_text(body))
    assert response.status_code == 400
    assert "duplicate key 'name'" in response.json()["detail"]
    # cancel_hold did not run: the caller's slot is still held.
    assert len((await sim.state())["reservations"]) == 1
    assert (await ask(http, call_id, "extend_hold", {}))["available"] is True


def _signed_text(body: str) -> dict[str, Any]:
    from retell.lib.webhook_auth import symmetric

    from tests.test_api import KEY

    return {
        "content": body.encode(),
        "headers": {"X-Retell-Signature": symmetric["sign"](body, KEY)},
    }


# ---------------------------------------------------------------- the booking horizon
@pytest.mark.parametrize("said", ["1.1.9999", "01.06.2099"])
async def test_a_day_far_ahead_is_too_far_ahead_and_nothing_is_held(http, sim, said):
    call_id = unique("bad-far")
    check = await ask(
        http, call_id, "check_availability", {"service": "Föhnen", "date": said, "time": "10:00"}
    )
    assert check["error"] == "too_far_ahead" and check["available"] is False
    assert check["hold_id"] is None and "im Voraus" in check["message"]
    one_shot = await ask(
        http,
        call_id,
        "start_booking",
        {"customer_name": "Eva Lang", "service": "Föhnen", "date": said, "time": "10:00"},
    )
    assert one_shot["status"] == "invalid_input" and one_shot["error"] == "too_far_ahead"
    state = await sim.state()
    assert state["reservations"] == [] and state["bookings"] == []


async def test_the_horizon_is_the_configured_number_of_days(stack, temporal_client, sim):
    settings = settings_for(stack.task_queue, booking_horizon_days=7)
    today = datetime.now(ZONE).date()
    inside = first_open_day_after(today + timedelta(days=2))
    outside = first_open_day_after(today + timedelta(days=8))
    opening = CATALOG.opening_hours.for_weekday(inside.weekday())
    assert opening is not None
    async with api(settings, temporal_client) as http:
        near = await ask(
            http,
            unique("bad-near"),
            "check_availability",
            {"service": "Föhnen", "date": said_date(inside), "time": f"{opening[0]:%H:%M}"},
        )
        far = await ask(
            http,
            unique("bad-horizon"),
            "check_availability",
            {"service": "Föhnen", "date": said_date(outside), "time": f"{opening[0]:%H:%M}"},
        )
    assert near["error"] is None and near["available"] is True
    assert far["error"] == "too_far_ahead"
    last = today + timedelta(days=7)
    assert f"bis {WEEKDAY_NAMES[last.weekday()]}, den {last.day}. " in far["message"]
