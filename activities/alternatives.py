"""Alternative start times when the requested slot is taken.

One ``/v2/slots`` request per distinct staffed event type over the search window (Cal.com
requests are rationed by its rate limit), intersected with the active claims in our
database, ranked by the pure :func:`domain.alternatives.rank_alternatives`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.deps import ActivityDeps
from activities.failures import to_application_error
from activities.models import AlternativesResult, FindAlternatives
from calcom.errors import CalcomError
from domain.alternatives import rank_alternatives
from domain.planning import Plan, plan_service
from store import holds as store
from workflows.messages import Alternative

# Do not offer a start that is about to pass while the agent is still speaking.
LEAD_TIME = timedelta(minutes=15)


class AlternativeActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    @activity.defn
    async def find_alternatives(self, req: FindAlternatives) -> AlternativesResult:
        """Up to ``limit`` nearest starts at which every staffed segment is free."""
        zone = ZoneInfo(req.time_zone)
        now = datetime.now(UTC)
        day0 = req.requested_start.astimezone(zone).date()
        window_start = max(now, datetime.combine(day0, time.min, zone).astimezone(UTC))
        window_end = datetime.combine(
            day0 + timedelta(days=req.days_ahead + 1), time.min, zone
        ).astimezone(UTC)
        staffed = req.service.staffed_segments
        event_types = sorted({s.calcom_event_type_id for s in staffed if s.calcom_event_type_id})
        try:
            slot_lists = await asyncio.gather(
                *(
                    self._deps.calcom.get_slots(et, window_start, window_end, req.time_zone)
                    for et in event_types
                )
            )
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        free_starts = {
            et: {s.start.astimezone(UTC) for s in slots}
            for et, slots in zip(event_types, slot_lists, strict=True)
        }
        busy = await store.busy_intervals(
            self._deps.engine,
            resources=sorted({s.resource for s in staffed if s.resource}),
            start=window_start,
            end=window_end,
            now=now,
            exclude_hold_id=req.exclude_hold_id,
        )

        def is_free(plan: Plan) -> bool:
            for seg in plan.staffed:
                assert seg.calcom_event_type_id is not None and seg.resource is not None
                if seg.start.astimezone(UTC) not in free_starts[seg.calcom_event_type_id]:
                    return False
                for b_start, b_end in busy.get(seg.resource, []):
                    if b_start < seg.end and seg.start < b_end:
                        return False
            return True

        starts = rank_alternatives(
            req.requested_start,
            lambda start: plan_service(req.service, start),
            is_free,
            opening_hours=self._deps.catalog.opening_hours,
            zone=zone,
            not_before=now + LEAD_TIME,
            limit=req.limit,
            days_ahead=req.days_ahead,
        )
        total = timedelta(minutes=req.service.total_minutes)
        return AlternativesResult(
            alternatives=[Alternative(start=s, end=s + total) for s in starts]
        )
