"""Placing a hold in one step (issue 17).

With a stylist known before the check, Cal.com's offered time and the claim
(PostgreSQL's exclusion constraint) are asked together; for "anyone" the check chooses
and the claim follows. When the stylist is free and the claim holds, every staffed
segment is reserved at Cal.com, together. One local activity instead of three rounds of
them: each round costs the workflow an activation on the caller's path.

Retrying the step is safe: the claim is idempotent for its hold id (and not acquired
when a retried choice fell on another stylist than the first attempt claimed), and the
reservations come last and never raise. A reservation Cal.com refuses is reported (the workflow
releases the hold); one Cal.com failed is reported too, and the workflow reserves that
segment again with its own retries, as it does without this step.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.availability import AvailabilityActivities
from activities.holds import HoldActivities
from contracts.activities import (
    AcquireClaimsInput,
    CheckSlotsResult,
    PlaceHoldInput,
    PlaceHoldResult,
    ReservationTry,
    ReserveSegmentInput,
    segment_views,
)
from contracts.failures import SLOT_UNAVAILABLE
from contracts.messages import SegmentView

T = TypeVar("T")


def _result(value: T | BaseException) -> T:
    if isinstance(value, BaseException):
        raise value
    return value


class PlaceActivities:
    def __init__(self, availability: AvailabilityActivities, holds: HoldActivities) -> None:
        self._availability = availability
        self._holds = holds

    @activity.defn
    async def place_hold(self, inp: PlaceHoldInput) -> PlaceHoldResult:
        """Check, claim, reserve. A stylist known before the check: Cal.com is asked and
        the claim made together, and when the claim holds our own claims need not be
        read (it proves them); otherwise the check is finished from Cal.com's ranges as
        ``check_slots`` answers. "Anyone": the check chooses, the claim is tried with the
        first free stylist it names (the workflow tries the others). A failing Cal.com
        request or claim fails the step (after what ran with it has finished)."""
        service, start = inp.check.service, inp.check.start
        if inp.stylist is None:
            check = await self._availability.check_slots(inp.check)
            # The first free stylist the request's service knows (its catalog may be older).
            key = next((c.key for c in check.candidates if c.key in service.stylists), None)
            if not check.free or key is None:
                return PlaceHoldResult(check=check)
            segments = segment_views(service, start, key)
            claim = await self._holds.acquire_claims(self._claim(inp, segments))
        else:
            key, segments = inp.stylist, segment_views(service, start, inp.stylist)
            offered, claimed = await asyncio.gather(
                self._availability.offered(inp.check),
                self._holds.acquire_claims(self._claim(inp, segments)),
                return_exceptions=True,
            )
            offered, claim = _result(offered), _result(claimed)
            if claim.acquired and offered.free_with(service, start, key):
                check = CheckSlotsResult(free=True, candidates=[self._availability.ref(key)])
            else:
                check = await self._availability.check_offered(inp.check, offered)
        placed = PlaceHoldResult(check=check, stylist=key, claim=claim)
        if not (check.free and claim.acquired):
            return placed
        staffed = [s for s in segments if s.staff]
        tries = await asyncio.gather(*(self._reserve(inp, s) for s in staffed))
        return placed.model_copy(update={"reservations": list(tries)})

    @staticmethod
    def _claim(inp: PlaceHoldInput, segments: list[SegmentView]) -> AcquireClaimsInput:
        return AcquireClaimsInput(
            hold_id=inp.hold_id, call_id=inp.call_id, segments=segments, expires_at=inp.expires_at
        )

    async def _reserve(self, inp: PlaceHoldInput, seg: SegmentView) -> ReservationTry:
        try:
            made = await self._holds.reserve_segment(
                ReserveSegmentInput(hold_id=inp.hold_id, segment=seg, until=inp.expires_at)
            )
        except Exception as exc:  # reported, never raised: the claim is already ours
            if isinstance(exc, ApplicationError) and exc.type == SLOT_UNAVAILABLE:
                return ReservationTry(key=seg.key, refused=True)
            return ReservationTry(key=seg.key, error=str(exc) or type(exc).__name__)
        return ReservationTry(key=seg.key, reservation_uid=made.reservation_uid)
