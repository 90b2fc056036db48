"""How far ahead the salon takes appointments (``BOOKING_HORIZON_DAYS``). Pure.

The horizon counts calendar days in the salon's zone: with 90 days, a call on 1 March can
book up to and including 30 May, whatever the hour. Anything later ("1.1.9999",
"01.06.2099") is refused before anything is held.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["beyond_horizon", "last_bookable_day"]


def last_bookable_day(now: datetime, zone: ZoneInfo, horizon_days: int) -> date:
    """The last day that can be booked.

    Args:
        now: The current moment (aware).
        zone: The salon's time zone.
        horizon_days: ``BOOKING_HORIZON_DAYS``.

    Returns:
        The salon's today plus ``horizon_days``.
    """
    return now.astimezone(zone).date() + timedelta(days=horizon_days)


def beyond_horizon(start: datetime, *, now: datetime, zone: ZoneInfo, horizon_days: int) -> bool:
    """Whether ``start`` lies on a day after :func:`last_bookable_day`.

    Args:
        start: The requested start (aware).
        now: The current moment (aware).
        zone: The salon's time zone.
        horizon_days: ``BOOKING_HORIZON_DAYS``.

    Returns:
        True when the start's day in the salon's zone is after the last bookable day.
    """
    return start.astimezone(zone).date() > last_bookable_day(now, zone, horizon_days)
