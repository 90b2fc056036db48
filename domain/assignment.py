"""Which stylist takes an appointment, and whose times to offer instead. Pure.

One appointment stays with one stylist: a stylist is free for a service at a start when
every staffed segment of the plan with that stylist (their own Cal.com event types, their
time) is free (:class:`domain.availability.FreeTime`).

**The choosing rule.** When the caller has no preference, the appointment goes to the
stylist, among those free for the whole service, with the least time already taken that
day (the salon's day in its zone: our active claims, held or booked, and the Cal.com
bookings reported to us by webhook); ties go to the order of ``[[stylists]]`` in the
catalog. So work spreads over the team instead of piling on whoever is listed first, and
the same data always gives the same stylist (no randomness, no clock). One exception,
applied by the caller of :func:`free_stylists`: a caller who has already been told a name
(their hold is placed again, or moved within the call) keeps that stylist while free.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.alternatives import rank_alternatives
from domain.availability import FreeTime, Interval, StaffedSegment
from domain.catalog import OpeningHours, Service
from domain.planning import Plan, plan_service


def staffed(plan: Plan) -> list[StaffedSegment]:
    """The plan's staffed segments as availability sees them."""
    return [
        StaffedSegment(
            key=s.key,
            start=s.start,
            end=s.end,
            event_type_id=s.calcom_event_type_id,
            resource=s.resource,
        )
        for s in plan.staffed
        if s.calcom_event_type_id is not None and s.resource is not None
    ]


def taken_minutes(busy: Sequence[Interval], start: datetime, end: datetime) -> float:
    """Minutes of ``busy`` inside ``[start, end)`` (overlaps counted once)."""
    total = 0.0
    cursor = start
    for b_start, b_end in sorted(busy):
        lo, hi = max(b_start, cursor), min(b_end, end)
        if hi > lo:
            total += (hi - lo).total_seconds() / 60
            cursor = hi
    return total


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The salon's day ``day`` as an aware range (midnight to midnight in ``zone``)."""

    def midnight(d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=zone).astimezone(UTC)

    return midnight(day), midnight(day + timedelta(days=1))


def free_stylists(
    service: Service,
    start: datetime,
    free: FreeTime,
    candidates: Sequence[str],
    *,
    zone: ZoneInfo,
) -> list[str]:
    """The candidates free for every staffed segment of ``service`` at ``start``, in the
    order of the choosing rule (least time taken that day first, ties in the order of
    ``candidates``, which is the catalog's).

    Args:
        service: The catalog service.
        start: The start (aware).
        free: Cal.com's offered ranges and our claims over a window containing the day.
        candidates: Stylist keys in catalog order (each can do the whole service).
        zone: The salon's time zone (whose day counts).

    Returns:
        The free stylists, best first; empty when none is free.
    """
    day_start, day_end = _day_bounds(start.astimezone(zone).date(), zone)
    ok = [k for k in candidates if free.is_free(staffed(plan_service(service, start, k)))]

    def load(key: str) -> float:
        return taken_minutes(free.claimed.get(key, []), day_start, day_end)

    return sorted(ok, key=lambda k: (load(k), candidates.index(k)))


def nearest_free(
    service: Service,
    requested: datetime,
    free: FreeTime,
    candidates: Sequence[str],
    *,
    opening_hours: OpeningHours,
    zone: ZoneInfo,
    not_before: datetime,
    limit: int,
    first_day: int,
    days_ahead: int,
    step_minutes: int,
) -> list[tuple[datetime, str]]:
    """The nearest starts (``domain.alternatives.rank_alternatives``) at which one of the
    candidates is free, each with the stylist the choosing rule gives it.

    Returns:
        Up to ``limit`` (start, stylist key), in the order to offer them.
    """
    if not candidates:
        return []
    chosen: dict[datetime, str] = {}

    def is_free(plan: Plan) -> bool:
        found = free_stylists(service, plan.start, free, candidates, zone=zone)
        if found:
            chosen[plan.start] = found[0]
        return bool(found)

    def timing(start: datetime) -> Plan:  # segment times are the same for every stylist
        return plan_service(service, start, candidates[0])

    starts = rank_alternatives(
        requested,
        timing,
        is_free,
        opening_hours=opening_hours,
        zone=zone,
        not_before=not_before,
        limit=limit,
        first_day=first_day,
        days_ahead=days_ahead,
        step_minutes=step_minutes,
    )
    return [(s, chosen[s]) for s in starts]
