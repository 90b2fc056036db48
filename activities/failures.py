"""Cal.com errors -> Temporal failures the workflow can match by ``type``.

Only retryable errors (rate limits, 5xx, timeouts) are retried; "slot unavailable" and
invalid requests fail at once. A rate limit carries Cal.com's reset time as the next
retry delay. A taken slot is an expected answer, not a fault: it is marked benign, so the
SDK neither logs it as an error nor counts it as a failed activity.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from calcom.errors import CalcomError, RateLimitedError
from contracts import failures


def to_application_error(exc: CalcomError) -> ApplicationError:
    delay = None
    if isinstance(exc, RateLimitedError) and exc.retry_after_seconds:
        delay = timedelta(seconds=max(0.5, min(exc.retry_after_seconds, 60.0)))
    benign = exc.error_type == failures.SLOT_UNAVAILABLE
    return ApplicationError(
        exc.message,
        exc.status,
        type=exc.error_type,
        non_retryable=not exc.retryable,
        next_retry_delay=delay,
        category=ApplicationErrorCategory.BENIGN
        if benign
        else ApplicationErrorCategory.UNSPECIFIED,
    )


def invalid_data(what: str, exc: Exception) -> ApplicationError:
    """Our own data cannot be stored (PostgreSQL refuses a value): no retry can help."""
    return ApplicationError(
        f"{what}: {type(exc).__name__}", type=failures.INVALID_DATA, non_retryable=True
    )
