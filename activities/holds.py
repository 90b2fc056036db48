"""Hold activities: check Cal.com slots, claim in PostgreSQL, reserve at Cal.com, extend,
validate and release. All are short and idempotent, so the workflow runs most of them as
local activities on the caller's critical path."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities.deps import ActivityDeps
from activities.failures import SLOT_UNAVAILABLE, to_application_error
from activities.models import (
    AcquireClaims,
    AcquireClaimsResult,
    ExtendHoldRequest,
    ExtendHoldResult,
    HoldValidity,
    ReleaseHold,
    ReserveSegment,
    SlotCheck,
    SlotCheckResult,
    ValidateHold,
)
from calcom.errors import CalcomError, NotFoundError, SlotUnavailableError
from observability.logging import get_logger
from observability.metrics import HOLD_OUTCOMES, RACE_DETECTIONS
from store import holds as store
from workflows.messages import SegmentView

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _claim(seg: SegmentView) -> store.ClaimSpec:
    assert seg.resource is not None and seg.calcom_event_type_id is not None
    return store.ClaimSpec(
        segment_key=seg.key,
        resource=seg.resource,
        start=seg.start,
        end=seg.end,
        calcom_event_type_id=seg.calcom_event_type_id,
    )


def reservation_minutes_for(seconds_left: float) -> int:
    """Whole minutes Cal.com must keep a reservation so it outlives our hold."""
    return max(2, math.ceil(seconds_left / 60) + 1)


class HoldActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    @activity.defn
    async def check_slots(self, req: SlotCheck) -> SlotCheckResult:
        """Ask ``/v2/slots`` for every staffed segment in parallel; a segment is free when
        Cal.com offers a slot starting exactly at its start."""

        async def free(seg: SegmentView) -> bool:
            assert seg.calcom_event_type_id is not None
            slots = await self._deps.calcom.get_slots(
                seg.calcom_event_type_id, seg.start, seg.end, req.time_zone
            )
            return any(s.start == seg.start for s in slots)

        staffed = [s for s in req.segments if s.staff]
        try:
            results = await asyncio.gather(*(free(s) for s in staffed))
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        taken = [s.key for s, ok in zip(staffed, results, strict=True) if not ok]
        if taken:
            RACE_DETECTIONS.labels(stage="check").inc()
        return SlotCheckResult(free=not taken, taken_keys=taken)

    @activity.defn
    async def acquire_claims(self, req: AcquireClaims) -> AcquireClaimsResult:
        """Claim every staffed segment in PostgreSQL, all or none."""
        now = _now()
        expires_at = now + timedelta(seconds=req.hold_seconds)
        result = await store.acquire_hold(
            self._deps.engine,
            hold_id=req.hold_id,
            call_id=req.call_id,
            claims=[_claim(s) for s in req.segments if s.staff],
            expires_at=expires_at,
            now=now,
        )
        if not result.acquired:
            RACE_DETECTIONS.labels(stage="hold").inc()
            return AcquireClaimsResult(
                acquired=False, conflicting_calls=sorted({c.call_id for c in result.conflicts})
            )
        return AcquireClaimsResult(acquired=True, expires_at=expires_at)

    @activity.defn
    async def reserve_segment(self, req: ReserveSegment) -> str:
        """Reserve one staffed segment at Cal.com; returns the reservation uid."""
        seg = req.segment
        assert seg.calcom_event_type_id is not None
        try:
            reservation = await self._deps.calcom.reserve_slot(
                seg.calcom_event_type_id,
                seg.start,
                _minutes(seg),
                reservation_minutes=req.reservation_minutes,
            )
        except SlotUnavailableError as exc:
            RACE_DETECTIONS.labels(stage="hold").inc()
            raise to_application_error(exc) from exc
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        await store.set_reservation_uid(
            self._deps.engine,
            hold_id=req.hold_id,
            segment_key=seg.key,
            reservation_uid=reservation.uid,
        )
        return reservation.uid

    @activity.defn
    async def release_hold(self, req: ReleaseHold) -> int:
        """Release the database claims and delete the Cal.com reservations (idempotent)."""
        status = "expired" if req.outcome == "expired" else "released"
        changed = await store.release_hold(self._deps.engine, hold_id=req.hold_id, status=status)
        try:
            await asyncio.gather(
                *(self._deps.calcom.release_reservation(uid) for uid in req.reservation_uids)
            )
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        if changed and req.outcome in ("released", "expired", "lost"):
            HOLD_OUTCOMES.labels(outcome=req.outcome).inc()
        return changed

    @activity.defn
    async def extend_hold(self, req: ExtendHoldRequest) -> ExtendHoldResult:
        """Move the hold's expiry and keep the Cal.com reservations alive past it."""
        now = _now()
        expires_at = now + timedelta(seconds=req.hold_seconds)
        ok = await store.extend_hold(
            self._deps.engine, hold_id=req.hold_id, expires_at=expires_at, now=now
        )
        if not ok:
            return ExtendHoldResult(extended=False)
        minutes = reservation_minutes_for(req.hold_seconds)
        try:
            await asyncio.gather(
                *(
                    self._deps.calcom.extend_reservation(
                        s.calcom_reservation_uid,
                        s.calcom_event_type_id,
                        s.start,
                        _minutes(s),
                        reservation_minutes=minutes,
                    )
                    for s in req.segments
                    if s.staff and s.calcom_reservation_uid and s.calcom_event_type_id
                )
            )
        except NotFoundError:
            # The reservation vanished at Cal.com (expired or consumed): the hold is gone.
            return ExtendHoldResult(extended=False)
        except SlotUnavailableError:
            # Someone else booked the time meanwhile: the hold is lost, not just over.
            RACE_DETECTIONS.labels(stage="hold").inc()
            return ExtendHoldResult(extended=False, lost=True)
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        return ExtendHoldResult(extended=True, expires_at=expires_at)

    @activity.defn
    async def validate_hold(self, req: ValidateHold) -> HoldValidity:
        """Is the hold still ours? Reads our claims and reservations, never ``/slots``
        (which hides our own reservations)."""
        claims = await store.get_hold(self._deps.engine, req.hold_id)
        if not store.is_active(claims, _now()):
            expired = any(c.status in ("held", "expired") for c in claims)
            return HoldValidity(valid=False, reason="expired" if expired else "released")
        uids = [s.calcom_reservation_uid for s in req.segments if s.staff]
        if any(u is None for u in uids):
            return HoldValidity(valid=False, reason="reservation_missing")
        try:
            found = await asyncio.gather(
                *(self._deps.calcom.get_reservation(u) for u in uids if u is not None)
            )
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        if any(r is None for r in found):
            return HoldValidity(valid=False, reason="reservation_missing")
        return HoldValidity(valid=True)


def _minutes(seg: SegmentView) -> int:
    return int((seg.end - seg.start).total_seconds() // 60)


__all__ = ["SLOT_UNAVAILABLE", "HoldActivities", "reservation_minutes_for"]
