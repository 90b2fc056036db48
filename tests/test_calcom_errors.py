"""How Cal.com answers become typed errors (pure: built from httpx2 responses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest

from calcom import wire
from calcom.errors import (
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    SlotUnavailableError,
    TransientError,
    error_from_response,
    retry_after_seconds,
)


def envelope(status: int, message: str, **headers: str) -> httpx2.Response:
    body = {"status": "error", "path": "/v2/x", "error": {"code": "X", "message": message}}
    return httpx2.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "message", "reserving", "kind"),
    [
        (400, wire.HOST_UNAVAILABLE, False, SlotUnavailableError),
        (400, wire.TEAM_HOST_UNAVAILABLE, False, SlotUnavailableError),
        (409, wire.RESERVED_BY_SOMEONE_ELSE, False, SlotUnavailableError),
        (422, "This time slot is already reserved by another user.", True, SlotUnavailableError),
        (422, "Unprocessable", False, InvalidRequestError),
        (400, "Attempting to book a meeting in the past.", False, InvalidRequestError),
        (401, "Invalid API Key", False, InvalidRequestError),
        (404, "Booking not found", False, NotFoundError),
        (429, "Too Many Requests", False, RateLimitedError),
        (500, "boom", False, TransientError),
        (503, "unavailable", False, TransientError),
    ],
)
def test_status_and_message_decide_the_error(status, message, reserving, kind):
    error = error_from_response(envelope(status, message), reserving=reserving)
    assert type(error) is kind
    assert error.status == status and error.message == message
    assert error.retryable == (kind in (RateLimitedError, TransientError))


def test_message_from_a_body_that_is_not_an_envelope():
    error = error_from_response(httpx2.Response(502, text="502 Bad Gateway"))
    assert isinstance(error, TransientError) and error.message == "502 Bad Gateway"


def test_retry_after_prefers_retry_after_then_reset_header():
    now = 1_900_000_000.0
    both = httpx2.Headers({"Retry-After": "7", wire.RATE_LIMIT_RESET: str(int(now) + 30)})
    assert retry_after_seconds(both, now=now) == 7.0
    reset_only = httpx2.Headers({wire.RATE_LIMIT_RESET: str(int(now) + 30)})
    assert retry_after_seconds(reset_only, now=now) == 30.0
    assert retry_after_seconds(httpx2.Headers(), now=now) is None


def test_retry_after_as_http_date():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    when = format_datetime(now + timedelta(seconds=12), usegmt=True)
    seconds = retry_after_seconds(httpx2.Headers({"Retry-After": when}), now=now.timestamp())
    assert seconds == 12.0
