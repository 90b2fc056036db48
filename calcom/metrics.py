"""Prometheus metrics of the Cal.com client."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CALCOM_REQUEST_SECONDS = Histogram(
    "calcom_request_seconds",
    "Cal.com API requests by templated path and status code ('error' = no answer).",
    ["endpoint", "status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13),
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "calcom_rate_limit_wait_seconds",
    "How long a Cal.com request waited for the shared request budget, by priority "
    "(caller: checks; booking: bookings, compensation, releases).",
    ["priority"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15),
)
RATE_BUDGET_EXHAUSTED = Counter(
    "calcom_rate_budget_exhausted",
    "Cal.com requests not sent because the shared request budget had nothing left within "
    "the wait their priority allows.",
    ["priority"],
)
