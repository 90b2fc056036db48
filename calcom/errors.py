"""Typed Cal.com errors, decided from the HTTP status and Cal.com's error envelope.

The workflow retries only what is ``retryable``; ``error_type`` is the stable name that
activities put on their ``ApplicationError`` so workflows can match on it.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from calcom import wire
from contracts import failures

_SLOT_GONE_PHRASES = (
    "already has booking",
    "not available",
    "no available users",
    "reserved this booking time slot",
)


class CalcomError(Exception):
    """Any failure talking to Cal.com.

    Attributes:
        status: HTTP status, or None when no answer arrived (timeout, connection error).
        message: Cal.com's own message (or a description of the transport failure).
        retryable: whether the same request may succeed later.
        error_type: stable name for the kind of failure.
    """

    error_type = failures.CALCOM
    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{status} {message}" if status is not None else message)
        self.status = status
        self.message = message


class SlotUnavailableError(CalcomError):
    """The slot is taken: booked, reserved first by someone else, or not available."""

    error_type = failures.SLOT_UNAVAILABLE


class RateLimitedError(CalcomError):
    """429: the API key used up its budget; retry after ``retry_after_seconds``."""

    error_type = failures.RATE_LIMITED
    retryable = True

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after_seconds = retry_after_seconds


class RateBudgetExhaustedError(RateLimitedError):
    """Our shared request budget (``calcom.budget``) had nothing left within the wait this
    request may take: nothing was sent to Cal.com. Retry after ``retry_after_seconds``."""

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message, status=None, retry_after_seconds=retry_after_seconds)


class TransientError(CalcomError):
    """5xx, timeouts and connection errors: worth retrying."""

    error_type = failures.TRANSIENT
    retryable = True


class InvalidRequestError(CalcomError):
    """Any other 4xx: retrying the same request will not help."""

    error_type = failures.INVALID_REQUEST


class NotFoundError(InvalidRequestError):
    """404: the booking, reservation or event type does not exist."""

    error_type = failures.NOT_FOUND


def envelope_message(response: httpx2.Response) -> str:
    """Cal.com's error message from the envelope, or a short description of the body."""
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text else response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return _as_text(error["message"])
        if body.get("message"):
            return _as_text(body["message"])
    return response.reason_phrase


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def retry_after_seconds(headers: httpx2.Headers, *, now: float | None = None) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` (seconds or HTTP date), else the
    ``X-RateLimit-Reset-Default`` unix time, else None."""
    current = time.time() if now is None else now
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(raw).timestamp() - current)
            except (TypeError, ValueError):
                pass
    reset = headers.get(wire.RATE_LIMIT_RESET)
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        # Unix seconds per the contract; a small number can only be a delta.
        return max(0.0, value - current) if value > 1_000_000_000 else max(0.0, value)
    return None


def error_from_response(response: httpx2.Response, *, reserving: bool = False) -> CalcomError:
    """Map a non-2xx answer to its typed error.

    Args:
        response: the failed response.
        reserving: the request placed or renewed a reservation (``POST
            /v2/slots/reservations``, ``PATCH /v2/slots/reservations/{uid}``), where 422
            means the slot is already booked or reserved.
    """
    status = response.status_code
    message = envelope_message(response)
    if status == 429:
        return RateLimitedError(
            message, status=status, retry_after_seconds=retry_after_seconds(response.headers)
        )
    if status >= 500 or status == 408:
        return TransientError(message, status=status)
    if status == 409 or (status == 422 and reserving):
        return SlotUnavailableError(message, status=status)
    if status == 400 and any(p in message.lower() for p in _SLOT_GONE_PHRASES):
        return SlotUnavailableError(message, status=status)
    if status == 404:
        return NotFoundError(message, status=status)
    return InvalidRequestError(message, status=status)
