"""Outside bookings (made on Cal.com's booking page or by staff): record them and find
the calls whose active hold they hit."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.deps import ActivityDeps
from contracts.activities import RecordOutsideBookingInput, RecordOutsideBookingResult
from store import holds as store
from store import outside as outside_store


class OutsideBookingActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    def _resource(self, event_type_id: int | None) -> str | None:
        if event_type_id is None:
            return None
        found = self._deps.catalog.event_types().get(event_type_id)
        return found[0] if found else None

    @activity.defn
    async def record_outside_booking(
        self, req: RecordOutsideBookingInput
    ) -> RecordOutsideBookingResult:
        """Record (or cancel) the booking; return the calls holding overlapping time."""
        if req.rescheduled_from_uid:
            await outside_store.cancel_outside_booking(self._deps.engine, req.rescheduled_from_uid)
        resource = self._resource(req.event_type_id)
        if req.cancelled:
            await outside_store.cancel_outside_booking(self._deps.engine, req.calcom_uid)
            return RecordOutsideBookingResult(resource=resource)
        if resource is None:
            # An event type outside our catalog cannot collide with a hold of ours.
            return RecordOutsideBookingResult()
        await outside_store.record_outside_booking(
            self._deps.engine,
            calcom_uid=req.calcom_uid,
            event_type_id=req.event_type_id,
            resource=resource,
            start=req.start,
            end=req.end,
        )
        holds = await store.find_overlapping_holds(
            self._deps.engine,
            resource=resource,
            start=req.start,
            end=req.end,
            now=datetime.now(UTC),
        )
        return RecordOutsideBookingResult(
            resource=resource, call_ids=sorted({h.call_id for h in holds})
        )
