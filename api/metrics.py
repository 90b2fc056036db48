"""API metrics (Prometheus). Alert rules in deploy/prometheus/alerts.yml use these."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "api_requests_total",
    "Retell function calls and webhooks answered, by function and business outcome "
    "(error = a fault on our side).",
    ["function", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "api_request_seconds",
    "Time to answer a Retell function call or webhook.",
    ["function"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 6.0, 10.0),
)
BUDGET_EXCEEDED = Counter(
    "api_budget_exceeded_total",
    "Function calls answered 'pending' because Temporal did not answer within the budget.",
    ["function"],
)
