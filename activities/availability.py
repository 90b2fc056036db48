"""Availability activities: is a service free at a start, and which starts are?

Both read the same two sources over a window, in parallel: Cal.com's offered slot ranges
(``GET /v2/slots?format=range``, one request per distinct staffed event type: Cal.com's
requests are rationed by its rate limit) and our own active claims in PostgreSQL. Whether
a plan is free is decided by :class:`domain.availability.FreeTime` (free *time*, not slot
starts: segments of any length, at any minute); which starts to offer by
:func:`domain.alternatives.rank_alternatives`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.deps import ActivityDeps
from activities.failures import to_application_error
from calcom.errors import CalcomError
from contracts.activities import (
    CheckSlotsInput,
    CheckSlotsResult,
    FindAlternativesInput,
    FindAlternativesResult,
)
from contracts.messages import Alternative
from domain.alternatives import rank_alternatives
from domain.availability import FreeTime, StaffedSegment
from domain.catalog import Service
from domain.planning import Plan, plan_service
from observability.metrics import RACE_DETECTIONS
from store import holds as store

# Do not offer a start that is about to pass while the agent is still speaking.
LEAD_TIME = timedelta(minutes=15)


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


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """Whole salon days ``[first, last]`` (in the salon's zone) as a UTC range."""

    start: datetime
    end: datetime

    @classmethod
    def days(cls, first: date, last: date, zone: ZoneInfo, now: datetime) -> Window:
        return cls(max(now, _midnight(first, zone)), _midnight(last + timedelta(days=1), zone))


class AvailabilityActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    async def _free_time(
        self, service: Service, window: Window, now: datetime, exclude_hold_id: str | None
    ) -> FreeTime:
        """Cal.com's offered ranges per event type and our claims per resource."""
        segments = service.staffed_segments
        event_types = sorted({s.calcom_event_type_id for s in segments if s.calcom_event_type_id})
        resources = sorted({s.resource for s in segments if s.resource})
        zone = self._deps.catalog.timezone

        async def offered(et: int) -> list[tuple[datetime, datetime]]:
            slots = await self._deps.calcom.get_slots(et, window.start, window.end, zone)
            return [(s.start.astimezone(UTC), s.end.astimezone(UTC)) for s in slots]

        try:
            ranges, claimed = await asyncio.gather(
                asyncio.gather(*(offered(et) for et in event_types)),
                store.busy_intervals(
                    self._deps.engine,
                    resources=resources,
                    start=window.start,
                    end=window.end,
                    now=now,
                    exclude_hold_id=exclude_hold_id,
                ),
            )
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        return FreeTime.build(dict(zip(event_types, ranges, strict=True)), claimed)

    def _rank(
        self,
        service: Service,
        requested: datetime,
        free: FreeTime,
        *,
        now: datetime,
        limit: int,
        first_day: int,
        days_ahead: int,
    ) -> list[Alternative]:
        catalog = self._deps.catalog
        starts = rank_alternatives(
            requested,
            lambda start: plan_service(service, start),
            lambda plan: free.is_free(staffed(plan)),
            opening_hours=catalog.opening_hours,
            zone=catalog.zone,
            not_before=now + LEAD_TIME,
            limit=limit,
            first_day=first_day,
            days_ahead=days_ahead,
            step_minutes=catalog.start_grid_minutes,
        )
        total = timedelta(minutes=service.total_minutes)
        return [Alternative(start=s, end=s + total) for s in starts]

    async def _alternatives(
        self,
        service: Service,
        requested: datetime,
        *,
        limit: int,
        days_ahead: int,
        exclude_hold_id: str | None,
        now: datetime,
        same_day: FreeTime | None = None,
    ) -> tuple[list[Alternative], bool]:
        """Nearest starts: the requested day first (from ``same_day`` when it was fetched
        already), then the following days, fetched only when the day has too few."""
        zone = self._deps.catalog.zone
        day0 = requested.astimezone(zone).date()
        if same_day is None:
            same_day = await self._free_time(
                service, Window.days(day0, day0, zone, now), now, exclude_hold_id
            )
        found = self._rank(
            service, requested, same_day, now=now, limit=limit, first_day=0, days_ahead=0
        )
        day_full = not found
        if len(found) < limit and days_ahead > 0:
            later = Window.days(
                day0 + timedelta(days=1), day0 + timedelta(days=days_ahead), zone, now
            )
            free = await self._free_time(service, later, now, exclude_hold_id)
            found += self._rank(
                service,
                requested,
                free,
                now=now,
                limit=limit - len(found),
                first_day=1,
                days_ahead=days_ahead,
            )
        return found, day_full

    @activity.defn
    async def check_slots(self, inp: CheckSlotsInput) -> CheckSlotsResult:
        """Is every staffed segment free? One ``/v2/slots`` request per event type over
        the salon day, our claims read alongside; alternatives from the same data."""
        now = datetime.now(UTC)
        zone = self._deps.catalog.zone
        day = inp.start.astimezone(zone).date()
        free = await self._free_time(
            inp.service, Window.days(day, day, zone, now), now, inp.exclude_hold_id
        )
        plan = plan_service(inp.service, inp.start)
        taken = free.taken(staffed(plan)) if inp.start > now else [s.key for s in plan.staffed]
        if not taken:
            return CheckSlotsResult(free=True)
        RACE_DETECTIONS.labels(stage="check").inc()
        alternatives, day_full = await self._alternatives(
            inp.service,
            inp.start,
            limit=inp.limit,
            days_ahead=inp.days_ahead,
            exclude_hold_id=inp.exclude_hold_id,
            now=now,
            same_day=free,
        )
        return CheckSlotsResult(
            free=False,
            taken_keys=taken,
            alternatives=alternatives,
            day_full=day_full,
        )

    @activity.defn
    async def find_alternatives(self, inp: FindAlternativesInput) -> FindAlternativesResult:
        """Up to ``limit`` nearest starts at which every staffed segment is free."""
        alternatives, day_full = await self._alternatives(
            inp.service,
            inp.requested_start,
            limit=inp.limit,
            days_ahead=inp.days_ahead,
            exclude_hold_id=inp.exclude_hold_id,
            now=datetime.now(UTC),
        )
        return FindAlternativesResult(alternatives=alternatives, day_full=day_full)
