"""Placing a hold in one step, when the stylist is known before the check (issue 17).

Cal.com's offered time and the claim (PostgreSQL's exclusion constraint) are asked
together; when Cal.com offers the time and the claim holds, every staffed segment is
reserved at Cal.com, together. Otherwise the check is finished as ``check_slots`` does.
One local activity instead of three rounds of them: each round costs the workflow an
activation on the caller's path.

Retrying the step is safe: the claim is idempotent for its hold id, and the reservations
come last and never raise. A reservation Cal.com refuses is reported (the workflow
releases the hold); one Cal.com failed is reported too, and the workflow reserves that
segment again with its own retries, as it does without this step.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.availability import AvailabilityActivities
from activities.holds import HoldActivities
from contracts.activities import (
    CheckSlotsResult,
    PlaceHoldInput,
    PlaceHoldResult,
    ReservationTry,
    ReserveSegmentInput,
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
        """Ask Cal.com and claim together; reserve when both say yes. Our own claims
        need not be read for that answer: the claim holding proves no other caller of
        ours has the time. Otherwise the check is finished from Cal.com's ranges (the
        claims read, alternatives found) as ``check_slots`` answers. A failing Cal.com
        request or claim fails the step (after both have finished: nothing runs on)."""
        offered, claim = await asyncio.gather(
            self._availability.offered(inp.check),
            self._holds.acquire_claims(inp.claim),
            return_exceptions=True,
        )
        offered, claim = _result(offered), _result(claim)
        service, start = inp.check.service, inp.check.start
        if not (claim.acquired and offered.free_with(service, start, inp.stylist)):
            check = await self._availability.check_offered(inp.check, offered)
            return PlaceHoldResult(check=check, claim=claim)
        check = CheckSlotsResult(free=True, candidates=[self._availability.ref(inp.stylist)])
        staffed = [s for s in inp.claim.segments if s.staff]
        tries = await asyncio.gather(
            *(self._reserve(inp.claim.hold_id, s, inp.claim.expires_at) for s in staffed)
        )
        return PlaceHoldResult(check=check, claim=claim, reservations=list(tries))

    async def _reserve(self, hold_id: str, seg: SegmentView, until: datetime) -> ReservationTry:
        try:
            made = await self._holds.reserve_segment(
                ReserveSegmentInput(hold_id=hold_id, segment=seg, until=until)
            )
        except Exception as exc:  # reported, never raised: the claim is already ours
            if isinstance(exc, ApplicationError) and exc.type == SLOT_UNAVAILABLE:
                return ReservationTry(key=seg.key, refused=True)
            return ReservationTry(key=seg.key, error=str(exc) or type(exc).__name__)
        return ReservationTry(key=seg.key, reservation_uid=made.reservation_uid)
