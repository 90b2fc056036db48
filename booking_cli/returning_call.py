"""``booking call --scenario reschedule|cancel``: a caller who already has an appointment.

First the usual scripted booking call; then a second call from the same number: Retell's
inbound webhook recognises the caller (the agent greets them by name), the agent finds the
appointment and moves it to the next day (``reschedule``) or cancels it (``cancel``).
Prints the dialogue, each tool's answer time and the second call's Temporal UI link.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from booking_cli.call import (
    CallScript,
    RetellLikeClient,
    _call_object,
    _function,
    _hang_up,
    _say,
    console,
    run_call,
)

Scenario = Literal["book", "reschedule", "cancel"]


def run_scenario(script: CallScript, scenario: Scenario) -> int:
    """Run ``scenario``; 0 when every step did what the caller wanted."""
    booked = run_call(script)
    if scenario == "book" or booked != 0:
        return booked
    console.rule("[bold]Ein paar Tage später: derselbe Anrufer ruft wieder an[/]")
    return _returning_call(script, scenario)


def _inbound(client: RetellLikeClient, phone: str) -> dict[str, str]:
    with console.status("[dim]inbound webhook ...[/]", spinner="dots"):
        started = time.monotonic()
        response = client.post(
            "/retell/inbound",
            {
                "event": "call_inbound",
                "call_inbound": {
                    "agent_id": "agent_demo_salon",
                    "from_number": phone,
                    "to_number": "+4930555000",
                },
            },
        )
        elapsed = time.monotonic() - started
    response.raise_for_status()
    console.print(f"[dim]  inbound webhook answered in {elapsed * 1000:.0f} ms[/]")
    variables: dict[str, str] = response.json()["call_inbound"]["dynamic_variables"]
    return variables


def _returning_call(script: CallScript, scenario: Scenario) -> int:
    call_id = f"call_demo_{uuid.uuid4().hex[:12]}"
    client = RetellLikeClient(script.api_url, script.retell_api_key)
    call = _call_object(call_id, script.phone)
    try:
        known = _inbound(client, script.phone)
        client.post("/retell/webhook", {"event": "call_started", "call": call}).raise_for_status()
        if known.get("customer_known") == "true":
            _say("Agent", f"Salon Haarmonie, guten Tag! Spreche ich mit {known['customer_name']}?")
            _say("Anrufer", "Ja, genau.")
        else:
            _say("Agent", "Salon Haarmonie, guten Tag! Was darf ich für Sie tun?")
        verb = "verschieben" if scenario == "reschedule" else "absagen"
        _say("Anrufer", f"Ich möchte meinen Termin {verb}.")
        found = _function(client, call, "find_appointments", {})
        _say("Agent", found["message"])
        if not found.get("appointments"):
            return _hang_up(client, call, call_id, script, booked=False, done="found")
        appointment = found["appointments"][0]
        _say("Anrufer", "Ja, den meine ich.")
        if scenario == "cancel":
            return _cancel(client, call, call_id, script, appointment)
        return _move(client, call, call_id, script, appointment)
    finally:
        client.close()


def _cancel(
    client: RetellLikeClient, call: dict, call_id: str, script: CallScript, appointment: dict
) -> int:
    answer = _function(
        client, call, "cancel_appointment", {"appointment_id": appointment["appointment_id"]}
    )
    while answer.get("status") == "pending":
        _say("Agent", answer["message"])
        time.sleep(1.0)
        answer = _function(
            client, call, "cancel_appointment", {"appointment_id": appointment["appointment_id"]}
        )
    _say("Agent", answer["message"])
    cancelled = bool(answer.get("cancelled"))
    return _hang_up(client, call, call_id, script, booked=cancelled, done="cancelled")


def _move(
    client: RetellLikeClient, call: dict, call_id: str, script: CallScript, appointment: dict
) -> int:
    zone = ZoneInfo(script.time_zone)
    new = datetime.fromisoformat(appointment["start"]).astimezone(zone) + timedelta(days=1)
    _say("Anrufer", "Geht es einen Tag später, zur gleichen Uhrzeit?")
    args: dict[str, Any] = {
        "appointment_id": appointment["appointment_id"],
        "date": f"{new.day}.{new.month}.{new.year}",
        "time": f"{new:%H:%M}",
    }
    check = _function(client, call, "check_availability", args)
    _say("Agent", check["message"])
    if not check.get("available"):
        alternatives = check.get("alternatives") or []
        if not alternatives:
            return _hang_up(client, call, call_id, script, booked=False, done="moved")
        choice = datetime.fromisoformat(alternatives[0]["start"]).astimezone(zone)
        _say("Anrufer", f"Dann nehme ich {alternatives[0]['label']}.")
        args.update(date=f"{choice.day}.{choice.month}.{choice.year}", time=f"{choice:%H:%M}")
        check = _function(client, call, "check_availability", args)
        _say("Agent", check["message"])
        if not check.get("available"):
            return _hang_up(client, call, call_id, script, booked=False, done="moved")
    _say("Anrufer", "Ja, bitte verschieben Sie ihn.")
    moved = _function(
        client, call, "reschedule_appointment", {"appointment_id": appointment["appointment_id"]}
    )
    while moved.get("status") == "pending":
        _say("Agent", moved["message"])
        time.sleep(1.0)
        moved = _function(client, call, "booking_status", {})
    _say("Agent", moved["message"])
    return _hang_up(client, call, call_id, script, booked=bool(moved.get("booked")), done="moved")
