"""Which start times to offer when the requested one does not work. Pure.

Candidates lie on the salon's start grid (by default every 15 minutes from opening) and
the whole service, gaps included, must end by closing time. On the requested day the
starts nearest to the requested time come first (earlier wins a tie: "10:30 or 11:00"
for 10:45 offers 10:30 first); after that the following open days, earliest first.
Whether a candidate is free is the caller's question (Cal.com's free time and our
claims), passed in as ``is_free``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from typing import Literal
from zoneinfo import ZoneInfo

from domain.catalog import OpeningHours
from domain.planning import Plan

OpeningProblem = Literal["closed_day", "outside_opening_hours"]


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Wall-clock time on ``day`` in ``zone``; a time in a spring-forward gap moves past it."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


def candidate_starts(
    day: date,
    opening: tuple[time, time] | None,
    service_minutes: int,
    zone: ZoneInfo,
    step_minutes: int = 15,
) -> list[datetime]:
    """Every grid start on ``day`` at which a service of this length ends by closing time.

    Args:
        day: The calendar day in the salon's zone.
        opening: That day's (opening, closing) times, or None when closed.
        service_minutes: The service's whole length, processing gaps included.
        zone: The salon's time zone.
        step_minutes: Grid spacing, counted from opening time.

    Returns:
        Aware starts in ``zone``, earliest first; empty on a closed day.
    """
    if opening is None:
        return []
    opens, closes = _at(day, opening[0], zone), _at(day, opening[1], zone)
    length, step = timedelta(minutes=service_minutes), timedelta(minutes=step_minutes)
    starts: list[datetime] = []
    cursor = opens
    while cursor + length <= closes:
        starts.append(cursor.astimezone(zone))
        cursor += step
    return starts


def opening_problem(
    start: datetime, service_minutes: int, opening_hours: OpeningHours, zone: ZoneInfo
) -> OpeningProblem | None:
    """Why a service starting at ``start`` cannot take place in opening hours, if it cannot.

    Args:
        start: The requested start (aware).
        service_minutes: The service's whole length, gaps included.
        opening_hours: The salon's opening hours.
        zone: The salon's time zone.

    Returns:
        "closed_day" when the salon is closed that day, "outside_opening_hours" when the
        service starts before opening or ends after closing, otherwise None.
    """
    local = start.astimezone(zone)
    opening = opening_hours.for_weekday(local.weekday())
    if opening is None:
        return "closed_day"
    opens, closes = _at(local.date(), opening[0], zone), _at(local.date(), opening[1], zone)
    if local < opens or local + timedelta(minutes=service_minutes) > closes:
        return "outside_opening_hours"
    return None


def fits_opening_hours(plan: Plan, opening_hours: OpeningHours, zone: ZoneInfo) -> bool:
    """True when the whole plan, up to its last segment's end, lies within opening hours."""
    minutes = math.ceil((plan.end - plan.start).total_seconds() / 60)
    return opening_problem(plan.start, minutes, opening_hours, zone) is None


def rank_alternatives(
    requested: datetime,
    plan_for: Callable[[datetime], Plan],
    is_free: Callable[[Plan], bool],
    *,
    opening_hours: OpeningHours,
    zone: ZoneInfo,
    not_before: datetime,
    limit: int = 3,
    days_ahead: int = 14,
    first_day: int = 0,
    step_minutes: int = 15,
) -> list[datetime]:
    """The best free starts to offer instead of ``requested``.

    Args:
        requested: The start the caller asked for (aware).
        plan_for: Plans the service at a start (``plan_service`` bound to the service).
        is_free: Whether every staffed segment of a plan is free.
        opening_hours: The salon's opening hours.
        zone: The salon's time zone.
        not_before: No start earlier than this is offered (now plus a lead time).
        limit: How many to return at most.
        days_ahead: The last day searched, counted in days after the requested day.
        first_day: The first day searched (0: the requested day; 1: from the next day,
            for a second search once the requested day's own data is exhausted).
        step_minutes: The salon's start grid, counted from opening time.

    Returns:
        Up to ``limit`` aware starts in ``zone``: the requested day's nearest first (earlier
        wins ties), then the following days' in time order. Never ``requested`` itself.
    """
    first = plan_for(requested)
    minutes = math.ceil((first.end - first.start).total_seconds() / 60)
    day0 = requested.astimezone(zone).date()

    def starts_on(day: date) -> list[datetime]:
        hours = opening_hours.for_weekday(day.weekday())
        found = candidate_starts(day, hours, minutes, zone, step_minutes)
        return [s for s in found if s >= not_before and s != requested]

    same_day = (
        sorted(starts_on(day0), key=lambda s: (abs(s - requested), s)) if first_day == 0 else []
    )
    later = (
        s
        for offset in range(max(1, first_day), days_ahead + 1)
        for s in starts_on(day0 + timedelta(offset))
    )
    return _take_free(chain(same_day, later), plan_for, is_free, opening_hours, zone, limit)


def _take_free(
    starts: Iterable[datetime],
    plan_for: Callable[[datetime], Plan],
    is_free: Callable[[Plan], bool],
    opening_hours: OpeningHours,
    zone: ZoneInfo,
    limit: int,
) -> list[datetime]:
    chosen: list[datetime] = []
    for start in starts:
        if len(chosen) >= limit:
            break
        plan = plan_for(start)
        if fits_opening_hours(plan, opening_hours, zone) and is_free(plan):
            chosen.append(start)
    return chosen
