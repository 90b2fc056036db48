"""Prometheus metrics of the booking domain (recorded by activities in the worker).

Names are referenced by ``deploy/prometheus/alerts.yml`` and the Grafana dashboard; keep
them stable.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HOLD_OUTCOMES = Counter(
    "booking_hold_outcomes",
    "How holds ended: converted (booked), expired, released, lost (outside booking).",
    ["outcome"],
)
BOOKING_DURATION = Histogram(
    "booking_duration_seconds",
    "From start_booking to the final outcome, by simple/compound service.",
    ["kind", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60),
)
COMPENSATIONS = Counter(
    "booking_compensations",
    "Bookings compensated (segments cancelled because the whole booking failed).",
    ["reason"],
)
RACE_DETECTIONS = Counter(
    "booking_race_detections",
    "A slot found taken by someone else, by stage (check, hold, book).",
    ["stage"],
)
WORKFLOWS_OPEN = Gauge(
    "booking_workflows_open",
    "Open call workflows by BookingStatus (from Temporal visibility).",
    ["status"],
)
RECORDING_FAILURES = Counter(
    "booking_recording_failures",
    "A step after Cal.com had booked that failed for good (the booking was compensated).",
    ["step"],
)
DEGRADED_HOLDS = Counter(
    "booking_degraded_holds",
    "Holds placed only in our database because Cal.com refused or failed the reservation.",
    ["reason"],
)
LOOP_STALLS = Counter(
    "booking_worker_loop_stalls",
    "Times the worker's event loop was blocked longer than the watchdog's threshold "
    "(observability/watchdog.py).",
)
