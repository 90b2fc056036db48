"""The Retell function-call envelope: what arrives, checked and named before anything is
understood. Pure: no Temporal, no German.

- :func:`parse_envelope` turns the signed JSON into a :class:`FunctionCall` (422 material
  as :class:`EnvelopeError`),
- :func:`request_id` names a delivery for de-duplication (Retell's ``tool_call_id``, else
  the same arguments within a short window),
- ``_text`` reads one string argument under any of its names.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FUNCTIONS = (
    "check_availability",
    "start_booking",
    "extend_hold",
    "cancel_hold",
    "booking_status",
    # existing appointments (api/appointments.py)
    "find_appointments",
    "cancel_appointment",
    "reschedule_appointment",
)
# How long the API waits beyond the workflow's own budget before answering "pending".
MAX_MARGIN_SECONDS = 1.0
# Without a tool_call_id, the same function with the same arguments within this window is
# the same delivery.
SAME_DELIVERY_WINDOW_SECONDS = 20

MAX_ID_LENGTH = 200


class EnvelopeError(ValueError):
    """The request is not a usable Retell function call (answered 422)."""


@dataclass(frozen=True)
class FunctionCall:
    name: str
    args: dict[str, Any]
    call_id: str
    from_number: str | None
    agent_id: str | None
    tool_call_id: str | None


def parse_envelope(payload: Any) -> FunctionCall:
    """``{name, args, call}`` as Retell sends it with the full envelope."""
    if not isinstance(payload, dict):
        raise EnvelopeError("the body must be a JSON object {name, args, call}")
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise EnvelopeError("missing function 'name'")
    if name not in FUNCTIONS:
        raise EnvelopeError(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}")
    args = payload.get("args")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise EnvelopeError("'args' must be a JSON object")
    call = payload.get("call")
    if not isinstance(call, dict):
        raise EnvelopeError(
            "missing 'call': configure the Retell tool to send the full envelope, not 'args only'"
        )
    call_id = call_id_of(call)
    if call_id is None:
        raise EnvelopeError("missing or invalid 'call.call_id'")
    from_number = call.get("from_number")
    return FunctionCall(
        name=name,
        args=args,
        call_id=call_id,
        from_number=from_number if isinstance(from_number, str) else None,
        agent_id=_printable(call.get("agent_id")),
        tool_call_id=_tool_call_id(call, name),
    )


def _printable(value: Any) -> str | None:
    """``value`` when it is a usable identifier: a string of printable characters (no
    control, format or surrogate characters), at most :data:`MAX_ID_LENGTH` long."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        return None
    return value


def call_id_of(call: dict[str, Any]) -> str | None:
    """The call's ``call_id`` if usable: it names the workflow and is stored with every
    hold and appointment, so a NUL or an invisible character in it is refused."""
    return _printable(call.get("call_id"))


def _tool_call_id(call: dict[str, Any], name: str) -> str | None:
    """The current invocation's id: the last tool call of this name in the transcript."""
    items = call.get("transcript_with_tool_calls")
    if not isinstance(items, list):
        return None
    for item in reversed(items):
        if (
            isinstance(item, dict)
            and item.get("role") == "tool_call_invocation"
            and item.get("name") == name
        ):
            return _printable(item.get("tool_call_id"))
    return None


# Without a tool_call_id, a repeat of these with the same arguments is taken for a
# duplicate delivery. A repeated extend_hold or cancel_hold may be meant (and costs at most
# one bounded extension); booking_status and find_appointments only read.
DEDUPE_BY_ARGS = (
    "check_availability",
    "start_booking",
    "cancel_appointment",
    "reschedule_appointment",
)


def request_id(fc: FunctionCall, now: float | None = None) -> str | None:
    """Retell's tool_call_id when present, else (for state-changing functions) name +
    arguments within a short window; None: every delivery is new."""
    if fc.tool_call_id:
        return f"tc:{fc.tool_call_id}"
    if fc.name not in DEDUPE_BY_ARGS:
        return None
    canonical = json.dumps(fc.args, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{fc.name}\n{canonical}".encode()).hexdigest()[:20]
    bucket = int((now if now is not None else time.time()) // SAME_DELIVERY_WINDOW_SECONDS)
    return f"args:{digest}:{bucket}"


def _text(args: dict[str, Any], *names: str, limit: int = 200) -> str | None:
    """The first of ``names`` given as text (numbers as their digits), at most ``limit``
    characters."""
    for name in names:
        value = args.get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return str(value)[:limit]
        if isinstance(value, str) and value.strip():
            return value.strip()[:limit]
    return None


def _wait(budget: float) -> float:
    """The workflow answers within ``budget``; the API allows a little more for the trip."""
    return budget + min(MAX_MARGIN_SECONDS, budget / 2)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None
