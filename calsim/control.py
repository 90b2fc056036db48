"""Async client of the simulator's ``/_sim`` controls (tests, demos, benchmarks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from calcom.wire import utc_iso


class SimControlError(RuntimeError):
    """A control request was refused; ``status`` and ``body`` tell why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class SimControl:
    """Drive a running simulator.

    Args:
        base_url: the simulator's base URL (``SimulatorServer.url``).
        timeout: seconds per control request.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout) as http:
            response = await http.request(method, f"/_sim{path}", json=json)
        body = response.json() if response.content else None
        if response.is_error:
            raise SimControlError(response.status_code, body)
        return body

    async def set_latency(self, endpoint: str, seconds: float) -> None:
        """Delay every request to ``endpoint`` (templated path or ``*``); 0 removes it."""
        await self._call("POST", "/latency", {"endpoint": endpoint, "seconds": seconds})

    async def add_fault(
        self,
        endpoint: str,
        kind: str,
        *,
        times: int | None = None,
        event_type_id: int | None = None,
        probability: float | None = None,
    ) -> None:
        """Inject a fault: ``500``, ``429``, ``timeout``, ``lost_response`` or ``reject``.

        Args:
            endpoint: templated path (``/v2/bookings``) or ``*``, optionally with a method
                (``POST /v2/bookings``).
            kind: what happens to a matching request.
            times: how many requests it hits (None: all).
            event_type_id: only requests for this event type.
            probability: hit a matching request with this probability (None: always).
        """
        await self._call(
            "POST",
            "/faults",
            {
                "endpoint": endpoint,
                "kind": kind,
                "times": times,
                "event_type_id": event_type_id,
                "probability": probability,
            },
        )

    async def clear_faults(self) -> None:
        """Remove every injected fault."""
        await self._call("DELETE", "/faults")

    async def outside_booking(
        self,
        event_type_id: int,
        start: datetime,
        *,
        respect_reservations: bool = True,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Book as someone outside our system would; returns the booking (Cal.com shape).

        Raises:
            SimControlError: 409 (reserved, when respecting reservations) or 400 (booked).
        """
        body: dict[str, Any] = {
            "event_type_id": event_type_id,
            "start": utc_iso(start),
            "respect_reservations": respect_reservations,
        }
        if name:
            body["name"] = name
        answer: dict[str, Any] = (await self._call("POST", "/outside-booking", body))["data"]
        return answer

    async def state(self) -> dict[str, Any]:
        """``{"bookings": [...], "reservations": [...], "request_count": int, ...}``."""
        result: dict[str, Any] = await self._call("GET", "/state")
        return result

    async def reset(self) -> None:
        """Empty the simulator (bookings, reservations, faults, latency, counters, clock)
        and put every event type back to its starting settings."""
        await self._call("POST", "/reset")

    async def configure_webhook(self, url: str | None, secret: str | None = None) -> None:
        """Send BOOKING_* webhooks to ``url`` (None stops them), signed with ``secret``."""
        await self._call("POST", "/webhook", {"url": url, "secret": secret})

    async def traffic(self, window: float = 60.0) -> dict[str, Any]:
        """``{"request_count", "rate_limited", "busiest_window", ...}``: requests so far,
        those refused with 429, and the most within any ``window`` seconds."""
        result: dict[str, Any] = await self._call("GET", f"/traffic?window={window}")
        return result

    async def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward by ``seconds``."""
        await self._call("POST", "/clock", {"advance_seconds": seconds})

    async def event_types(self) -> list[dict[str, Any]]:
        """Every event type: ``id``, ``slug``, ``host``, ``lengthInMinutes``,
        ``slotInterval`` (None: the length), ``minimumBookingNotice``,
        ``beforeEventBuffer``, ``afterEventBuffer`` (minutes)."""
        answer: list[dict[str, Any]] = (await self._call("GET", "/event-types"))["event_types"]
        return answer

    async def set_event_type(
        self,
        event_type_id: int,
        *,
        slot_interval: int | None = None,
        minimum_booking_notice: int | None = None,
        before_event_buffer: int | None = None,
        after_event_buffer: int | None = None,
    ) -> dict[str, Any]:
        """Change Cal.com settings of one event type until the next :meth:`reset`.

        Arguments left at None stay as they are; ``slot_interval=0`` goes back to the
        default (the event's length), as Cal.com treats 0 like null. Returns the event
        type as :meth:`event_types` lists it.

        Raises:
            SimControlError: 404 for an unknown event type, 400 for a negative value.
        """
        body = _settings_body(
            slot_interval, minimum_booking_notice, before_event_buffer, after_event_buffer
        )
        answer: dict[str, Any] = await self._call("PATCH", f"/event-types/{event_type_id}", body)
        return answer

    async def set_all_event_types(
        self,
        *,
        slot_interval: int | None = None,
        minimum_booking_notice: int | None = None,
        before_event_buffer: int | None = None,
        after_event_buffer: int | None = None,
    ) -> None:
        """Like :meth:`set_event_type`, for every event type at once (e.g.
        ``minimum_booking_notice=0`` to book close to now)."""
        body = _settings_body(
            slot_interval, minimum_booking_notice, before_event_buffer, after_event_buffer
        )
        await self._call("PATCH", "/event-types", body)


def _settings_body(
    slot_interval: int | None,
    minimum_booking_notice: int | None,
    before_event_buffer: int | None,
    after_event_buffer: int | None,
) -> dict[str, int]:
    given = {
        "slotInterval": slot_interval,
        "minimumBookingNotice": minimum_booking_notice,
        "beforeEventBuffer": before_event_buffer,
        "afterEventBuffer": after_event_buffer,
    }
    return {k: v for k, v in given.items() if v is not None}
