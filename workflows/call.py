"""The call workflow: one per Retell call (``call-<call_id>``).

It holds a checked slot for the caller with a durable timer, books all staffed segments
in parallel when asked, and compensates so nothing is left half-booked. It does no I/O
itself: every Cal.com and database step is an activity.

Concurrency model: updates that change the hold take ``self._lock``; a booking runs as a
workflow task of its own (so ``start_booking`` can answer ``pending`` within the caller's
patience while the booking continues durably) and ``status == BOOKING`` keeps the other
handlers and the hold timer away from the hold meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.alternatives import AlternativeActivities
    from activities.bookings import BookingActivities
    from activities.holds import HoldActivities
    from activities.models import (
        AcquireClaims,
        ExtendHoldRequest,
        FinalizeBooking,
        FindAlternatives,
        RecordBookingOutcome,
        ReleaseHold,
        ReleaseOutcome,
        ReserveSegment,
        SlotCheck,
        ValidateHold,
    )
    from domain.catalog import Service
    from domain.planning import plan_service
    from workflows import saga
    from workflows.activity_options import CLEANUP, CRITICAL_PATH, RECORD
    from workflows.details import details_markdown
    from workflows.messages import (
        Alternative,
        Attempt,
        BookingOutcome,
        BookingResult,
        BookingStatus,
        CallAnalyzed,
        CallEnded,
        CallInput,
        CallState,
        CancelHold,
        CheckAvailability,
        ExtendHold,
        HoldOutcome,
        HoldResult,
        OutsideBooking,
        SegmentView,
        StartBooking,
    )
    from workflows.search_attributes import BOOKING_STATUS, SERVICE_NAME, SLOT_START

MAX_ATTEMPTS_KEPT = 50
MAX_ANSWERS_KEPT = 100


@workflow.defn(name="CallWorkflow")
class CallWorkflow:
    @workflow.init
    def __init__(self, inp: CallInput) -> None:
        self._inp = inp
        self._state = CallState(call_id=inp.call_id)
        self._lock = asyncio.Lock()
        self._service: Service | None = None
        self._hold_version = 0
        self._lost_pending = False
        self._hold_started: datetime | None = None
        self._answers: dict[str, Any] = {}
        self._booking_task: asyncio.Task[BookingResult] | None = None
        # True while our claims and reservations are held (independent of the phase shown
        # to ops: during BOOKING the hold is still ours until the bookings consume it).
        self._hold_active = False

    # ------------------------------------------------------------------ run loop
    @workflow.run
    async def run(self, inp: CallInput) -> CallState:
        """Wait for the call's messages; release the hold when its timer fires, when an
        outside booking takes it, and when the call ends. Close when the call is over and
        nothing is pending (or after the absolute lifetime cap)."""
        self._publish()
        deadline = workflow.now() + timedelta(seconds=inp.lifetime_seconds)
        while not (self._state.call_ended and not self._booking_running()):
            now = workflow.now()
            if now >= deadline:
                break
            version = self._hold_version
            timeout = deadline - now
            expires = self._state.hold_expires_at if self._timer_armed() else None
            if expires is not None:
                timeout = min(timeout, expires - now)
            if timeout > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda version=version: (  # type: ignore[misc]
                            self._hold_version != version
                            or (self._state.call_ended and not self._booking_running())
                            or self._lost_pending
                        ),
                        timeout=timeout,
                        timeout_summary="hold expiry" if expires else "call lifetime",
                    )
                except TimeoutError:
                    pass
            async with self._lock:
                if self._lost_pending:
                    self._lost_pending = False
                    if self._timer_armed():
                        await self._release_hold("lost")
                elif (
                    self._timer_armed()
                    and version == self._hold_version
                    and self._state.hold_expires_at is not None
                    and workflow.now() >= self._state.hold_expires_at
                ):
                    await self._release_hold("expired")

        # The call is over (or the lifetime cap passed): nothing may stay held.
        if self._booking_task is not None:
            await self._booking_task
        async with self._lock:
            if self._holding():
                await self._release_hold("released")
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._publish()
        return self._state

    # ------------------------------------------------------------------ updates
    @workflow.update
    async def check_availability(self, req: CheckAvailability) -> HoldResult:
        """Check the slot and hold it; answers ``held`` or ``slot_taken`` + alternatives."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        if self._state.status == BookingStatus.BOOKING:
            return self._hold_result("failed")
        async with self._lock:
            result = await self._check(req)
        return self._remember(req.request_id, result)

    @workflow.update
    async def extend_hold(self, req: ExtendHold) -> HoldResult:
        """Renew the hold (bounded by ``max_extensions`` and ``max_hold_total_seconds``)."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        async with self._lock:
            result = await self._extend(req)
        return self._remember(req.request_id, result)

    @workflow.update
    async def cancel_hold(self, req: CancelHold) -> HoldResult:
        """Release the hold at once (the caller does not want the slot)."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        async with self._lock:
            if self._state.status == BookingStatus.BOOKING:
                result = self._hold_result("failed")
            elif self._holding():
                await self._release_hold("released")
                result = self._hold_result("cancelled")
            elif self._state.hold_lost:
                result = await self._lost_result()
            else:
                result = self._hold_result("no_hold")
        return self._remember(req.request_id, result)

    @workflow.update
    async def start_booking(self, req: StartBooking) -> BookingResult:
        """Book the held slot. Answers within the booking budget; ``pending`` means the
        booking goes on durably and ``booking_status`` will report its end."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        if self._booking_task is None or self._booking_task.done():
            if not req.customer.name.strip():
                return self._booking_result("invalid_input", reason="missing_name")
            if self._state.status == BookingStatus.BOOKED and not (
                req.check and not self._same_slot(req.check)
            ):
                # A repeated start_booking for the booked slot: same answer, no 2nd booking.
                assert self._state.booking is not None
                return self._remember(req.request_id, self._state.booking)
            async with self._lock:
                early = await self._prepare_booking(req)
                if early is not None:
                    return self._remember(req.request_id, early)
                self._set_status(BookingStatus.BOOKING)
                self._booking_task = asyncio.create_task(self._book(req))
        task = self._booking_task
        try:
            await workflow.wait_condition(
                task.done,
                timeout=timedelta(seconds=self._inp.booking_budget_seconds),
                timeout_summary="booking answer budget",
            )
        except TimeoutError:
            return self._booking_result("pending")
        return self._remember(req.request_id, task.result())

    # ------------------------------------------------------------------ queries, signals
    @workflow.query
    def state(self) -> CallState:
        return self._state

    @workflow.query
    def booking_status(self) -> BookingResult:
        if self._state.status == BookingStatus.BOOKING:
            return self._booking_result("pending")
        if self._state.booking is not None:
            return self._state.booking
        return self._booking_result("no_booking")

    @workflow.signal
    def call_ended(self, sig: CallEnded) -> None:
        self._state.call_ended = True
        self._attempt("call_ended", sig.reason or "ended")

    @workflow.signal
    def call_analyzed(self, sig: CallAnalyzed) -> None:
        self._state.call_analysis = sig
        self._attempt("call_analyzed", "successful" if sig.successful else "recorded")

    @workflow.signal
    def outside_booking(self, sig: OutsideBooking) -> None:
        """Someone booked time on a resource we hold: if it overlaps, the hold is lost."""
        hit = self._timer_armed() and any(
            s.staff and s.resource == sig.resource and s.start < sig.end and sig.start < s.end
            for s in self._state.segments
        )
        self._attempt("outside_booking", "hold_lost" if hit else "no_overlap", sig.calcom_uid)
        if hit:
            self._state.hold_lost = True
            self._lost_pending = True

    # ------------------------------------------------------------------ hold steps
    async def _check(self, req: CheckAvailability) -> HoldResult:
        """Plan, check slots, claim, reserve; undo what was taken if any step fails."""
        if self._holding() and self._same_slot(req) and not self._state.hold_lost:
            return self._hold_result("held")
        plan = plan_service(req.service, req.start)
        segments = [
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
        # Our own previous hold would block an overlapping new one: release it first.
        if self._holding() and _overlap(self._state.segments, segments):
            await self._release_hold("superseded")

        check = await self._local(
            HoldActivities.check_slots,
            SlotCheck(segments=segments, time_zone=self._inp.salon_timezone),
            summary=f"Cal.com slots: {req.service.name}",
        )
        if check is None:
            return self._hold_result("failed")
        if not check.free:
            return await self._taken(req.service, req.start, "slot_taken", "check")

        hold_id = f"hold-{workflow.uuid4().hex[:16]}"
        acquired = await self._local(
            HoldActivities.acquire_claims,
            AcquireClaims(
                hold_id=hold_id,
                call_id=self._inp.call_id,
                segments=segments,
                hold_seconds=self._inp.hold_seconds,
            ),
            summary="claim staffed segments",
        )
        if acquired is None:
            return self._hold_result("failed")
        if not acquired.acquired:
            return await self._taken(req.service, req.start, "slot_taken", "claim")

        staffed = [s for s in segments if s.staff]
        reservations = await asyncio.gather(
            *(
                self._local(
                    HoldActivities.reserve_segment,
                    ReserveSegment(hold_id=hold_id, segment=s),
                    summary=f"Cal.com reserve segment {s.key}",
                    raise_errors=True,
                )
                for s in staffed
            ),
            return_exceptions=True,
        )
        uids = {s.key: r for s, r in zip(staffed, reservations, strict=True) if isinstance(r, str)}
        if len(uids) != len(staffed):
            await self._release(hold_id, list(uids.values()), "failed")
            taken = any(_is_slot_unavailable(r) for r in reservations)
            if taken:
                return await self._taken(req.service, req.start, "slot_taken", "reserve")
            return self._hold_result("failed")

        if self._holding():  # a different, non-overlapping earlier hold of this call
            await self._release_hold("superseded")
        self._service = req.service
        self._hold_started = workflow.now()
        self._state.service = req.service.name
        self._state.start = plan.start
        self._state.end = plan.end
        self._state.hold_id = hold_id
        # The durable timer is the authority; the database's expiry (set by the activity's
        # clock a moment earlier) is the safety net. Never promise more than either.
        self._state.hold_expires_at = min(
            acquired.expires_at, workflow.now() + timedelta(seconds=self._inp.hold_seconds)
        )
        self._state.hold_lost = False
        self._state.extensions_used = 0
        self._hold_active = True
        self._hold_version += 1  # wakes the run loop: arm the timer for this hold
        self._state.segments = [
            s.model_copy(update={"calcom_reservation_uid": uids[s.key], "status": "held"})
            if s.staff
            else s
            for s in segments
        ]
        self._set_status(BookingStatus.HOLDING)
        self._attempt("check", "held", f"{req.service.name} {plan.start.isoformat()}")
        return self._hold_result("held")

    async def _extend(self, req: ExtendHold) -> HoldResult:
        if self._state.status == BookingStatus.BOOKING:
            return self._hold_result("held")
        if not self._holding():
            if self._state.hold_lost:
                return await self._lost_result()
            if self._state.status == BookingStatus.EXPIRED:
                return self._hold_result("expired")
            return self._hold_result("no_hold")
        seconds = req.seconds or self._inp.hold_seconds
        assert self._hold_started is not None and self._state.hold_id is not None
        assert self._state.hold_expires_at is not None
        # Extending adds time; it never shortens the hold the caller was promised.
        now = workflow.now()
        target = max(self._state.hold_expires_at, now) + timedelta(seconds=seconds)
        held_total = (target - self._hold_started).total_seconds()
        if (
            self._state.extensions_used >= self._inp.max_extensions
            or held_total > self._inp.max_hold_total_seconds
        ):
            self._attempt("extend", "extend_limit")
            return self._hold_result("extend_limit")
        result = await self._local(
            HoldActivities.extend_hold,
            ExtendHoldRequest(
                hold_id=self._state.hold_id,
                hold_seconds=int((target - now).total_seconds()),
                segments=self._state.segments,
            ),
            summary="extend hold",
        )
        if result is None:
            return self._hold_result("failed")
        if not result.extended and result.lost:
            self._state.hold_lost = True
            await self._release_hold("lost")
            return await self._lost_result()
        if not result.extended:
            await self._release_hold("expired")
            return self._hold_result("expired")
        self._state.hold_expires_at = result.expires_at
        self._state.extensions_used += 1
        self._hold_version += 1
        self._attempt("extend", "extended")
        self._publish()
        return self._hold_result("extended")

    async def _release_hold(self, outcome: ReleaseOutcome) -> None:
        """Release the current hold (claims and reservations) and record why."""
        if self._state.hold_id is None:
            return
        uids = [s.calcom_reservation_uid for s in self._state.segments if s.calcom_reservation_uid]
        await self._release(self._state.hold_id, uids, outcome)
        self._hold_active = False
        self._state.hold_expires_at = None
        self._state.segments = [
            s.model_copy(update={"status": "released"}) if s.staff else s
            for s in self._state.segments
        ]
        self._hold_version += 1
        self._attempt("release", outcome)
        status = BookingStatus.EXPIRED if outcome == "expired" else BookingStatus.RELEASED
        self._set_status(status)

    async def _release(self, hold_id: str, uids: list[str], outcome: ReleaseOutcome) -> None:
        await workflow.execute_local_activity_method(
            HoldActivities.release_hold,
            ReleaseHold(hold_id=hold_id, reservation_uids=uids, outcome=outcome),
            summary=f"release hold ({outcome})",
            **CLEANUP,
        )

    async def _taken(
        self, service: Service, start: datetime, outcome: HoldOutcome, stage: str
    ) -> HoldResult:
        self._attempt("check", outcome, stage)
        alternatives = await self._alternatives(service, start)
        return HoldResult(
            outcome=outcome, available=False, service=service.name, alternatives=alternatives
        )

    async def _lost_result(self) -> HoldResult:
        assert self._service is not None and self._state.start is not None
        alternatives = await self._alternatives(self._service, self._state.start)
        return self._hold_result("hold_lost", alternatives=alternatives)

    async def _alternatives(self, service: Service, start: datetime) -> list[Alternative]:
        found = await self._local(
            AlternativeActivities.find_alternatives,
            FindAlternatives(
                service=service, requested_start=start, time_zone=self._inp.salon_timezone
            ),
            summary=f"find alternatives for {service.name}",
        )
        return found.alternatives if found is not None else []

    # ------------------------------------------------------------------ booking steps
    async def _prepare_booking(self, req: StartBooking) -> BookingResult | None:
        """Make sure a hold exists for the booking; an answer here ends the update early."""
        if req.check is not None and not (self._holding() and self._same_slot(req.check)):
            checked = await self._check(req.check)
            if not checked.available:
                return self._booking_result(
                    "failed" if checked.outcome == "failed" else "slot_taken",
                    alternatives=checked.alternatives,
                    reason=checked.outcome,
                )
            return None
        if self._holding():
            return None
        if self._state.hold_lost:
            lost = await self._lost_result()
            return self._booking_result(
                "slot_taken", alternatives=lost.alternatives, reason="hold_lost"
            )
        if self._state.status == BookingStatus.EXPIRED and self._service and self._state.start:
            return None  # _book places a fresh hold if the slot is still free
        return self._booking_result("failed", reason="no_hold")

    async def _book(self, req: StartBooking) -> BookingResult:
        started = workflow.now()
        fresh = False
        valid = self._holding() and await self._hold_still_ours()
        if not valid:
            assert self._service is not None and self._state.start is not None
            if self._holding():
                await self._release_hold("expired")
            checked = await self._check(
                CheckAvailability(service=self._service, start=self._state.start)
            )
            if not checked.available:
                result = self._booking_result(
                    "hold_expired", alternatives=checked.alternatives, reason=checked.outcome
                )
                return self._finish_booking(result, BookingStatus.EXPIRED)
            fresh = True
        self._set_status(BookingStatus.BOOKING)
        assert self._service is not None and self._state.hold_id is not None
        customer = req.customer.model_copy(
            update={"phone": req.customer.phone or self._inp.from_number}
        )
        outcome = await saga.book_all(
            call_id=self._inp.call_id,
            hold_id=self._state.hold_id,
            service=self._service.name,
            customer=customer,
            time_zone=self._inp.salon_timezone,
            segments=self._state.segments,
        )
        self._state.segments = outcome.segments
        if outcome.booked:
            appointment_id = f"apt_{workflow.uuid4().hex[:16]}"
            assert self._state.start is not None and self._state.end is not None
            await workflow.execute_activity_method(
                BookingActivities.finalize_booking,
                FinalizeBooking(
                    appointment_id=appointment_id,
                    call_id=self._inp.call_id,
                    hold_id=self._state.hold_id,
                    service=self._service.name,
                    start=self._state.start,
                    end=self._state.end,
                    customer=customer,
                    segments=outcome.segments,
                    started_at=started,
                    compound=self._service.is_compound,
                ),
                summary="record appointment",
                **RECORD,
            )
            self._state.appointment_id = appointment_id
            self._state.hold_expires_at = None
            self._hold_active = False
            result = self._booking_result(
                "booked", appointment_id=appointment_id, fresh_hold=fresh, name=customer.name
            )
            self._attempt("book", "booked", appointment_id)
            return self._finish_booking(result, BookingStatus.BOOKED)

        await self._release_hold("failed")
        await workflow.execute_activity_method(
            BookingActivities.record_booking_outcome,
            RecordBookingOutcome(
                outcome="slot_taken" if outcome.slot_taken else "failed",
                compound=self._service.is_compound,
                started_at=started,
                compensated_segments=outcome.compensated,
                reason="slot_taken" if outcome.slot_taken else "calcom_error",
            ),
            summary="record booking outcome",
            **RECORD,
        )
        self._attempt(
            "book", "slot_taken" if outcome.slot_taken else "failed", "; ".join(outcome.errors)
        )
        if outcome.slot_taken:
            assert self._state.start is not None
            alternatives = await self._alternatives(self._service, self._state.start)
            result = self._booking_result(
                "slot_taken", alternatives=alternatives, reason="slot_taken"
            )
            return self._finish_booking(result, BookingStatus.RELEASED)
        return self._finish_booking(
            self._booking_result("failed", reason="calcom_error"), BookingStatus.FAILED
        )

    async def _hold_still_ours(self) -> bool:
        assert self._state.hold_id is not None
        validity = await self._local(
            HoldActivities.validate_hold,
            ValidateHold(hold_id=self._state.hold_id, segments=self._state.segments),
            summary="re-validate hold",
        )
        return validity is not None and validity.valid

    def _finish_booking(self, result: BookingResult, status: BookingStatus) -> BookingResult:
        self._state.booking = result
        self._hold_version += 1  # wakes the run loop: the hold timer no longer applies
        self._set_status(status)
        return result

    # ------------------------------------------------------------------ plumbing
    async def _local(self, fn: Any, arg: Any, *, summary: str, raise_errors: bool = False) -> Any:
        """Run a short step as a local activity; ``None`` when it failed for good."""
        try:
            return await workflow.execute_local_activity_method(
                fn,
                arg,
                summary=summary,
                **CRITICAL_PATH,
            )
        # A local activity that ran out of time while backing off (e.g. after a 429 with
        # a long reset) resolves with the bare failure, not wrapped in ActivityError.
        except (ActivityError, ApplicationError, TemporalTimeoutError) as exc:
            if raise_errors:
                raise
            self._attempt("error", summary, str(exc.cause or exc))
            return None

    def _holding(self) -> bool:
        return self._hold_active

    def _timer_armed(self) -> bool:
        """The hold is ours and no booking is consuming it."""
        return self._hold_active and not self._booking_running()

    def _booking_running(self) -> bool:
        return self._booking_task is not None and not self._booking_task.done()

    def _same_slot(self, req: CheckAvailability) -> bool:
        return self._state.service == req.service.name and self._state.start == req.start

    def _hold_result(
        self, outcome: HoldOutcome, alternatives: list[Alternative] | None = None
    ) -> HoldResult:
        holding = self._holding() and outcome in ("held", "extended", "extend_limit")
        expires = self._state.hold_expires_at if holding else None
        left = (
            # Rounded: the agent says "90 Sekunden", not the 89.98 left after the reservations.
            max(0, round((expires - workflow.now()).total_seconds()))
            if expires is not None
            else None
        )
        return HoldResult(
            outcome=outcome,
            available=holding,
            service=self._state.service,
            start=self._state.start,
            end=self._state.end,
            hold_id=self._state.hold_id if holding else None,
            hold_expires_at=expires,
            hold_seconds_left=left,
            alternatives=alternatives or [],
        )

    def _booking_result(
        self,
        status: BookingOutcome,
        *,
        appointment_id: str | None = None,
        alternatives: list[Alternative] | None = None,
        reason: str | None = None,
        fresh_hold: bool = False,
        name: str | None = None,
    ) -> BookingResult:
        return BookingResult(
            status=status,
            booked=status == "booked",
            appointment_id=appointment_id,
            service=self._state.service,
            start=self._state.start,
            end=self._state.end,
            segments=list(self._state.segments),
            alternatives=alternatives or [],
            customer_name=name,
            fresh_hold=fresh_hold,
            reason=reason,
        )

    def _cached(self, request_id: str | None) -> Any:
        return self._answers.get(request_id) if request_id else None

    def _remember(self, request_id: str | None, result: Any) -> Any:
        if request_id and getattr(result, "status", None) != "pending":
            if len(self._answers) >= MAX_ANSWERS_KEPT:
                self._answers.pop(next(iter(self._answers)))
            self._answers[request_id] = result
        return result

    def _attempt(self, kind: str, outcome: str, detail: str | None = None) -> None:
        self._state.attempts.append(
            Attempt(at=workflow.now(), kind=kind, outcome=outcome, detail=detail)
        )
        del self._state.attempts[:-MAX_ATTEMPTS_KEPT]

    def _set_status(self, status: BookingStatus) -> None:
        self._state.status = status
        self._publish()

    def _publish(self) -> None:
        """Search attributes and the UI's current details follow the phase."""
        updates: list[SearchAttributeUpdate[Any]] = [
            BOOKING_STATUS.value_set(self._state.status.value)
        ]
        if self._state.service:
            updates.append(SERVICE_NAME.value_set(self._state.service))
        if self._state.start:
            updates.append(SLOT_START.value_set(self._state.start))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(details_markdown(self._state))


def _overlap(a: list[SegmentView], b: list[SegmentView]) -> bool:
    return any(
        x.staff and y.staff and x.resource == y.resource and x.start < y.end and y.start < x.end
        for x in a
        for y in b
    )


def _is_slot_unavailable(exc: object) -> bool:
    if isinstance(exc, ActivityError):
        exc = exc.cause
    return isinstance(exc, ApplicationError) and exc.type == "SlotUnavailable"
