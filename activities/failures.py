"""Cal.com errors -> Temporal failures the workflow can match by ``type``.

Only retryable errors (rate limits, 5xx, timeouts) are retried; "slot unavailable" and
invalid requests fail at once. A rate limit carries Cal.com's reset time as the next
retry delay.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from calcom.errors import CalcomError, RateLimitedError

SLOT_UNAVAILABLE = "SlotUnavailable"


def to_application_error(exc: CalcomError) -> ApplicationError:
    delay = None
    if isinstance(exc, RateLimitedError) and exc.retry_after_seconds:
        delay = timedelta(seconds=max(0.5, min(exc.retry_after_seconds, 60.0)))
    return ApplicationError(
        exc.message,
        exc.status,
        type=exc.error_type,
        non_retryable=not exc.retryable,
        next_retry_delay=delay,
    )
