"""Placing, extending and releasing a hold: the application steps of the call workflow.

A :class:`Hold` is an immutable snapshot: the steps return a new one (or none) and never
read the workflow's state, so a step that awaits cannot act on state another handler
changed meanwhile. The workflow decides under its lock what to do with what they return.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as acts
    from contracts.activities import ReleaseOutcome
    from contracts.failures import SLOT_UNAVAILABLE
    from contracts.messages import Alternative, CallInput, CheckAvailability, SegmentView
    from domain.catalog import Service
    from domain.planning import plan_service
    from workflows.activity_options import CLEANUP, CRITICAL_PATH, METRICS

# Patch id: the check and the claim run together (issue 17).
CHECK_WITH_CLAIM = "check-with-claim"


@dataclass(frozen=True)
class Hold:
    """A slot held for the caller: claims in PostgreSQL plus Cal.com reservations."""

    hold_id: str
    service: Service
    start: datetime
    end: datetime
    segments: tuple[SegmentView, ...]
    expires_at: datetime
    placed_at: datetime
    extensions_used: int = 0
    degraded: bool = False  # some segment has no Cal.com reservation

    @property
    def reservation_uids(self) -> list[str]:
        return [s.calcom_reservation_uid for s in self.segments if s.calcom_reservation_uid]

    def is_for(self, service: Service, start: datetime) -> bool:
        return self.service.name == service.name and self.start == start

    def overlaps(self, segments: list[SegmentView]) -> bool:
        """Would a new plan collide with this hold on one of its resources?"""
        return any(
            x.staff and y.staff and x.resource == y.resource and x.start < y.end and y.start < x.end
            for x in self.segments
            for y in segments
        )

    def hits(self, resource: str, start: datetime, end: datetime) -> bool:
        """Does time booked elsewhere on ``resource`` overlap this hold?"""
        return any(
            s.staff and s.resource == resource and s.start < end and start < s.end
            for s in self.segments
        )


@dataclass(frozen=True)
class Placed:
    """What trying to place a hold came to."""

    hold: Hold | None  # the new hold when the slot was free and is now ours
    outcome: str  # "held" | "slot_taken" | "failed"
    stage: str = "check"  # where it ended: check, claim, reserve
    alternatives: list[Alternative] = field(default_factory=list)
    day_full: bool = False


@dataclass(frozen=True)
class Step:
    """A local activity's failure, kept for the call's attempt log."""

    summary: str
    error: str


def is_slot_unavailable(exc: BaseException) -> bool:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return isinstance(cause, ApplicationError) and cause.type == SLOT_UNAVAILABLE


def segment_views(service: Service, start: datetime) -> list[SegmentView]:
    plan = plan_service(service, start)
    return [
        SegmentView(
            key=s.key,
            name=s.name,
            start=s.start,
            end=s.end,
            staff=s.staff,
            resource=s.resource,
            calcom_event_type_id=s.calcom_event_type_id,
        )
        for s in plan.segments
    ]


class HoldSteps:
    """The hold steps of one call; ``failures`` collects what failed for the log."""

    def __init__(self, inp: CallInput) -> None:
        self._inp = inp
        self.failures: list[Step] = []

    async def local(self, fn: Any, arg: Any, *, summary: str) -> Any:
        """Run a short step as a local activity; ``None`` when it failed for good."""
        try:
            return await workflow.execute_local_activity(
                fn, arg, summary=summary, **CRITICAL_PATH.kwargs()
            )
        # A local activity that ran out of time while backing off (e.g. after a 429 with
        # a long reset) resolves with the bare failure, not wrapped in ActivityError.
        except (ActivityError, ApplicationError, TemporalTimeoutError) as exc:
            self.failures.append(Step(summary, str(exc.cause or exc)))
            return None

    async def place(self, req: CheckAvailability, *, exclude_hold_id: str | None) -> Placed:
        """Check the slot, claim it, reserve it at Cal.com; undo what was taken if the
        slot turns out to be someone else's.

        The check (Cal.com's free time and our claims) and the claim run together: the
        claim is guarded by the exclusion constraint whatever the check reads, and the
        check does not count the claim being placed. If the check says no, the claim is
        released before answering (a taken slot costs one release more, a free one a
        round of local activities less). Workflows that began with the checks in turn
        (histories before this patch) keep that order.
        """
        # The check can leave out one hold only: the one being placed alongside it. With an
        # earlier hold to leave out, or in a workflow from before the patch, in turn.
        if not workflow.patched(CHECK_WITH_CLAIM) or exclude_hold_id is not None:
            return await self._place_in_turn(req, exclude_hold_id=exclude_hold_id)
        service = req.service
        segments = segment_views(service, req.start)
        now = workflow.now()
        # The one source of the hold's expiry: the claims and the timer use this instant,
        # the reservations are made to outlive it.
        expires_at = now + timedelta(seconds=self._inp.hold_seconds)
        hold_id = f"hold-{workflow.uuid4().hex[:16]}"
        check, acquired = await asyncio.gather(
            self._check_slots(req, exclude_hold_id=hold_id),
            self._claim(hold_id, segments, expires_at),
        )
        free = check is not None and check.free
        if not free or acquired is None:
            if acquired is None or acquired.acquired:  # a claim that is, or may be, ours
                await self.release(hold_id, [], "failed")
            if check is None or acquired is None:
                return Placed(None, "failed")
            return Placed(
                None, "slot_taken", "check", list(check.alternatives), day_full=check.day_full
            )
        if not acquired.acquired:
            return await self._taken(service, req.start, "claim", exclude_hold_id)
        return await self._reserve(
            service, req.start, segments, hold_id, expires_at, now, exclude_hold_id
        )

    async def _check_slots(
        self, req: CheckAvailability, *, exclude_hold_id: str | None
    ) -> acts.CheckSlotsResult | None:
        result: acts.CheckSlotsResult | None = await self.local(
            acts.check_slots,
            acts.CheckSlotsInput(
                service=req.service,
                start=req.start,
                time_zone=self._inp.salon_timezone,
                exclude_hold_id=exclude_hold_id,
            ),
            summary=f"Cal.com free time: {req.service.name}",
        )
        return result

    async def _claim(
        self, hold_id: str, segments: list[SegmentView], expires_at: datetime
    ) -> acts.AcquireClaimsResult | None:
        result: acts.AcquireClaimsResult | None = await self.local(
            acts.acquire_claims,
            acts.AcquireClaimsInput(
                hold_id=hold_id,
                call_id=self._inp.call_id,
                segments=segments,
                expires_at=expires_at,
            ),
            summary="claim staffed segments",
        )
        return result

    async def _place_in_turn(
        self, req: CheckAvailability, *, exclude_hold_id: str | None
    ) -> Placed:
        """The check, then the claim (workflows started before ``CHECK_WITH_CLAIM``)."""
        service = req.service
        check = await self._check_slots(req, exclude_hold_id=exclude_hold_id)
        if check is None:
            return Placed(None, "failed")
        if not check.free:
            return Placed(
                None, "slot_taken", "check", list(check.alternatives), day_full=check.day_full
            )
        segments = segment_views(service, req.start)
        now = workflow.now()
        expires_at = now + timedelta(seconds=self._inp.hold_seconds)
        hold_id = f"hold-{workflow.uuid4().hex[:16]}"
        acquired = await self._claim(hold_id, segments, expires_at)
        if acquired is None:
            return Placed(None, "failed")
        if not acquired.acquired:
            return await self._taken(service, req.start, "claim", exclude_hold_id)
        return await self._reserve(
            service, req.start, segments, hold_id, expires_at, now, exclude_hold_id
        )

    async def _reserve(
        self,
        service: Service,
        start: datetime,
        segments: list[SegmentView],
        hold_id: str,
        expires_at: datetime,
        now: datetime,
        exclude_hold_id: str | None,
    ) -> Placed:
        """Reserve every staffed segment at Cal.com (together) for the claimed hold."""
        staffed = [s for s in segments if s.staff]
        reservations = await asyncio.gather(
            *(
                workflow.execute_local_activity(
                    acts.reserve_segment,
                    acts.ReserveSegmentInput(hold_id=hold_id, segment=s, until=expires_at),
                    summary=f"Cal.com reserve segment {s.key}",
                    **CRITICAL_PATH.kwargs(),
                )
                for s in staffed
            ),
            return_exceptions=True,
        )
        uids = {
            s.key: r.reservation_uid
            for s, r in zip(staffed, reservations, strict=True)
            if isinstance(r, acts.ReserveSegmentResult)
        }
        if any(isinstance(r, BaseException) and is_slot_unavailable(r) for r in reservations):
            await self.release(hold_id, list(uids.values()), "failed")
            return await self._taken(service, start, "reserve", exclude_hold_id)
        missing = [s.key for s in staffed if s.key not in uids]
        if missing:
            # Cal.com failed (not refused) the reservation: the claims still keep our own
            # callers off the time, the booking goes ahead without a reservation for
            # these segments. Ops see it in the state, the details and a metric.
            for s, r in zip(staffed, reservations, strict=True):
                if isinstance(r, BaseException):
                    cause = r.cause if isinstance(r, ActivityError) else r
                    self.failures.append(Step(f"reserve segment {s.key}", str(cause)))
            await workflow.execute_local_activity(
                acts.record_degraded_hold,
                acts.RecordDegradedHoldInput(hold_id=hold_id, segment_keys=missing),
                summary="degraded hold: no Cal.com reservation",
                **METRICS.kwargs(),
            )
        hold = Hold(
            hold_id=hold_id,
            service=service,
            start=segments[0].start,
            end=segments[-1].end,
            segments=tuple(
                s.model_copy(update={"calcom_reservation_uid": uids.get(s.key), "status": "held"})
                if s.staff
                else s
                for s in segments
            ),
            expires_at=expires_at,
            placed_at=now,
            degraded=bool(missing),
        )
        return Placed(hold, "held")

    async def _taken(
        self, service: Service, start: datetime, stage: str, exclude_hold_id: str | None
    ) -> Placed:
        alternatives, day_full = await self.alternatives(service, start, exclude_hold_id)
        return Placed(None, "slot_taken", stage, alternatives, day_full=day_full)

    async def alternatives(
        self, service: Service, start: datetime, exclude_hold_id: str | None = None
    ) -> tuple[list[Alternative], bool]:
        found = await self.local(
            acts.find_alternatives,
            acts.FindAlternativesInput(
                service=service,
                requested_start=start,
                time_zone=self._inp.salon_timezone,
                exclude_hold_id=exclude_hold_id,
            ),
            summary=f"find alternatives for {service.name}",
        )
        if found is None:
            return [], False
        return list(found.alternatives), found.day_full

    async def extend(self, hold: Hold, seconds: int) -> tuple[Hold | None, str]:
        """Extend ``hold`` by ``seconds``: (the extended hold, "extended"), or (None, why
        not: "extend_limit", "expired", "lost", "failed"). Never shortens a hold."""
        now = workflow.now()
        target = max(hold.expires_at, now) + timedelta(seconds=seconds)
        if (
            hold.extensions_used >= self._inp.max_extensions
            or (target - hold.placed_at).total_seconds() > self._inp.max_hold_total_seconds
        ):
            return None, "extend_limit"
        result = await self.local(
            acts.extend_hold,
            acts.ExtendHoldInput(
                hold_id=hold.hold_id, segments=list(hold.segments), expires_at=target
            ),
            summary="extend hold",
        )
        if result is None:
            return None, "failed"
        if not result.extended:
            return None, "lost" if result.lost else "expired"
        return replace(hold, expires_at=target, extensions_used=hold.extensions_used + 1), (
            "extended"
        )

    async def validate(self, hold: Hold) -> bool:
        validity = await self.local(
            acts.validate_hold,
            acts.ValidateHoldInput(hold_id=hold.hold_id),
            summary="re-validate hold",
        )
        return validity is not None and validity.valid

    async def release(self, hold_id: str, uids: list[str], outcome: ReleaseOutcome) -> None:
        await workflow.execute_local_activity(
            acts.release_hold,
            acts.ReleaseHoldInput(hold_id=hold_id, reservation_uids=uids, outcome=outcome),
            summary=f"release hold ({outcome})",
            **CLEANUP.kwargs(),
        )
