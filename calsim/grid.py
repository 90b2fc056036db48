"""The salon's slot grid: opening hours from the catalog, 15-minute steps from opening."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from domain.catalog import Catalog

GRID = timedelta(minutes=15)


def within_opening_hours(catalog: Catalog, start: datetime, end: datetime) -> bool:
    """On the 15-minute grid of an open day, inside its opening hours."""
    zone = catalog.zone
    local = start.astimezone(zone)
    hours = catalog.opening_hours.for_weekday(local.weekday())
    if hours is None:
        return False
    opens = datetime.combine(local.date(), hours[0], zone)
    closes = datetime.combine(local.date(), hours[1], zone)
    return opens <= start and end <= closes and (start - opens) % GRID == timedelta()


def grid_starts(catalog: Catalog, start: datetime, end: datetime, minutes: int) -> list[datetime]:
    """Grid starts in ``[start, end)`` at which ``minutes`` fit before closing time."""
    zone = catalog.zone
    length = timedelta(minutes=minutes)
    out: list[datetime] = []
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        hours = catalog.opening_hours.for_weekday(day.weekday())
        if hours is not None:
            slot = datetime.combine(day, hours[0], zone)
            closes = datetime.combine(day, hours[1], zone)
            while slot + length <= closes:
                if start <= slot < end:
                    out.append(slot)
                slot += GRID
        day += timedelta(days=1)
    return out


def day_bounds(value: str, *, end: bool) -> datetime | None:
    """A bare ``YYYY-MM-DD`` as the start (or end) of that UTC day; None otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    day = datetime.fromisoformat(value).date()
    return datetime.combine(day, time.max if end else time.min, UTC)
