"""The Cal.com v2 client used by the activities (one instance per worker process).

Every call is one HTTP request (``find_booking_by_metadata`` pages; ``cancel_booking``
may confirm with a GET), over one pooled ``httpx2.AsyncClient``, each taken first from the
shared request budget when one is given (:mod:`calcom.budget`: all processes together
stay within Cal.com's per-key limit). Failures become the typed errors of
:mod:`calcom.errors`. Neither the API key nor attendee phone numbers are
ever logged: log lines carry the templated path, status and duration only.
"""

from __future__ import annotations

import time
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import ValidationError

from calcom import wire
from calcom.budget import Priority, SharedBudget
from calcom.errors import (
    CalcomError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    error_from_response,
)
from calcom.metrics import CALCOM_REQUEST_SECONDS
from calcom.models import Booking, BookingRequest, Reservation, SlotRange
from observability.logging import get_logger

log = get_logger(__name__)

DEFAULT_TIMEOUT = httpx2.Timeout(8.0, connect=2.0, pool=2.0)
DEFAULT_LIMITS = httpx2.Limits(max_connections=64, max_keepalive_connections=32)
_PAGE_SIZE = 100

SLOTS = "/v2/slots"
RESERVATIONS = "/v2/slots/reservations"
RESERVATION = "/v2/slots/reservations/{uid}"
BOOKINGS = "/v2/bookings"
BOOKING = "/v2/bookings/{uid}"
BOOKING_CANCEL = "/v2/bookings/{uid}/cancel"

# Checks and holds answer a caller who is listening: they wait only briefly for budget.
# Everything else books, undoes a booking or frees time: it waits (calcom/budget.py).
_CALLER_REQUESTS = frozenset(
    {("GET", SLOTS), ("POST", RESERVATIONS), ("PATCH", RESERVATION), ("GET", RESERVATION)}
)


def priority_of(method: str, endpoint: str) -> Priority:
    """How long a request may wait for the shared budget."""
    return Priority.CALLER if (method, endpoint) in _CALLER_REQUESTS else Priority.BOOKING


class CalcomClient:
    """Async Cal.com API v2 client.

    Args:
        base_url: e.g. ``https://api.cal.com`` or a simulator's URL (no ``/v2``).
        api_key: Bearer key (``cal_...``); None sends no Authorization header.
        timeout: connect/read/write/pool timeouts (default: 2 s connect, 8 s read).
        transport: an httpx2 transport (tests, proxies); default is httpx2's own.
        budget: the request budget shared with every other process using this API key;
            None sends without one (Cal.com's 429 answers are then the only limit).

    Attributes:
        request_count: HTTP requests sent so far (benchmarks count them per booking).
        page_size: ``take`` of each ``GET /v2/bookings`` page (at most 250).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: httpx2.Timeout | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        budget: SharedBudget | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx2.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout or DEFAULT_TIMEOUT,
            limits=DEFAULT_LIMITS,
            transport=transport,
        )
        self.request_count = 0
        self.page_size = _PAGE_SIZE
        self._budget = budget

    async def __aenter__(self) -> CalcomClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # ------------------------------------------------------------------ transport
    async def _request(
        self,
        method: str,
        endpoint: str,
        *,
        version: str,
        uid: str | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request; return the decoded success envelope or raise a CalcomError.

        Raises:
            RateBudgetExhaustedError: the shared budget had nothing left in time (nothing
                was sent).
        """
        path = endpoint.format(uid=_path_segment(uid)) if uid is not None else endpoint
        if self._budget is not None:
            await self._budget.acquire(priority_of(method, endpoint))
        self.request_count += 1
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, path, params=params, json=json, headers={wire.VERSION_HEADER: version}
            )
        except httpx2.TimeoutException as exc:
            self._observe(endpoint, "error", started)
            raise TransientError(f"timeout: {type(exc).__name__}") from exc
        except httpx2.TransportError as exc:
            self._observe(endpoint, "error", started)
            raise TransientError(f"connection failed: {type(exc).__name__}") from exc
        self._observe(endpoint, str(response.status_code), started)
        if response.is_error:
            error = error_from_response(
                response,
                reserving=(method, endpoint) in (("POST", RESERVATIONS), ("PATCH", RESERVATION)),
            )
            log.info(
                "cal.com request failed",
                endpoint=endpoint,
                status=response.status_code,
                error_type=error.error_type,
            )
            raise error
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError("answer is not JSON", status=response.status_code) from exc
        if not isinstance(body, dict):
            raise TransientError("answer is not a JSON object", status=response.status_code)
        return body

    def _observe(self, endpoint: str, status: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        CALCOM_REQUEST_SECONDS.labels(endpoint=endpoint, status=status).observe(elapsed)
        log.debug("cal.com request", endpoint=endpoint, status=status, seconds=round(elapsed, 3))

    # ------------------------------------------------------------------ slots
    async def get_slots(
        self, event_type_id: int, start: datetime, end: datetime, time_zone: str
    ) -> list[SlotRange]:
        """Bookable slots of an event type whose start lies in ``[start, end]``.

        Slot times come back in ``time_zone`` (IANA), sorted by start.
        """
        body = await self._request(
            "GET",
            SLOTS,
            version=wire.SLOTS_VERSION,
            params={
                "eventTypeId": event_type_id,
                "start": wire.utc_iso(start),
                "end": wire.utc_iso(end),
                "timeZone": time_zone,
                "format": "range",
            },
        )
        days = body.get("data") or {}
        try:
            slots = [SlotRange.model_validate(s) for day in days.values() for s in day]
        except (ValidationError, AttributeError, TypeError) as exc:
            raise InvalidRequestError("unexpected shape of /v2/slots answer") from exc
        return sorted(slots, key=lambda s: s.start)

    async def reserve_slot(
        self,
        event_type_id: int,
        slot_start: datetime,
        slot_duration: int,
        reservation_minutes: int = 2,
    ) -> Reservation:
        """Reserve a slot for ``reservation_minutes`` whole minutes.

        Raises:
            SlotUnavailableError: 422, the slot is already booked or reserved.
        """
        body = await self._request(
            "POST",
            RESERVATIONS,
            version=wire.SLOTS_VERSION,
            json=_reservation_body(event_type_id, slot_start, slot_duration, reservation_minutes),
        )
        return _reservation(body)

    async def extend_reservation(
        self,
        uid: str,
        event_type_id: int,
        slot_start: datetime,
        slot_duration: int,
        reservation_minutes: int = 2,
    ) -> Reservation:
        """Keep a reservation alive for ``reservation_minutes`` from now.

        Raises:
            NotFoundError: the reservation is gone (expired, released or consumed).
        """
        body = await self._request(
            "PATCH",
            RESERVATION,
            uid=uid,
            version=wire.SLOTS_VERSION,
            json=_reservation_body(event_type_id, slot_start, slot_duration, reservation_minutes),
        )
        return _reservation(body)

    async def get_reservation(self, uid: str) -> Reservation | None:
        """The active reservation, or None when Cal.com no longer knows it."""
        try:
            body = await self._request("GET", RESERVATION, uid=uid, version=wire.SLOTS_VERSION)
        except NotFoundError:
            return None
        if body.get("data") is None:
            return None
        return _reservation(body)

    async def release_reservation(self, uid: str) -> None:
        """Delete a reservation; one that is already gone counts as released."""
        try:
            await self._request("DELETE", RESERVATION, uid=uid, version=wire.SLOTS_VERSION)
        except NotFoundError:
            return

    # ------------------------------------------------------------------ bookings
    async def create_booking(self, req: BookingRequest) -> Booking:
        """Book one slot (with ``reservedSlotUid`` when given).

        Raises:
            SlotUnavailableError: 400 host busy / not available, or 409 someone else
                reserved the slot first.
        """
        body = await self._request(
            "POST", BOOKINGS, version=wire.BOOKINGS_VERSION, json=req.to_wire()
        )
        return _booking(body.get("data"))

    async def cancel_booking(self, uid: str, reason: str) -> Booking:
        """Cancel a booking; cancelling one that is already cancelled succeeds.

        On a 4xx answer the booking is read back: if it is cancelled, that is returned,
        otherwise the original error is raised.
        """
        try:
            body = await self._request(
                "POST",
                BOOKING_CANCEL,
                uid=uid,
                version=wire.BOOKINGS_VERSION,
                json={"cancellationReason": reason},
            )
        except CalcomError as exc:
            if exc.retryable or isinstance(exc, RateLimitedError) or exc.status is None:
                raise
            try:
                current = await self.get_booking(uid)
            except InvalidRequestError:
                raise exc from None
            if current.status == "cancelled":
                return current
            raise
        return _booking(body.get("data"))

    async def get_booking(self, uid: str) -> Booking:
        """Read one booking by uid.

        Raises:
            NotFoundError: unknown uid.
        """
        body = await self._request("GET", BOOKING, uid=uid, version=wire.BOOKINGS_VERSION)
        return _booking(body.get("data"))

    async def find_booking_by_metadata(
        self, event_type_id: int, start: datetime, end: datetime, metadata: dict[str, str]
    ) -> Booking | None:
        """Find a booking of ours by its metadata among the event type's bookings that
        start at or after ``start`` and end at or before ``end``.

        Pages through ``GET /v2/bookings`` and matches every given key client-side
        (Cal.com has no metadata filter). A live (not cancelled) match wins; a cancelled
        one is returned only when nothing else matches.
        """
        cancelled: Booking | None = None
        skip = 0
        while True:
            body = await self._request(
                "GET",
                BOOKINGS,
                version=wire.BOOKINGS_VERSION,
                params={
                    "eventTypeId": event_type_id,
                    "afterStart": wire.utc_iso(start),
                    "beforeEnd": wire.utc_iso(end),
                    "take": self.page_size,
                    "skip": skip,
                },
            )
            page = body.get("data") or []
            for item in page:
                booking = _booking(item)
                if all(booking.metadata.get(k) == v for k, v in metadata.items()):
                    if booking.status != "cancelled":
                        return booking
                    cancelled = cancelled or booking
            skip += len(page)
            pagination = body.get("pagination")
            more = (
                bool(pagination.get("hasNextPage"))
                if isinstance(pagination, dict)
                else len(page) == self.page_size
            )
            if not page or not more:
                return cancelled


def _path_segment(uid: str) -> str:
    """A uid as one path segment (no way to reach another endpoint through it)."""
    return quote(uid, safe="")


def _reservation_body(
    event_type_id: int, slot_start: datetime, slot_duration: int, reservation_minutes: int
) -> dict[str, Any]:
    return {
        "eventTypeId": event_type_id,
        "slotStart": wire.utc_iso(slot_start),
        "slotDuration": slot_duration,
        "reservationDuration": reservation_minutes,
    }


def _reservation(body: dict[str, Any]) -> Reservation:
    try:
        return Reservation.from_wire(body["data"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise InvalidRequestError("unexpected shape of a reservation answer") from exc


def _booking(data: Any) -> Booking:
    try:
        return Booking.from_wire(data)
    except (KeyError, TypeError, ValidationError) as exc:
        raise InvalidRequestError("unexpected shape of a booking answer") from exc
