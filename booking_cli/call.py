"""``booking call``: a realistic scripted Retell call against a running API.

It signs every request the way Retell does (``X-Retell-Signature`` over the raw body),
sends ``call_started``, ``check_availability`` (with a stylist when ``--stylist`` names
one), pauses while the caller "spells the name", ``start_booking`` and ``call_ended``, and
prints the dialogue, the outcome and the workflow's Temporal UI link. ``--conflict`` lets
someone else book the slot (with the same stylist) meanwhile, through the simulator:
``page`` as Cal.com's booking page does (our reservation keeps it away), ``api`` blind
through the API (the hold is lost; the agent offers alternatives).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
from retell.lib.webhook_auth import symmetric
from rich.console import Console
from rich.panel import Panel

console = Console()
Conflict = Literal["none", "page", "api"]


@dataclass(frozen=True)
class CallScript:
    api_url: str
    retell_api_key: str
    service: str = "Dauerwelle"
    date: str = "übermorgen"
    time: str = "10:45"
    stylist: str | None = None  # as the caller says it ("bei Ben"); None: anyone
    name: str = "Jürgen Müller"
    phone: str = "+4915112345678"
    think_seconds: float = 2.0
    conflict: Conflict = "none"
    calsim_url: str | None = None
    temporal_ui: str = "http://localhost:8233"
    namespace: str = "default"
    time_zone: str = "Europe/Berlin"  # the salon's: times are said in it
    ops_token: str | None = None  # reads the call's state from GET /calls/{id} at the end


class RetellLikeClient:
    """Posts JSON signed like Retell: ``v=<ms>,d=hex(HMAC-SHA256(key, body + ms))``."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=15.0)
        self._key = api_key

    def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        signature = symmetric["sign"](body, self._key)
        return self._http.post(
            path,
            content=body.encode("utf-8"),
            headers={"Content-Type": "application/json", "X-Retell-Signature": signature},
        )

    def call_state(self, call_id: str, ops_token: str) -> httpx.Response:
        """``GET /calls/{call_id}`` with ``Authorization: Bearer <OPS_TOKEN>``."""
        return self._http.get(
            f"/calls/{quote(call_id)}", headers={"Authorization": f"Bearer {ops_token}"}
        )

    def close(self) -> None:
        self._http.close()


def _call_object(call_id: str, phone: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "agent_id": "agent_demo_salon",
        "call_type": "phone_call",
        "call_status": "ongoing",
        "direction": "inbound",
        "from_number": phone,
        "to_number": "+4930555000",
        "start_timestamp": int(time.time() * 1000),
        "metadata": {},
        "retell_llm_dynamic_variables": {},
    }


def _say(who: str, text: str) -> None:
    style = "bold cyan" if who == "Agent" else "bold green"
    console.print(f"[{style}]{who}:[/] {text}")


def _function(client: RetellLikeClient, call: dict, name: str, args: dict) -> dict[str, Any]:
    call = {
        **call,
        "transcript_with_tool_calls": [
            {
                "role": "tool_call_invocation",
                "tool_call_id": uuid.uuid4().hex,
                "name": name,
                "arguments": json.dumps(args, ensure_ascii=False),
            }
        ],
    }
    with console.status(f"[dim]{name} ...[/]", spinner="dots"):
        started = time.monotonic()
        response = client.post("/retell/functions", {"name": name, "args": args, "call": call})
        elapsed = time.monotonic() - started
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    console.print(f"[dim]  {name} answered in {elapsed * 1000:.0f} ms[/]")
    return answer


def _print_state(client: RetellLikeClient, call_id: str, ops_token: str | None) -> None:
    """The workflow's own view of the call, as on-call would read it (needs OPS_TOKEN)."""
    if not ops_token:
        console.print("[dim]no OPS_TOKEN: not reading GET /calls/{id}[/]")
        return
    response = client.call_state(call_id, ops_token)
    if response.status_code != 200:
        console.print(f"[yellow]GET /calls/{call_id}: {response.status_code}[/]")
        return
    state = response.json()
    console.print(
        f"Call state (GET /calls/{call_id}): {state.get('status')}, "
        f"appointment {state.get('appointment_id') or '-'}, "
        f"stylist {state.get('stylist') or '-'}",
        soft_wrap=True,
    )


def _book_elsewhere(script: CallScript, start: str, service: str, stylist: str | None) -> None:
    """Someone else takes the slot (with the same stylist, named ``stylist``) through
    Cal.com (the simulator's booking page or API)."""
    if not script.calsim_url:
        console.print("[yellow]no simulator URL: skipping the conflict[/]")
        return
    from config.settings import get_settings
    from domain.catalog import load_catalog
    from domain.service_lookup import find_service

    catalog = load_catalog(get_settings().catalog_path)
    found = find_service(catalog, service)
    if found is None:
        console.print("[yellow]unknown service: skipping the conflict[/]")
        return
    key = next((s.key for s in catalog.stylists if s.name == stylist), found.stylists[0])
    seg = found.staffed_segments[0]
    response = httpx.post(
        f"{script.calsim_url}/_sim/outside-booking",
        json={
            "event_type_id": seg.hosts.get(key, seg.hosts[found.stylists[0]]),
            "start": start,
            "respect_reservations": script.conflict == "page",
            "name": "Web-Kundin",
        },
        timeout=10,
    )
    verdict = "refused (our hold protects the slot)" if response.status_code >= 400 else "booked"
    console.print(f"[magenta]Meanwhile a web customer tries to book the slot ... {verdict}[/]")


def run_call(script: CallScript) -> int:
    """Run the scripted call; 0 when an appointment was booked."""
    call_id = f"call_demo_{uuid.uuid4().hex[:12]}"
    client = RetellLikeClient(script.api_url, script.retell_api_key)
    call = _call_object(call_id, script.phone)
    try:
        client.post("/retell/webhook", {"event": "call_started", "call": call}).raise_for_status()
        _say("Agent", "Salon Haarmonie, guten Tag! Was darf ich für Sie tun?")
        with_whom = f" bei {script.stylist}" if script.stylist else ""
        _say(
            "Anrufer",
            f"Ich hätte gern eine {script.service}{with_whom}, {script.date} um {script.time}.",
        )
        wanted = {"service": script.service, "date": script.date, "time": script.time}
        if script.stylist:
            wanted["stylist"] = script.stylist
        check = _function(client, call, "check_availability", wanted)
        _say("Agent", check["message"])
        if not check.get("available"):
            alternatives = check.get("alternatives") or []
            if not alternatives:
                return _hang_up(client, call, call_id, script, booked=False)
            choice = alternatives[0]
            who = f" bei {choice['stylist']}" if choice.get("stylist") else ""
            _say("Anrufer", f"Dann nehme ich {choice['label']}{who}.")
            picked = {"service": script.service, "date": choice["start"], "time": choice["start"]}
            if choice.get("stylist"):
                picked["stylist"] = choice["stylist"]
            check = _function(client, call, "check_availability", picked)
            _say("Agent", check["message"])
            if not check.get("available"):
                return _hang_up(client, call, call_id, script, booked=False)
        _say("Agent", "Auf welchen Namen darf ich den Termin eintragen?")
        if script.conflict != "none" and check.get("start"):
            _book_elsewhere(script, check["start"], script.service, check.get("stylist"))
        with console.status("[dim]Anrufer buchstabiert den Namen ...[/]", spinner="dots"):
            time.sleep(script.think_seconds)
        _say("Anrufer", script.name)
        booking = _function(client, call, "start_booking", {"customer_name": script.name})
        while booking.get("status") == "pending":
            _say("Agent", booking["message"])
            time.sleep(1.0)
            booking = _function(client, call, "booking_status", {})
        _say("Agent", booking["message"])
        return _hang_up(client, call, call_id, script, booked=bool(booking.get("booked")))
    finally:
        client.close()


def _hang_up(
    client: RetellLikeClient,
    call: dict,
    call_id: str,
    script: CallScript,
    *,
    booked: bool,
    done: str = "booked",
) -> int:
    """End the call; ``booked``: the call did what the caller wanted (``done`` says what)."""
    _say("Agent", "Vielen Dank für Ihren Anruf, auf Wiederhören!")
    ended = {
        **call,
        "call_status": "ended",
        "end_timestamp": int(time.time() * 1000),
        "disconnection_reason": "agent_hangup",
    }
    client.post("/retell/webhook", {"event": "call_ended", "call": ended}).raise_for_status()
    link = (
        f"{script.temporal_ui}/namespaces/{script.namespace}/workflows/{quote('call-' + call_id)}"
    )
    outcome = f"[green]{done}[/]" if booked else f"[yellow]not {done}[/]"
    console.print(Panel(f"Outcome: {outcome}", title=f"call {call_id}"))
    _print_state(client, call_id, script.ops_token)
    console.print(f"Temporal UI: {link}", soft_wrap=True)  # one line: stays clickable
    return 0 if booked else 1
