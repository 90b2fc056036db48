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
    from contracts.activities import ReleaseOutcome, segment_views
    from contracts.failures import SLOT_UNAVAILABLE
    from contracts.messages import Alternative, CallInput, CheckAvailability, SegmentView
    from domain.catalog import Service
    from workflows.activity_options import CLEANUP, CRITICAL_PATH, METRICS

# Patch ids (issue 17), when the stylist is known: the check and the claim run together;
# then check, claim and reservations in one local activity.
CHECK_WITH_CLAIM = "check-with-claim"
PLACE_IN_ONE = "place-in-one"
# The answer's workflow task carries the answer's own commands only (CallWorkflow): the
# search attributes a message changes are upserted in a task of their own right after it
# (bench: the server indexes them before it can answer, ~2 ms of every check), and the
# call's lifetime is one timer for the whole run instead of being cancelled and started
# again around every hold. Implies PLACE_IN_ONE.
LEAN_ANSWER = "lean-answer-task"


@dataclass(frozen=True)
class Hold:
    """A slot held for the caller: claims in PostgreSQL plus Cal.com reservations, every
    staffed segment with one stylist."""

    hold_id: str
    service: Service
    start: datetime
    end: datetime
    segments: tuple[SegmentView, ...]
    expires_at: datetime
    placed_at: datetime
    extensions_used: int = 0
    degraded: bool = False  # some segment has no Cal.com reservation
    stylist: str | None = None  # key of the stylist it is with (every staffed segment's)
    stylist_name: str | None = None
    requested: str | None = None  # the stylist the caller asked for (None: anyone)

    @property
    def reservation_uids(self) -> list[str]:
        return [s.calcom_reservation_uid for s in self.segments if s.calcom_reservation_uid]

    def is_for(self, service: Service, start: datetime, stylist: str | None = None) -> bool:
        """Is this the slot asked for (with ``stylist``, or with anyone when None)?"""
        return (
            self.service.name == service.name
            and self.start == start
            and (stylist is None or stylist == self.stylist)
        )

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

    @classmethod
    def check_said_no(cls, check: acts.CheckSlotsResult) -> Placed:
        """Taken at the check, with the check's own alternatives."""
        return cls(None, "slot_taken", "check", list(check.alternatives), check.day_full)


@dataclass(frozen=True)
class Step:
    """A local activity's failure, kept for the call's attempt log."""

    summary: str
    error: str


def is_slot_unavailable(exc: BaseException) -> bool:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return isinstance(cause, ApplicationError) and cause.type == SLOT_UNAVAILABLE


class HoldSteps:
    """The hold steps of one call; ``failures`` collects what failed for the log."""

    def __init__(self, inp: CallInput) -> None:
        self._inp = inp
        self.failures: list[Step] = []
        self._in_one: bool | None = None
        self._lean = False

    def versions(self) -> None:
        """The code version of this run, asked once, as early as the run starts
        (``CallWorkflow.run``; a cold call's first check runs before it and asks here
        first): the markers and the change-version search attribute then go with the
        call's first workflow task (``call_started``), not with the caller's first check.
        The newest patch implies the older: a new run has one marker and one
        change-version upsert. A run from before a patch answers False throughout."""
        if self._in_one is None:
            self._lean = workflow.patched(LEAN_ANSWER)
            self._in_one = self._lean or workflow.patched(PLACE_IN_ONE)

    def in_one(self) -> bool:
        """Does this run place holds in one local activity (patch ``place-in-one``)?"""
        self.versions()
        return bool(self._in_one)

    def lean(self) -> bool:
        """Does the answer's workflow task carry the answer's commands only (patch
        ``lean-answer-task``)? False until the version is asked (a message before the
        run's start that places no hold publishes as before)."""
        return self._lean

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

    async def place(
        self, req: CheckAvailability, *, exclude_hold_id: str | None, prefer: str | None = None
    ) -> Placed:
        """Check the slot, then claim and reserve it with the first free stylist who can
        be had (another caller may claim the first one meanwhile: then the next); undo
        what was taken if the slot turns out to be someone else's. ``prefer``: for a
        caller without a wish, the stylist to take first when free (the one they heard).

        When no earlier hold is to be left out, everything up to the first stylist's
        reservations runs as one local activity (:meth:`_place_in_one`); with a stylist
        known before the check (asked for by name, or the service's only one) its check
        and claim run together. Workflows from before those patches keep their order: a
        known stylist's check and claim as two local activities at once
        (:meth:`_place_together`), or before that one after the other."""
        service = req.service
        known = self._known_stylist(req)
        in_one = self.in_one()
        together = in_one or workflow.patched(CHECK_WITH_CLAIM)
        if exclude_hold_id is None and in_one:
            return await self._place_in_one(req, known, prefer)
        if known is not None and exclude_hold_id is None and together:
            return await self._place_together(req, known, prefer)
        check = await self._check(req, prefer, exclude_hold_id)
        if check is None:
            return Placed(None, "failed")
        if not check.free:
            return Placed.check_said_no(check)
        # A check without candidates (recorded before stylists existed): the service's own.
        candidates = check.candidates or [acts.StylistRef(key=service.stylists[0])]
        return await self._claim_candidates(req, candidates, "claim", exclude_hold_id)

    async def _claim_candidates(
        self,
        req: CheckAvailability,
        candidates: list[acts.StylistRef],
        stage: str,
        exclude_hold_id: str | None,
    ) -> Placed:
        """Claim and reserve with each free candidate in turn until one can be had."""
        for candidate in candidates:
            if candidate.key not in req.service.stylists:
                continue
            tried = await self._claim_and_reserve(req, candidate)
            if tried.hold is not None or tried.outcome == "failed":
                return tried
            stage = tried.stage
        return await self._taken(req.service, req.start, req.stylist, stage, exclude_hold_id)

    async def _claim_and_reserve(self, req: CheckAvailability, who: acts.StylistRef) -> Placed:
        """Claim every staffed segment with ``who``, then reserve them at Cal.com. Ends
        "held", "failed", or "slot_taken" (nothing left behind) at stage claim/reserve."""
        service = req.service
        segments = segment_views(service, req.start, who.key)
        now, expires_at, hold_id = self._new_hold()
        acquired = await self._claim(hold_id, segments, expires_at)
        if acquired is None:
            return Placed(None, "failed")
        if not acquired.acquired:
            return Placed(None, "slot_taken", "claim")
        return await self._reserve(req, who, segments, hold_id, expires_at, now)

    def _new_hold(self) -> tuple[datetime, datetime, str]:
        """Now, the new hold's expiry and its id. The one source of the hold's expiry: the
        claims and the timer use this instant, the reservations are made to outlive it."""
        now = workflow.now()
        return (
            now,
            now + timedelta(seconds=self._inp.hold_seconds),
            (f"hold-{workflow.uuid4().hex[:16]}"),
        )

    def _check_input(
        self, req: CheckAvailability, prefer: str | None, exclude_hold_id: str | None
    ) -> acts.CheckSlotsInput:
        return acts.CheckSlotsInput(
            service=req.service,
            start=req.start,
            time_zone=self._inp.salon_timezone,
            stylist=req.stylist,
            prefer=prefer,
            exclude_hold_id=exclude_hold_id,
        )

    def _claim_input(
        self, hold_id: str, segments: list[SegmentView], expires_at: datetime
    ) -> acts.AcquireClaimsInput:
        return acts.AcquireClaimsInput(
            hold_id=hold_id, call_id=self._inp.call_id, segments=segments, expires_at=expires_at
        )

    async def _check(
        self, req: CheckAvailability, prefer: str | None, exclude_hold_id: str | None
    ) -> acts.CheckSlotsResult | None:
        return await self.local(
            acts.check_slots,
            self._check_input(req, prefer, exclude_hold_id),
            summary=f"Cal.com free time: {req.service.name}",
        )

    async def _claim(
        self, hold_id: str, segments: list[SegmentView], expires_at: datetime
    ) -> acts.AcquireClaimsResult | None:
        return await self.local(
            acts.acquire_claims,
            self._claim_input(hold_id, segments, expires_at),
            summary="claim staffed segments",
        )

    def _known_stylist(self, req: CheckAvailability) -> str | None:
        """The stylist a hold for ``req`` can only be with, before any check: the one
        asked for, or the service's only one; None when the check must choose."""
        stylists = list(req.service.stylists)
        if req.stylist is not None:
            return req.stylist if req.stylist in stylists else None
        return stylists[0] if len(stylists) == 1 else None

    async def _place_in_one(
        self, req: CheckAvailability, key: str | None, prefer: str | None
    ) -> Placed:
        """Check, claim and reserve in one local activity (``place_hold``): with the
        stylist ``key`` (check and claim together), or for "anyone" with the first free
        stylist the check names; the others are tried as :meth:`place` tries them. A
        reservation Cal.com failed (not refused) is made again by :meth:`_reserve`."""
        now, expires_at, hold_id = self._new_hold()
        placed = await self.local(
            acts.place_hold,
            acts.PlaceHoldInput(
                stylist=key,
                check=self._check_input(req, prefer, hold_id),
                hold_id=hold_id,
                call_id=self._inp.call_id,
                expires_at=expires_at,
            ),
            summary=f"Cal.com free time, claim and reserve: {req.service.name}",
        )
        if placed is None:  # failed for good: the claim may be ours
            await self.release(hold_id, [], "failed")
            return Placed(None, "failed")
        check, claim = placed.check, placed.claim

        def segments(key: str) -> list[SegmentView]:  # as the step planned them
            return segment_views(req.service, req.start, key)

        if key is not None and claim is not None:  # the stylist known before the check
            who = await self._settle(req, key, hold_id, check, claim)
            if isinstance(who, Placed):
                return who
            return await self._reserve(
                req, who, segments(key), hold_id, expires_at, now, made=placed.reservations
            )
        if not check.free:
            return Placed.check_said_no(check)
        if placed.stylist is None or claim is None:  # none of them is this service's now
            return await self._claim_candidates(req, list(check.candidates), "claim", None)
        first = next(c for c in check.candidates if c.key == placed.stylist)
        rest = [c for c in check.candidates if c.key != placed.stylist]
        if not claim.acquired:
            if not claim.conflicting_calls:  # a retry's choice fell on another stylist
                await self.release(hold_id, [], "failed")
            return await self._claim_candidates(req, rest, "claim", None)
        tried = await self._reserve(
            req, first, segments(first.key), hold_id, expires_at, now, made=placed.reservations
        )
        if tried.hold is not None:
            return tried
        return await self._claim_candidates(req, rest, tried.stage, None)

    async def _place_together(self, req: CheckAvailability, key: str, prefer: str | None) -> Placed:
        """Check and claim at once with the stylist ``key``: the claim is guarded by the
        exclusion constraint whatever the check reads, and the check leaves out the hold
        being placed. If the check says no, the claim is released before answering (a
        taken slot costs one release more, a free one a round of local activities less).
        """
        segments = segment_views(req.service, req.start, key)
        now, expires_at, hold_id = self._new_hold()
        check, acquired = await asyncio.gather(
            self._check(req, prefer, exclude_hold_id=hold_id),
            self._claim(hold_id, segments, expires_at),
        )
        if check is None or acquired is None:
            if acquired is None or acquired.acquired:  # a claim that is, or may be, ours
                await self.release(hold_id, [], "failed")
            return Placed(None, "failed")
        who = await self._settle(req, key, hold_id, check, acquired)
        if isinstance(who, Placed):
            return who
        return await self._reserve(req, who, segments, hold_id, expires_at, now)

    async def _settle(
        self,
        req: CheckAvailability,
        key: str,
        hold_id: str,
        check: acts.CheckSlotsResult,
        acquired: acts.AcquireClaimsResult,
    ) -> acts.StylistRef | Placed:
        """After a check and a claim that ran together: the stylist to reserve with, or
        what the caller hears instead (the claim released when it was ours)."""
        who = next((c for c in check.candidates if c.key == key), None) if check.free else None
        if who is not None and acquired.acquired:
            return who
        if acquired.acquired:
            await self.release(hold_id, [], "failed")
        if not check.free:
            return Placed.check_said_no(check)
        stage = "claim" if who is not None else "check"
        return await self._taken(req.service, req.start, req.stylist, stage, None)

    async def _reserve(
        self,
        req: CheckAvailability,
        who: acts.StylistRef,
        segments: list[SegmentView],
        hold_id: str,
        expires_at: datetime,
        now: datetime,
        made: list[acts.ReservationTry] | None = None,
    ) -> Placed:
        """Reserve every staffed segment of the claimed hold at Cal.com (together), but
        for those ``made`` reserved already (by ``place_hold``)."""
        service = req.service
        staffed = [s for s in segments if s.staff]
        tried = {t.key: t for t in made or []}
        uids = {k: t.reservation_uid for k, t in tried.items() if t.reservation_uid}
        if any(t.refused for t in tried.values()):
            await self.release(hold_id, list(uids.values()), "failed")
            return Placed(None, "slot_taken", "reserve")
        todo = [s for s in staffed if s.key not in uids]
        reservations = await asyncio.gather(
            *(
                workflow.execute_local_activity(
                    acts.reserve_segment,
                    acts.ReserveSegmentInput(hold_id=hold_id, segment=s, until=expires_at),
                    summary=f"Cal.com reserve segment {s.key}",
                    **CRITICAL_PATH.kwargs(),
                )
                for s in todo
            ),
            return_exceptions=True,
        )
        uids |= {
            s.key: r.reservation_uid
            for s, r in zip(todo, reservations, strict=True)
            if isinstance(r, acts.ReserveSegmentResult)
        }
        if any(isinstance(r, BaseException) and is_slot_unavailable(r) for r in reservations):
            await self.release(hold_id, list(uids.values()), "failed")
            return Placed(None, "slot_taken", "reserve")
        missing = [s.key for s in staffed if s.key not in uids]
        if missing:
            # Cal.com failed (not refused) the reservation: the claims still keep our own
            # callers off the time, the booking goes ahead without a reservation for
            # these segments. Ops see it in the state, the details and a metric.
            for s, r in zip(todo, reservations, strict=True):
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
            stylist=who.key,
            stylist_name=who.name,
            requested=req.stylist,
        )
        return Placed(hold, "held")

    async def _taken(
        self,
        service: Service,
        start: datetime,
        stylist: str | None,
        stage: str,
        exclude_hold_id: str | None,
    ) -> Placed:
        alternatives, day_full = await self.alternatives(service, start, stylist, exclude_hold_id)
        return Placed(None, "slot_taken", stage, alternatives, day_full=day_full)

    async def alternatives(
        self,
        service: Service,
        start: datetime,
        stylist: str | None = None,
        exclude_hold_id: str | None = None,
    ) -> tuple[list[Alternative], bool]:
        """Alternatives to ``service`` at ``start`` for a caller who asked for ``stylist``
        (None: anyone)."""
        found = await self.local(
            acts.find_alternatives,
            acts.FindAlternativesInput(
                service=service,
                requested_start=start,
                time_zone=self._inp.salon_timezone,
                stylist=stylist,
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
