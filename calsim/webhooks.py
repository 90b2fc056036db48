"""BOOKING_* webhooks to the configured URL, signed like Cal.com signs them.

Sent fire-and-forget from background tasks; a failing receiver never affects the API
answer (Cal.com does not retry either).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from calcom import wire
from calcom.wire import utc_iso
from calsim.calendar import Calendar, SimBooking
from calsim.shapes import webhook_payload

log = logging.getLogger(__name__)
WEBHOOK_VERSION = "2021-10-20"


def signature(body: bytes, secret: str | None) -> str:
    """``X-Cal-Signature-256``: hex HMAC-SHA256 of the raw body, or the literal
    ``no-secret-provided`` when no secret is configured."""
    if not secret:
        return wire.NO_SECRET_SIGNATURE
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookTarget:
    url: str | None = None
    secret: str | None = None


@dataclass
class WebhookSender:
    """Posts triggers to ``target``; keeps its background tasks alive until sent."""

    calendar: Calendar
    target: WebhookTarget
    initial: WebhookTarget = field(default_factory=WebhookTarget)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self.initial = WebhookTarget(self.target.url, self.target.secret)

    def reset(self) -> None:
        self.target = WebhookTarget(self.initial.url, self.initial.secret)

    def created(self, booking: SimBooking) -> None:
        self._send("BOOKING_CREATED", webhook_payload(self.calendar, booking))

    def cancelled(self, booking: SimBooking) -> None:
        self._send("BOOKING_CANCELLED", webhook_payload(self.calendar, booking))

    def rescheduled(self, new: SimBooking, old: SimBooking) -> None:
        payload = webhook_payload(self.calendar, new)
        payload.update(
            rescheduleUid=old.uid,
            rescheduleId=old.id,
            rescheduleStartTime=utc_iso(old.start),
            rescheduleEndTime=utc_iso(old.end),
        )
        self._send("BOOKING_RESCHEDULED", payload)

    def _send(self, trigger: str, payload: dict[str, Any]) -> None:
        if not self.target.url:
            return
        body = json.dumps(
            {
                "triggerEvent": trigger,
                "createdAt": utc_iso(self.calendar.now()),
                "payload": payload,
            }
        ).encode()
        task = asyncio.create_task(self._post(self.target.url, body, self.target.secret))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: bytes, secret: str | None) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        headers = {
            "Content-Type": "application/json",
            wire.SIGNATURE_HEADER: signature(body, secret),
            wire.WEBHOOK_VERSION_HEADER: WEBHOOK_VERSION,
        }
        try:
            await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("webhook delivery failed: %s", type(exc).__name__)

    async def aclose(self) -> None:
        """Wait briefly for pending deliveries, then close the HTTP client."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2.0)
        if self._http is not None:
            await self._http.aclose()
