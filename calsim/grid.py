"""Cal.com's slot grid, rule by rule from its source (see docs/calsim.md for citations).

Pure functions over UTC-aware datetimes: the free ranges of a host (working hours minus
busy times) and the slot starts Cal.com's ``getSlots`` lays over them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta, tzinfo

from domain.catalog import Catalog

Range = tuple[datetime, datetime]

# packages/features/schedules/lib/slots.ts, buildSlotsWithDateRanges: a range's first slot
# is rounded up to a multiple of the first of these that divides the step, from the hour.
INTERVALS_WITH_DEFINED_START_TIMES = (60, 30, 20, 15, 10, 5)
_ONE_SECOND = timedelta(seconds=1)


def working_ranges(catalog: Catalog, start: datetime, end: datetime) -> list[Range]:
    """The opening hours of every day between ``start`` and ``end``, clipped to them.

    Cal.com clips each day's working hours to the queried ``dateFrom``/``dateTo``
    (packages/features/schedules/lib/date-ranges.ts, processWorkingHours:
    ``startResult = max(start, dateFrom)``, ``endResult = min(end, dateTo)``), so the
    query's start is where a range, and with it the grid, begins.
    """
    zone = catalog.zone
    out: list[Range] = []
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        hours = catalog.opening_hours.for_weekday(day.weekday())
        if hours is not None:
            opens = datetime.combine(day, hours[0], zone).astimezone(UTC)
            closes = datetime.combine(day, hours[1], zone).astimezone(UTC)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                out.append((lo, hi))
        day += timedelta(days=1)
    return out


def subtract(ranges: Iterable[Range], busy: Iterable[Range]) -> list[Range]:
    """``ranges`` minus ``busy`` (date-ranges.ts, subtract): a busy block splits a range."""
    blocks = sorted(busy)
    out: list[Range] = []
    for lo, hi in ranges:
        current = lo
        for b_lo, b_hi in blocks:
            if b_lo >= hi:
                break
            if b_hi <= current:
                continue
            if b_lo > current:
                out.append((current, b_lo))
            current = max(current, b_hi)
        if hi > current:
            out.append((current, hi))
    return out


def start_interval(frequency: int) -> int:
    """The first of 60, 30, 20, 15, 10, 5 that divides the step; 1 otherwise
    (``NEXT_PUBLIC_AVAILABILITY_SCHEDULE_INTERVAL`` unset)."""
    return next((i for i in INTERVALS_WITH_DEFINED_START_TIMES if frequency % i == 0), 1)


def _round_up(moment: datetime, interval: int, zone: tzinfo) -> datetime:
    """Up to the next multiple of ``interval`` minutes past the hour, in ``zone``
    (slots.ts, getCorrectedSlotStartTime, the branch without showOptimizedSlots)."""
    minute = moment.astimezone(zone).minute
    if minute % interval == 0:
        return moment
    top_of_hour = moment - timedelta(minutes=minute)
    return top_of_hour + timedelta(minutes=math.ceil(minute / interval) * interval)


def slot_starts(
    ranges: Iterable[Range],
    *,
    length: int,
    frequency: int,
    earliest: datetime,
    zone: tzinfo,
) -> list[datetime]:
    """The slot starts of Cal.com's ``getSlots`` over free ``ranges``
    (slots.ts, buildSlotsWithDateRanges, showOptimizedSlots off, offsetStart 0).

    Per range: start at the range start, or at ``earliest`` (now + minimum booking
    notice) if later, seconds dropped; round up to a multiple of :func:`start_interval`
    counted from the top of the hour in ``zone`` (the query's time zone); then step by
    ``frequency`` while the slot ends by the range end. When a range begins inside the
    step of the previous range's last slot, the grid continues from that slot instead.
    """
    frequency = max(1, frequency)
    length = max(1, length)
    interval = start_interval(frequency)
    step = timedelta(minutes=frequency)
    duration = timedelta(minutes=length)
    found: dict[datetime, None] = {}
    boundaries: list[datetime] = []
    for lo, hi in sorted(ranges):
        slot = lo if lo > earliest else earliest
        slot = slot.replace(second=0, microsecond=0)
        slot = _round_up(slot, interval, zone)
        previous = max((b for b in boundaries if b < slot), default=None)
        if previous is not None and previous + step > slot:
            slot = previous if previous >= lo else previous + step
        while slot + duration - _ONE_SECOND <= hi:
            if slot not in found:
                boundaries.append(slot)
                found[slot] = None
            slot += step
    return list(found)


def overlaps(start: datetime, end: datetime, busy: Iterable[Range]) -> bool:
    """``[start, end)`` meets a busy block (packages/features/bookings/lib/conflictChecker/
    checkForConflicts.ts: touching ends are no conflict)."""
    return any(b_lo < end and start < b_hi for b_lo, b_hi in busy)


def inside_one(ranges: Iterable[Range], start: datetime, end: datetime) -> bool:
    """``[start, end]`` lies inside one range (handleNewBooking/ensureAvailableUsers.ts,
    hasDateRangeForBooking)."""
    return any(lo <= start and end <= hi for lo, hi in ranges)


def day_bounds(value: str, *, end: bool) -> datetime | None:
    """A bare ``YYYY-MM-DD`` as the start (or end) of that UTC day; None otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    day = datetime.fromisoformat(value).date()
    return datetime.combine(day, time.max if end else time.min, UTC)
