"""Availability activities: is a service free at a start, with whom, and which starts are?

Both read the same two sources over a window, in parallel: Cal.com's offered slot ranges
(``GET /v2/slots?format=range``, one request per staffed event type of the stylists in
question: every stylist books with their own event types, and Cal.com's requests are
rationed by its rate limit) and our own active claims in PostgreSQL. Whether a plan is
free is decided by :class:`domain.availability.FreeTime` (free *time*, not slot starts:
segments of any length, at any minute); who takes it and which starts to offer by
:mod:`domain.assignment` (one stylist for the whole service, the choosing rule there).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
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
    StylistRef,
)
from contracts.messages import Alternative
from domain.assignment import free_stylists, nearest_free, staffed
from domain.availability import FreeTime, Interval
from domain.catalog import Service
from domain.planning import plan_service
from observability.metrics import RACE_DETECTIONS
from store import holds as store

# Do not offer a start that is about to pass while the agent is still speaking.
LEAD_TIME = timedelta(minutes=15)


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


@dataclass(frozen=True)
class Wish:
    """Whose time a request is about: ``mine`` are the stylists it may go to (the one
    asked for, or all who do the service), ``others`` those who could step in at the
    asked time when the one asked for cannot. Keys in catalog order."""

    mine: list[str]
    others: list[str]

    @classmethod
    def of(cls, stylist: str | None, everyone: list[str]) -> Wish:
        """``stylist`` asked for (None: anyone) among ``everyone`` who does the service."""
        if stylist is None:
            return cls(everyone, [])
        if stylist not in everyone:  # asked for someone who does not do this service
            return cls([], everyone)
        return cls([stylist], [k for k in everyone if k != stylist])


@dataclass(frozen=True)
class Offered:
    """What a check is about (its salon day from ``now``, whose time) and Cal.com's
    offered ranges for it, once fetched (:meth:`AvailabilityActivities.offered`)."""

    now: datetime
    zone: ZoneInfo
    window: Window
    wish: Wish
    ranges: dict[int, list[Interval]] | None = None  # None: not fetched yet

    def free_with(self, service: Service, start: datetime, stylist: str) -> bool:
        """Does Cal.com offer every staffed segment at ``start`` with ``stylist`` (our
        own claims left out: the caller's claim decides those)?"""
        if start <= self.now or stylist not in self.wish.mine:
            return False
        free = FreeTime.build(self.ranges or {}, {})
        return bool(free_stylists(service, start, free, [stylist], zone=self.zone))


class AvailabilityActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    def _order(self, service: Service) -> list[str]:
        return self._deps.catalog.in_catalog_order(service.stylists)

    def ref(self, key: str) -> StylistRef:
        return StylistRef(key=key, name=self._deps.catalog.stylist_name(key))

    async def _offered(
        self, service: Service, stylists: list[str], window: Window
    ) -> dict[int, list[Interval]]:
        """Cal.com's offered ranges over ``window`` per event type of ``stylists``."""
        segments = service.staffed_segments
        event_types = sorted({s.hosts[k] for s in segments for k in stylists if k in s.hosts})
        zone = self._deps.catalog.timezone

        async def offered(et: int) -> list[Interval]:
            slots = await self._deps.calcom.get_slots(et, window.start, window.end, zone)
            return [(s.start.astimezone(UTC), s.end.astimezone(UTC)) for s in slots]

        try:
            ranges = await asyncio.gather(*(offered(et) for et in event_types))
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        return dict(zip(event_types, ranges, strict=True))

    async def _free_time(
        self,
        service: Service,
        stylists: list[str],
        window: Window,
        now: datetime,
        exclude_hold_id: str | None,
        offered: dict[int, list[Interval]] | None = None,
    ) -> FreeTime:
        """Cal.com's offered ranges per event type of ``stylists`` (unless ``offered``
        already) and their claims, read together."""
        claims = store.busy_intervals(
            self._deps.engine,
            resources=sorted(stylists),
            start=window.start,
            end=window.end,
            now=now,
            exclude_hold_id=exclude_hold_id,
        )
        if offered is not None:
            return FreeTime.build(offered, await claims)
        ranges, claimed = await asyncio.gather(self._offered(service, stylists, window), claims)
        return FreeTime.build(ranges, claimed)

    def _nearest(
        self,
        service: Service,
        requested: datetime,
        free: FreeTime,
        stylists: list[str],
        *,
        now: datetime,
        limit: int,
        first_day: int,
        days_ahead: int,
    ) -> list[Alternative]:
        catalog = self._deps.catalog
        found = nearest_free(
            service,
            requested,
            free,
            stylists,
            opening_hours=catalog.opening_hours,
            zone=catalog.zone,
            not_before=now + LEAD_TIME,
            limit=limit,
            first_day=first_day,
            days_ahead=days_ahead,
            step_minutes=catalog.start_grid_minutes,
        )
        return [self._alternative(service, s, k) for s, k in found]

    def _alternative(self, service: Service, start: datetime, stylist: str) -> Alternative:
        end = start + timedelta(minutes=service.total_minutes)
        return Alternative(start=start, end=end, stylist=self._deps.catalog.stylist_name(stylist))

    async def _alternatives(
        self,
        service: Service,
        requested: datetime,
        wish: Wish,
        *,
        limit: int,
        days_ahead: int,
        exclude_hold_id: str | None,
        now: datetime,
        same_day: FreeTime | None = None,
    ) -> tuple[list[Alternative], bool]:
        """What to offer instead: another stylist at the very time asked for (when one
        was asked for and is taken), then the nearest starts of the stylists the request
        may go to (the requested day from ``same_day`` when it holds their data already,
        then the following days, fetched only when the day has too few)."""
        zone = self._deps.catalog.zone
        day0 = requested.astimezone(zone).date()
        today = Window.days(day0, day0, zone, now)
        wanted = wish.mine + wish.others
        if same_day is None:
            same_day = await self._free_time(service, wanted, today, now, exclude_hold_id)
        found: list[Alternative] = []
        if wish.others and requested > now:
            instead = free_stylists(service, requested, same_day, wish.others, zone=zone)
            if instead:
                found.append(self._alternative(service, requested, instead[0]))
        mine = wish.mine or wish.others  # nobody asked for does it: anyone who does
        found += self._nearest(
            service,
            requested,
            same_day,
            mine,
            now=now,
            limit=limit - len(found),
            first_day=0,
            days_ahead=0,
        )
        day_full = not found
        if len(found) < limit and days_ahead > 0:
            later = Window.days(
                day0 + timedelta(days=1), day0 + timedelta(days=days_ahead), zone, now
            )
            free = await self._free_time(service, mine, later, now, exclude_hold_id)
            found += self._nearest(
                service,
                requested,
                free,
                mine,
                now=now,
                limit=limit - len(found),
                first_day=1,
                days_ahead=days_ahead,
            )
        return found, day_full

    @activity.defn
    async def check_slots(self, inp: CheckSlotsInput) -> CheckSlotsResult:
        """Is the whole service free with the stylist asked for (or with any who does
        it)? One ``/v2/slots`` request per event type of those stylists over the salon
        day, their claims read alongside; alternatives from the same data (plus, when
        the stylist asked for is taken, the others' event types for that day)."""
        return await self._check(inp, self._scope(inp))

    def _scope(self, inp: CheckSlotsInput) -> Offered:
        """The check's salon day (from now) and whose time it is about, nothing fetched."""
        now = datetime.now(UTC)
        zone = self._deps.catalog.zone
        day = inp.start.astimezone(zone).date()
        window = Window.days(day, day, zone, now)
        return Offered(now, zone, window, Wish.of(inp.stylist, self._order(inp.service)))

    async def offered(self, inp: CheckSlotsInput) -> Offered:
        """The Cal.com half of :meth:`check_slots` alone: when the claim decides about
        our own callers (``activities.placing``), Cal.com's ranges are all a free answer
        needs; :meth:`check_offered` finishes the check from them otherwise."""
        scope = self._scope(inp)
        ranges = await self._offered(inp.service, scope.wish.mine, scope.window)
        return replace(scope, ranges=ranges)

    async def check_offered(self, inp: CheckSlotsInput, offered: Offered) -> CheckSlotsResult:
        """:meth:`check_slots` with Cal.com's ranges fetched already (``offered``)."""
        return await self._check(inp, offered)

    async def _check(self, inp: CheckSlotsInput, scope: Offered) -> CheckSlotsResult:
        """The check over ``scope``: Cal.com's ranges as fetched there (else fetched now,
        together with the claims), the claims read, alternatives when not free."""
        now, zone, window, wish = scope.now, scope.zone, scope.window, scope.wish
        free = await self._free_time(
            inp.service, wish.mine, window, now, inp.exclude_hold_id, offered=scope.ranges
        )
        who = (
            free_stylists(inp.service, inp.start, free, wish.mine, zone=zone)
            if inp.start > now
            else []
        )
        if who:
            if inp.prefer in who:  # the stylist this caller was already told, if free
                who.remove(inp.prefer)
                who.insert(0, inp.prefer)
            return CheckSlotsResult(free=True, candidates=[self.ref(k) for k in who])
        RACE_DETECTIONS.labels(stage="check").inc()
        if wish.others:
            extra = await self._free_time(
                inp.service, wish.others, window, now, inp.exclude_hold_id
            )
            free = free.union(extra)
        alternatives, day_full = await self._alternatives(
            inp.service,
            inp.start,
            wish,
            limit=inp.limit,
            days_ahead=inp.days_ahead,
            exclude_hold_id=inp.exclude_hold_id,
            now=now,
            same_day=free,
        )
        return CheckSlotsResult(
            free=False,
            taken_keys=self._taken_keys(inp.service, inp.start, free, wish, now),
            alternatives=alternatives,
            day_full=day_full,
        )

    def _taken_keys(
        self, service: Service, start: datetime, free: FreeTime, wish: Wish, now: datetime
    ) -> list[str]:
        """The segments that are not free with the first stylist the request may go to
        (for the log; every segment when the start has passed or nobody may take it)."""
        if not wish.mine or start <= now:
            return [s.key for s in service.staffed_segments]
        return free.taken(staffed(plan_service(service, start, wish.mine[0])))

    @activity.defn
    async def find_alternatives(self, inp: FindAlternativesInput) -> FindAlternativesResult:
        """Up to ``limit`` nearest starts at which the whole service is free with one
        stylist (another stylist at the very time first, when one was asked for)."""
        wish = Wish.of(inp.stylist, self._order(inp.service))
        alternatives, day_full = await self._alternatives(
            inp.service,
            inp.requested_start,
            wish,
            limit=inp.limit,
            days_ahead=inp.days_ahead,
            exclude_hold_id=inp.exclude_hold_id,
            now=datetime.now(UTC),
        )
        return FindAlternativesResult(alternatives=alternatives, day_full=day_full)
