"""Stylists through the Retell-facing API, on real parts (FastAPI, Temporal, a worker,
PostgreSQL, the Cal.com simulator): what the agent is told and what ends up booked."""

from __future__ import annotations

from datetime import datetime

from tests.harness import next_open_day, unique
from tests.test_api import fn, german_date


def cut_at(day: datetime, **more: str) -> dict[str, str]:
    return {"service": "Herrenhaarschnitt", "date": german_date(day), "time": "10 Uhr", **more}


async def test_an_unknown_stylist_is_told_who_works_here_and_nothing_is_held(http, sim):
    answer = await fn(
        http, unique("api-unknown"), "check_availability", cut_at(next_open_day(), stylist="Bernd")
    )

    assert answer["error"] == "unknown_stylist" and answer["available"] is False
    assert answer["stylist"] is None and answer["hold_id"] is None
    assert "Anna, Ben und Carla" in answer["message"]
    assert "Anna und Carla" in answer["message"]  # who cuts men's hair
    assert (await sim.state())["reservations"] == []


async def test_the_asked_for_stylist_is_held_and_named(http, sim):
    answer = await fn(
        http,
        unique("api-anni"),
        "check_availability",
        cut_at(next_open_day(hour=10), friseur="bei der Carli oder Karla"),
    )

    assert answer["available"] is True and answer["stylist"] == "Carla"
    assert "Herrenhaarschnitt bei Carla ist" in answer["message"]
    assert [r["eventTypeId"] for r in (await sim.state())["reservations"]] == [1101]


async def test_a_taken_stylist_hears_who_else_has_time_then_and_can_take_it(http, sim):
    day = next_open_day(hour=10)
    first = await fn(http, unique("api-a"), "check_availability", cut_at(day, stylist="egal"))
    assert first["available"] and first["stylist"] == "Anna"

    call_id = unique("api-b")
    taken = await fn(http, call_id, "check_availability", cut_at(day, stylist="die Anni"))

    assert taken["available"] is False and taken["error"] is None
    instead = taken["alternatives"][0]
    assert instead["stylist"] == "Carla" and datetime.fromisoformat(instead["start"]) == day
    assert taken["message"].startswith("Bei Anna ist ")
    assert "leider schon vergeben, aber Carla hätte um 10 Uhr Zeit." in taken["message"]
    assert all(a["stylist"] == "Anna" for a in taken["alternatives"][1:])

    # The caller takes Carla at 10, as the agent offers it.
    took = await fn(
        http,
        call_id,
        "check_availability",
        {**cut_at(day), "stylist": instead["stylist"]},
    )
    assert took["available"] and took["stylist"] == "Carla"
    booked = await fn(http, call_id, "start_booking", {"customer_name": "Eva Lang"})
    assert booked["booked"] and booked["stylist"] == "Carla"
    assert "bei Carla" in booked["message"]


async def test_a_stylist_who_does_not_do_the_service_hears_who_does(http, sim):
    day = next_open_day(hour=10)
    answer = await fn(http, unique("api-ben"), "check_availability", cut_at(day, stylist="Ben"))

    assert answer["available"] is False and answer["error"] is None
    assert "Den Herrenhaarschnitt machen bei uns Anna und Carla, nicht Ben." in answer["message"]
    first = answer["alternatives"][0]
    assert first["stylist"] == "Anna" and datetime.fromisoformat(first["start"]) == day
    assert (await sim.state())["reservations"] == []


async def test_the_one_shot_booking_takes_the_stylist_too(http, sim):
    day = next_open_day(hour=12)
    answer = await fn(
        http,
        unique("api-oneshot"),
        "start_booking",
        {"customer_name": "Eva Lang", **cut_at(day, time="12 Uhr", stylist="Carla")},
    )

    assert answer["booked"] is True and answer["stylist"] == "Carla"
    assert "Herrenhaarschnitt bei Carla" in answer["message"]
    accepted = [b for b in (await sim.state())["bookings"] if b["status"] == "accepted"]
    assert [b["eventTypeId"] for b in accepted] == [1101]

    unknown = await fn(
        http,
        unique("api-oneshot-unknown"),
        "start_booking",
        {"customer_name": "Eva Lang", **cut_at(day, stylist="Bernd")},
    )
    assert unknown["status"] == "invalid_input" and unknown["error"] == "unknown_stylist"
    assert unknown["stylist"] is None and "Anna, Ben und Carla" in unknown["message"]
