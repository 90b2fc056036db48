"""Hold activities: claim in PostgreSQL, reserve at Cal.com, extend, validate, release.
All are short and idempotent, so the workflow runs them as local activities on the
caller's critical path. The hold's expiry is decided by the workflow and passed in; the
Cal.com reservation length is derived from it."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import ActivityDeps
from activities.failures import to_application_error
from calcom.errors import CalcomError, NotFoundError, SlotUnavailableError
from contracts.activities import (
    AcquireClaimsInput,
    AcquireClaimsResult,
    ExtendHoldInput,
    ExtendHoldResult,
    RecordDegradedHoldInput,
    ReleaseHoldInput,
    ReserveSegmentInput,
    ReserveSegmentResult,
    ValidateHoldInput,
    ValidateHoldResult,
)
from contracts.failures import INVALID_REQUEST
from contracts.messages import SegmentView
from observability.logging import get_logger
from observability.metrics import DEGRADED_HOLDS, HOLD_OUTCOMES, RACE_DETECTIONS
from store import holds as store

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _staffed(seg: SegmentView) -> tuple[str, int]:
    """A staffed segment's resource and event type (a planning bug otherwise)."""
    if seg.resource is None or seg.calcom_event_type_id is None:
        raise ApplicationError(
            f"segment {seg.key} is staffed but has no resource or event type",
            type=INVALID_REQUEST,
            non_retryable=True,
        )
    return seg.resource, seg.calcom_event_type_id


def _claim(seg: SegmentView) -> store.ClaimSpec:
    resource, event_type = _staffed(seg)
    return store.ClaimSpec(
        segment_key=seg.key,
        resource=resource,
        start=seg.start,
        end=seg.end,
        calcom_event_type_id=event_type,
    )


def reservation_minutes_for(seconds_left: float) -> int:
    """Whole minutes Cal.com must keep a reservation so it outlives our hold (Cal.com's
    ``reservationDuration`` is in whole minutes)."""
    return max(2, math.ceil(seconds_left / 60) + 1)


class HoldActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self._deps = deps

    @activity.defn
    async def acquire_claims(self, inp: AcquireClaimsInput) -> AcquireClaimsResult:
        """Claim every staffed segment in PostgreSQL, all or none, until ``expires_at``."""
        result = await store.acquire_hold(
            self._deps.engine,
            hold_id=inp.hold_id,
            call_id=inp.call_id,
            claims=[_claim(s) for s in inp.segments if s.staff],
            expires_at=inp.expires_at,
            now=_now(),
        )
        if not result.acquired:
            RACE_DETECTIONS.labels(stage="hold").inc()
            return AcquireClaimsResult(
                acquired=False, conflicting_calls=sorted({c.call_id for c in result.conflicts})
            )
        return AcquireClaimsResult(acquired=True)

    @activity.defn
    async def reserve_segment(self, inp: ReserveSegmentInput) -> ReserveSegmentResult:
        """Reserve one staffed segment at Cal.com until past the hold's expiry."""
        seg = inp.segment
        _, event_type = _staffed(seg)
        try:
            reservation = await self._deps.calcom.reserve_slot(
                event_type,
                seg.start,
                seg.minutes,
                reservation_minutes=reservation_minutes_for((inp.until - _now()).total_seconds()),
            )
        except SlotUnavailableError as exc:
            RACE_DETECTIONS.labels(stage="hold").inc()
            raise to_application_error(exc) from exc
        except CalcomError as exc:
            raise to_application_error(exc) from exc
        return ReserveSegmentResult(reservation_uid=reservation.uid)

    @activity.defn
    async def record_degraded_hold(self, inp: RecordDegradedHoldInput) -> None:
        """A hold held only in our database: Cal.com failed to reserve some segments."""
        DEGRADED_HOLDS.labels(reason="reservation_failed").inc()
        log.warning(
            "hold without Cal.com reservation", hold_id=inp.hold_id, segments=inp.segment_keys
        )

    @activity.defn
    async def release_hold(self, inp: ReleaseHoldInput) -> int:
        """Release the database claims and delete the Cal.com reservations (idempotent)."""
        status = "expired" if inp.outcome == "expired" else "released"
        changed = await store.release_hold(self._deps.engine, hold_id=inp.hold_id, status=status)
        results = await asyncio.gather(
            *(self._deps.calcom.release_reservation(uid) for uid in inp.reservation_uids),
            return_exceptions=True,
        )
        for result in results:
            # NotFound: already gone (expired, or consumed by our booking).
            if isinstance(result, CalcomError) and not isinstance(result, NotFoundError):
                raise to_application_error(result) from result
            if isinstance(result, BaseException) and not isinstance(result, CalcomError):
                raise result
        if changed and inp.outcome in ("released", "expired", "lost"):
            HOLD_OUTCOMES.labels(outcome=inp.outcome).inc()
        return changed

    @activity.defn
    async def extend_hold(self, inp: ExtendHoldInput) -> ExtendHoldResult:
        """Move the hold's expiry and keep the Cal.com reservations alive past it."""
        now = _now()
        ok = await store.extend_hold(
            self._deps.engine, hold_id=inp.hold_id, expires_at=inp.expires_at, now=now
        )
        if not ok:
            return ExtendHoldResult(extended=False)
        minutes = reservation_minutes_for((inp.expires_at - now).total_seconds())
        try:
            await asyncio.gather(
                *(
                    self._deps.calcom.extend_reservation(
                        s.calcom_reservation_uid,
                        _staffed(s)[1],
                        s.start,
                        s.minutes,
                        reservation_minutes=minutes,
                    )
                    for s in inp.segments
                    if s.staff and s.calcom_reservation_uid
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
        return ExtendHoldResult(extended=True)

    @activity.defn
    async def validate_hold(self, inp: ValidateHoldInput) -> ValidateHoldResult:
        """Are our claims still held and unexpired? Reads only our database: Cal.com's
        own answer to the booking (409 when another reservation is first, 400 when the
        time is taken) proves the rest without spending a request."""
        claims = await store.get_hold(self._deps.engine, inp.hold_id)
        if store.is_active(claims, _now()):
            return ValidateHoldResult(valid=True)
        expired = any(c.status in ("held", "expired") for c in claims)
        return ValidateHoldResult(valid=False, reason="expired" if expired else "released")
