"""Retell's inbound webhook never fails the call: always 200 with the unknown answer on
any problem, 401 only for a bad signature; and the German sentences about existing
appointments (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from retell.lib.webhook_auth import symmetric

from activities.appointments import greeting_name
from api.inbound import UNKNOWN, variables_for
from contracts.appointments import AppointmentView, CallerKnown
from domain.appointment_messages import (
    msg_appointments_found,
    msg_moved,
    msg_no_appointment,
    msg_too_late,
    msg_which_appointment,
)
from tests.harness import unique
from tests.test_api import KEY, OPS, api, settings_for, signed

ZONE = ZoneInfo("Europe/Berlin")
THURSDAY = datetime(2026, 11, 26, 9, 45, tzinfo=UTC)  # 10:45 in Berlin
FRIDAY = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 11:00
INBOUND = {
    "event": "call_inbound",
    "call_inbound": {"agent_id": "agent_1", "from_number": "+4915112345678", "to_number": "+49305"},
}


def unknown(answer: dict) -> bool:
    return bool(answer == {"call_inbound": {"dynamic_variables": UNKNOWN}})


async def test_a_bad_signature_is_refused_and_nothing_else_fails(temporal_client):
    async with api(settings_for(unique("inbound")), temporal_client) as http:
        body = json.dumps(INBOUND).encode()
        assert (await http.post("/retell/inbound", content=body)).status_code == 401
        wrong = signed(INBOUND, key="another-key")
        assert (await http.post("/retell/inbound", **wrong)).status_code == 401
        for payload in (
            {"event": "call_inbound"},
            {"event": "call_inbound", "call_inbound": {"from_number": "anonymous"}},
            {"event": "call_inbound", "call_inbound": {"from_number": 4915112345678}},
            [1, 2, 3],
        ):
            response = await http.post("/retell/inbound", **signed(payload))
            assert response.status_code == 200 and unknown(response.json()), payload
        broken = {"X-Retell-Signature": symmetric["sign"]("{oops", KEY)}
        response = await http.post("/retell/inbound", content=b"{oops", headers=broken)
        assert response.status_code == 200 and unknown(response.json())


async def test_temporal_unreachable_or_unserved_answers_unknown(temporal_client):
    down = settings_for("nowhere", temporal_address="127.0.0.1:1", inbound_budget_seconds=0.3)
    async with api(down, None) as http:
        response = await http.post("/retell/inbound", **signed(INBOUND))
        assert response.status_code == 200 and unknown(response.json())
    # A queue no worker serves: the lookup never runs within the budget.
    unserved = settings_for(unique("unserved"), inbound_budget_seconds=0.3)
    async with api(unserved, temporal_client) as http:
        response = await http.post("/retell/inbound", **signed(INBOUND))
        assert response.status_code == 200 and unknown(response.json())
        text = (await http.get("/metrics", headers=OPS)).text
        assert 'api_requests_total{function="inbound",outcome="error"}' in text


def view(start: datetime, service: str = "Dauerwelle") -> AppointmentView:
    return AppointmentView(
        appointment_id="apt_1", service=service, start=start, end=start, label="-", short_label="-"
    )


def test_the_dynamic_variables_are_strings_with_a_german_label():
    known = CallerKnown(
        known=True, customer_name="Frau Erika Mustermann", next_appointment=view(THURSDAY)
    )
    assert variables_for(known, ZONE) == {
        "customer_known": "true",
        "customer_name": "Frau Erika Mustermann",
        "next_appointment": "Dauerwelle, Donnerstag, 26. November, 10:45 Uhr",
        "next_appointment_id": "apt_1",
    }
    no_next = variables_for(CallerKnown(known=True, customer_name="Eva Weber"), ZONE)
    assert no_next["next_appointment"] == no_next["next_appointment_id"] == ""
    assert variables_for(CallerKnown(known=False), ZONE) == UNKNOWN


@pytest.mark.parametrize(
    ("name", "addressed", "greeting"),
    [
        ("Erika Mustermann", "Frau Mustermann", "Frau Erika Mustermann"),
        ("Hans Weiß", "Herr Dr. Weiß", "Herr Dr. Hans Weiß"),
        ("Jürgen Müller", "Jürgen Müller", "Jürgen Müller"),
        ("Jürgen Müller", None, "Jürgen Müller"),
    ],
)
def test_a_known_caller_is_greeted_with_salutation_and_whole_name(name, addressed, greeting):
    assert greeting_name(name, addressed) == greeting


def test_the_sentences_about_existing_appointments():
    one = msg_appointments_found([("Dauerwelle", THURSDAY)], ZONE)
    assert one == (
        "Ich sehe Ihren Termin für die Dauerwelle am Donnerstag, den 26. November, um 10:45 Uhr."
    )
    two = msg_appointments_found([("Dauerwelle", THURSDAY), ("Herrenhaarschnitt", FRIDAY)], ZONE)
    assert two.startswith("Ich sehe 2 Termine: die Dauerwelle") and "den Herrenhaarschnitt" in two
    assert "Welchen möchten Sie absagen?" in msg_which_appointment(
        [("Dauerwelle", THURSDAY), ("Föhnen", FRIDAY)], "cancel", ZONE
    )
    moved = msg_moved("Dauerwelle", THURSDAY, FRIDAY, ZONE)
    assert moved == (
        "Ich habe Ihren Termin verschoben: Die Dauerwelle ist jetzt am Freitag, den 27. "
        "November, um 11 Uhr statt am Donnerstag, den 26. November, um 10:45 Uhr. "
        "Der alte Termin ist abgesagt."
    )
    assert "24 Stunden vor Beginn" in msg_too_late(24, "cancel")
    assert "eine Stunde" in msg_too_late(1, "move") and "verschieben" in msg_too_late(1, "move")
    assert "30 Minuten" in msg_too_late(0.5, "cancel")
    for sentence in (msg_too_late(24, "cancel"), msg_too_late(2, "move")):
        assert "direkt im Salon an" in sentence
    # Nothing found: no hint whether the name or the day exists.
    assert "Namen" in msg_no_appointment(by_name=False)
    assert "anderen Namen" in msg_no_appointment(by_name=True)
