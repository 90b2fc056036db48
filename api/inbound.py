"""Retell's inbound call webhook: who is calling, before the call connects.

Retell waits for this answer while the caller hears ringing, and takes the call anyway
after a failure, so it is always 200 and fast: the lookup (a short workflow, see
``workflows/lookup.py``) gets ``INBOUND_BUDGET_SECONDS``, and any problem (Temporal slow
or down, a body that is not the expected shape, a withheld number) answers "unknown".
The answer carries Retell's dynamic variables, all strings; no customer data is logged.
"""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from api.gateway import CallGateway
from contracts.appointments import CallerKnown
from domain.phones import to_e164
from domain.wording import alternative_label
from observability.logging import get_logger

log = get_logger(__name__)

UNKNOWN: dict[str, str] = {
    "customer_known": "false",
    "customer_name": "",
    "next_appointment": "",
    "next_appointment_id": "",
}


def inbound_answer(variables: dict[str, str]) -> dict[str, Any]:
    """Retell's answer shape: ``{"call_inbound": {"dynamic_variables": {...}}}``."""
    return {"call_inbound": {"dynamic_variables": variables}}


def caller_number(payload: Any) -> str | None:
    """``call_inbound.from_number`` as sent, or None for any other shape."""
    if not isinstance(payload, dict):
        return None
    inbound = payload.get("call_inbound")
    if not isinstance(inbound, dict):
        return None
    number = inbound.get("from_number")
    return number if isinstance(number, str) else None


def variables_for(known: CallerKnown, zone: ZoneInfo) -> dict[str, str]:
    """The dynamic variables of a lookup's answer."""
    if not known.known:
        return dict(UNKNOWN)
    upcoming = known.next_appointment
    return {
        "customer_known": "true",
        "customer_name": known.customer_name or "",
        "next_appointment": (
            f"{upcoming.service}, {alternative_label(upcoming.start, zone)}" if upcoming else ""
        ),
        "next_appointment_id": upcoming.appointment_id if upcoming else "",
    }


class CallerRecognition:
    """Answers the inbound webhook from our appointment records (through Temporal)."""

    def __init__(self, gateway: CallGateway, *, budget_seconds: float, zone: ZoneInfo) -> None:
        self.gateway = gateway
        self.budget = budget_seconds
        self.zone = zone

    async def variables(self, payload: Any) -> tuple[dict[str, str], str]:
        """The dynamic variables for ``payload`` and the outcome for metrics
        (``known``, ``unknown``, ``no_number`` or ``error``)."""
        phone = to_e164(caller_number(payload), self.gateway.region)
        if phone is None:
            return dict(UNKNOWN), "no_number"
        try:
            known = await asyncio.wait_for(self.gateway.recognise(phone), self.budget)
        except Exception as exc:  # slow, unreachable or failing: the caller is unknown
            log.warning("caller lookup failed", error=type(exc).__name__)
            return dict(UNKNOWN), "error"
        return variables_for(known, self.zone), "known" if known.known else "unknown"
