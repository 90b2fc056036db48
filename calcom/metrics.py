"""Prometheus metrics of the Cal.com client."""

from __future__ import annotations

from prometheus_client import Histogram

CALCOM_REQUEST_SECONDS = Histogram(
    "calcom_request_seconds",
    "Cal.com API requests by templated path and status code ('error' = no answer).",
    ["endpoint", "status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13),
)
