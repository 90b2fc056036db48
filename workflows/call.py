"""The call workflow: one per Retell call (``call-<call_id>``).

It holds a checked slot for the caller with a durable timer, books all staffed segments
in parallel when asked, and compensates so nothing is left half-booked. It does no I/O
itself: every Cal.com and database step is an activity (``workflows.holding``,
``workflows.booking``).

Concurrency model (after samples-python's ``safe_message_handlers``): every handler that
may change the hold decides under ``self._lock``, its "am I allowed?" guard included. A
booking runs as a task of its own (so ``start_booking`` can answer ``pending`` within the
caller's patience while the booking continues durably) on an immutable snapshot of the
hold; while it runs, every other message gets a true answer ("booking in progress") and
changes nothing, and the hold timer is disarmed. Cancelling the workflow (or reaching its
lifetime) compensates a running booking and releases the hold before it closes.

Callers who already have an appointment (find, cancel, move it) are handled by the
mixin :class:`workflows.call_appointments.ExistingAppointments`, under the same lock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from contracts.activities import AppointmentDetails, ReleaseOutcome
    from contracts.messages import (
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
        Customer,
        ExtendHold,
        HoldOutcome,
        HoldResult,
        OutsideBooking,
        StartBooking,
    )
    from workflows import saga
    from workflows.booking import book_hold
    from workflows.call_appointments import ExistingAppointments
    from workflows.details import details_markdown
    from workflows.hold_timer import HoldTimer
    from workflows.holding import Hold, HoldSteps, Placed, segment_views
    from workflows.search_attributes import BOOKING_STATUS, SERVICE_NAME, SLOT_START, STYLIST

MAX_ATTEMPTS_KEPT = 50
MAX_ANSWERS_KEPT = 100
R = TypeVar("R")
# Patch LEAN_ANSWER (workflows/holding.py): the search attributes a message changes are
# upserted in a workflow task of their own this long after the answer: off the caller's
# path and past a burst's peak (that task costs a worker and the server a few ms of CPU;
# bench, 100 checks at once), while ops still see a call's phase within seconds.
SEARCH_DELAY = timedelta(seconds=2)


@workflow.defn(name="CallWorkflow")
class CallWorkflow(ExistingAppointments):
    @workflow.init
    def __init__(self, inp: CallInput) -> None:
        self._inp = inp
        self._state = CallState(call_id=inp.call_id)
        self._lock = asyncio.Lock()
        self._steps = HoldSteps(inp)
        self._timer = HoldTimer()
        self._hold: Hold | None = None  # the hold that is ours now
        self._last_hold: Hold | None = None  # the latest hold, also after it ended
        self._lost_hold_id: str | None = None  # an outside booking hit this hold
        self._booking: asyncio.Task[BookingResult] | None = None
        self._fresh_hold = False  # the hold was placed again after expiring
        self._answers: dict[str, Any] = {}
        self._published: tuple[Any, ...] | None = None
        self._search_shown: dict[str, Any] | None = None  # indexed, or about to be
        self._search_pending: dict[str, SearchAttributeUpdate[Any]] = {}
        self._search_flush: asyncio.Task[None] | None = None
        self._init_appointments(inp)  # workflows/call_appointments.py

    # ------------------------------------------------------------------ run loop
    @workflow.run
    async def run(self, inp: CallInput) -> CallState:
        """Wait for the call's messages; release the hold when its timer fires or an
        outside booking takes it. Close when the call is over and no booking runs (or
        after the lifetime cap), releasing whatever is still held."""
        self._steps.versions()  # the code version of this run, before any message needs it
        self._publish()
        lifetime = timedelta(seconds=inp.lifetime_seconds)
        deadline = workflow.now() + lifetime
        # Lean runs: one timer for the call's lifetime; the hold's own timer ticks beside
        # it (nothing to cancel and start again when a hold comes or goes).
        ended = (
            asyncio.create_task(workflow.sleep(lifetime, summary="call lifetime"))
            if self._steps.lean()
            else None
        )

        def lived() -> bool:
            return ended.done() if ended is not None else workflow.now() >= deadline

        try:
            while not self._call_over() and not lived():
                await self._timer.sleep(
                    until=None if ended is not None else deadline,
                    wake=lambda: (
                        self._call_over()
                        or self._lost_hold_id is not None
                        or (ended is not None and ended.done())
                    ),
                )
                async with self._lock:
                    await self._on_wake()
            await self._close("released")
        except asyncio.CancelledError:
            # Cancelled by ops: undo a running booking, release the hold, then close.
            await saga.to_completion(self._close("cancelled"))
            raise
        return self._state

    async def _on_wake(self) -> None:
        if self._booking_running():
            return  # the booking owns the hold; its own Cal.com answers decide
        lost, self._lost_hold_id = self._lost_hold_id, None
        if self._hold is not None and self._hold.hold_id == lost:
            self._state.hold_lost = True
            await self._release("lost")
        elif self._hold is not None and self._timer.due():
            await self._release("expired")

    async def _close(self, outcome: ReleaseOutcome) -> None:
        if self._booking is not None and not self._booking.done():
            self._booking.cancel()  # compensates whatever Cal.com may have booked
        if self._booking is not None:
            await workflow.wait_condition(self._booking.done)
        if self._cancel is not None:
            await workflow.wait_condition(self._cancel.done)  # a begun cancel finishes
        async with self._lock:
            if self._hold is not None:
                await self._release(outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._publish(last=True)

    # ------------------------------------------------------------------ updates
    @workflow.update
    async def check_availability(self, req: CheckAvailability) -> HoldResult:
        """Check the slot and hold it; answers ``held`` or ``slot_taken`` + alternatives."""
        if (cached := self._cached(req.request_id)) is not None:
            return cached
        async with self._lock:
            if self._booking_running():
                result = self._hold_result("booking")
            else:
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
            if self._booking_running():
                result = self._hold_result("booking")
            elif self._hold is not None:
                await self._release("released")
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
        async with self._lock:
            if self._booking is not None and not self._booking.done():
                if req.check is not None and not self._booking_is_for(req.check):
                    # A different slot while one is being booked: say so, change nothing.
                    return self._booking_result("pending", reason="booking_in_progress")
                task = self._booking  # a retry of the running booking: join it
            else:
                early = await self._before_booking(req)
                if early is not None:
                    return self._remember(req.request_id, early)
                hold = self._hold
                if hold is None:  # _before_booking answers when there is no hold
                    return self._booking_result("failed", reason="no_hold")
                self._timer.set(None)  # the booking takes the hold over
                self._set_status(BookingStatus.BOOKING)
                self._move_target = None
                task = self._booking = asyncio.create_task(self._book(hold, req.customer))
        return await self._booking_answer(task, req.request_id)

    async def _booking_answer(
        self,
        task: asyncio.Task[BookingResult],
        request_id: str | None,
        previous: AppointmentDetails | None = None,
    ) -> BookingResult:
        """The booking task's result within the booking budget, else ``pending``."""
        try:
            await workflow.wait_condition(
                task.done,
                timeout=timedelta(seconds=self._inp.booking_budget_seconds),
                timeout_summary="booking answer budget",
            )
        except TimeoutError:
            pending = self._booking_result("pending")
            return pending.model_copy(update={"previous": previous.view}) if previous else pending
        if task.cancelled():
            return self._state.booking or self._booking_result("failed", reason="cancelled")
        return self._remember(request_id, task.result())

    # ------------------------------------------------------------------ queries, signals
    @workflow.query
    def state(self) -> CallState:
        return self._state

    @workflow.query
    def booking_status(self) -> BookingResult:
        if self._booking_running():
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
        """Someone booked time on a resource we hold: if it overlaps, the hold is lost.
        During a booking the booking's own Cal.com answers decide instead."""
        hold = self._hold
        hit = (
            hold is not None
            and not self._booking_running()
            and hold.hits(sig.resource, sig.start, sig.end)
        )
        self._attempt("outside_booking", "hold_lost" if hit else "no_overlap", sig.calcom_uid)
        if hold is not None and hit:
            self._lost_hold_id = hold.hold_id  # the run loop (or a running extend) releases it

    # ------------------------------------------------------------------ hold steps
    async def _check(
        self,
        req: CheckAvailability,
        *,
        exclude_hold_id: str | None = None,
        prefer: str | None = None,
    ) -> HoldResult:
        """Under the lock: hold ``req``'s slot, replacing this call's earlier hold
        (``exclude_hold_id``: claims that do not block it, a moved appointment's own;
        ``prefer``: the stylist to keep when free, instead of the one heard last)."""
        if self._hold is not None and self._hold.is_for(req.service, req.start, req.stylist):
            return self._hold_result("held")
        # Without a wish the caller stays with the stylist they heard last, when free.
        heard = self._hold or self._last_hold
        if prefer is None and heard is not None and req.stylist is None:
            prefer = heard.stylist
        # Our own previous hold would block an overlapping new one with the same stylist
        # (the one asked for, else the hold's own, whom the rule may well choose again):
        # release it first.
        if self._hold is not None and self._hold.overlaps(
            segment_views(req.service, req.start, req.stylist or self._hold.stylist)
        ):
            await self._release("superseded")
        placed = await self._place(req, prefer=prefer, exclude_hold_id=exclude_hold_id)
        if placed.hold is None:
            return HoldResult(
                outcome="failed" if placed.outcome == "failed" else "slot_taken",
                available=False,
                service=req.service.name,
                alternatives=placed.alternatives,
                day_full=placed.day_full,
            )
        if self._hold is not None:  # a different, non-overlapping earlier hold of this call
            await self._release("superseded")
        self._take(placed.hold)
        return self._hold_result("held")

    async def _place(
        self,
        req: CheckAvailability,
        prefer: str | None = None,
        *,
        exclude_hold_id: str | None = None,
    ) -> Placed:
        placed = await self._steps.place(req, exclude_hold_id=exclude_hold_id, prefer=prefer)
        self._log_step_failures()
        if placed.hold is None:
            self._attempt("check", placed.outcome, placed.stage)
        return placed

    def _take(self, hold: Hold) -> None:
        """``hold`` is ours now: show it, arm its timer."""
        self._hold = self._last_hold = hold
        self._timer.set(hold.expires_at)
        self._show(hold)
        self._state.hold_lost = False
        self._set_status(BookingStatus.HOLDING)
        with_whom = f" {hold.stylist}" if hold.stylist else ""
        self._attempt("check", "held", f"{hold.service.name} {hold.start.isoformat()}{with_whom}")

    def _show(self, hold: Hold) -> None:
        s = self._state
        s.service, s.start, s.end = hold.service.name, hold.start, hold.end
        s.stylist = hold.stylist_name
        s.hold_id, s.hold_expires_at = hold.hold_id, hold.expires_at
        s.extensions_used, s.degraded = hold.extensions_used, hold.degraded
        s.segments = list(hold.segments)

    async def _extend(self, req: ExtendHold) -> HoldResult:
        if self._booking_running():
            return self._hold_result("booking")
        hold = self._hold
        if hold is None:
            if self._state.hold_lost:
                return await self._lost_result()
            if self._state.status == BookingStatus.EXPIRED:
                return self._hold_result("expired")
            return self._hold_result("no_hold")
        extended, why = await self._steps.extend(hold, req.seconds or self._inp.hold_seconds)
        self._log_step_failures()
        if why == "lost" or self._lost_hold_id == hold.hold_id:
            # Cal.com says the time is booked, or an outside booking arrived meanwhile.
            self._lost_hold_id = None
            self._state.hold_lost = True
            await self._release("lost")
            return await self._lost_result()
        if why == "expired":
            await self._release("expired")
            return self._hold_result("expired")
        self._attempt("extend", why)
        if extended is None:  # extend_limit or failed: the hold stays as it was
            return self._hold_result(why)  # type: ignore[arg-type]
        self._hold = self._last_hold = extended
        self._timer.set(extended.expires_at)
        self._show(extended)
        self._publish()
        return self._hold_result("extended")

    async def _release(self, outcome: ReleaseOutcome) -> None:
        """Under the lock: release the current hold (claims and reservations)."""
        hold = self._hold
        if hold is None:
            return
        await self._steps.release(hold.hold_id, hold.reservation_uids, outcome)
        self._hold = None
        self._timer.set(None)
        self._state.hold_expires_at = None
        self._state.segments = [
            s.model_copy(update={"status": "released"}) if s.staff else s for s in hold.segments
        ]
        self._attempt("release", outcome)
        self._set_status(BookingStatus.EXPIRED if outcome == "expired" else BookingStatus.RELEASED)

    async def _lost_result(self) -> HoldResult:
        alternatives: list[Alternative] = []
        last = self._last_hold
        if last is not None:
            alternatives, _ = await self._steps.alternatives(
                last.service, last.start, last.requested
            )
        return self._hold_result("hold_lost", alternatives=alternatives)

    # ------------------------------------------------------------------ booking steps
    async def _before_booking(self, req: StartBooking) -> BookingResult | None:
        """Under the lock: make sure a hold exists for the booking. An answer here ends
        the update early (nothing to book)."""
        if not req.customer.name.strip():
            return self._booking_result("invalid_input", reason="missing_name")
        booked = self._state.booking
        if (
            self._state.status == BookingStatus.BOOKED
            and booked is not None
            and (req.check is None or self._booked_is_for(req.check))
        ):
            return booked  # a repeated start_booking for the booked slot: no 2nd booking
        if req.check is not None and not (
            self._hold is not None
            and self._hold.is_for(req.check.service, req.check.start, req.check.stylist)
        ):
            checked = await self._check(req.check)
            if checked.available:
                return None
            return self._booking_result(
                "failed" if checked.outcome == "failed" else "slot_taken",
                alternatives=checked.alternatives,
                reason=checked.outcome,
            )
        if self._hold is not None:
            return None
        if self._state.hold_lost:
            lost = await self._lost_result()
            return self._booking_result(
                "slot_taken", alternatives=lost.alternatives, reason="hold_lost"
            )
        last = self._last_hold
        if self._state.status == BookingStatus.EXPIRED and last is not None:
            # The hold ran out while the caller spelled their name: hold again if free.
            placed = await self._place(self._again(last), prefer=last.stylist)
            if placed.hold is None:
                return self._booking_result(
                    "hold_expired", alternatives=placed.alternatives, reason=placed.outcome
                )
            self._take(placed.hold)
            self._fresh_hold = True
            return None
        return self._booking_result("failed", reason="no_hold")

    async def _book(
        self, hold: Hold, customer: Customer, *, caller_phone: str | None = None
    ) -> BookingResult:
        """The booking task: book ``hold`` (a snapshot; never re-read from the state).
        ``caller_phone``: recorded as the number the appointment was booked from (a move
        keeps the old appointment's; default: this call's)."""
        started = workflow.now()
        fresh, self._fresh_hold = self._fresh_hold, False
        if not await self._steps.validate(hold):
            # Our claims lapsed (the hold expired as the booking began): hold again.
            await self._steps.release(hold.hold_id, hold.reservation_uids, "expired")
            placed = await self._place(self._again(hold), prefer=hold.stylist)
            if placed.hold is None:
                self._forget_hold(hold)
                result = self._booking_result(
                    "hold_expired", alternatives=placed.alternatives, reason=placed.outcome
                )
                return self._finish_booking(result, BookingStatus.EXPIRED)
            hold, fresh = placed.hold, True
            self._hold = self._last_hold = hold
            self._show(hold)
        contact = customer.model_copy(update={"phone": customer.phone or self._inp.from_number})
        booked = await book_hold(
            hold, contact, inp=self._inp, started=started, caller_phone=caller_phone
        )
        self._state.segments = booked.segments
        if booked.outcome == "booked" and booked.appointment_id is not None:
            self._hold = None
            self._state.hold_expires_at = None
            self._state.appointment_id = booked.appointment_id
            self._attempt("book", "booked", booked.appointment_id)
            result = self._booking_result(
                "booked", appointment_id=booked.appointment_id, fresh_hold=fresh, name=contact.name
            )
            return self._finish_booking(result, BookingStatus.BOOKED)

        # A booked segment consumed its reservation; only the others are left to delete.
        unused = [
            s.calcom_reservation_uid
            for s in booked.segments
            if s.calcom_reservation_uid and not s.calcom_booking_uid
        ]
        await self._steps.release(hold.hold_id, unused, "failed")
        self._forget_hold(hold)
        self._attempt("book", booked.outcome, "; ".join(booked.errors) or None)
        if booked.outcome == "slot_taken":
            alternatives, _ = await self._steps.alternatives(
                hold.service, hold.start, hold.requested
            )
            result = self._booking_result(
                "slot_taken", alternatives=alternatives, reason="slot_taken"
            )
            return self._finish_booking(result, BookingStatus.RELEASED)
        reason = {"unrecorded": "recording_failed", "cancelled": "cancelled"}.get(
            booked.outcome, "calcom_error"
        )
        return self._finish_booking(
            self._booking_result("failed", reason=reason), BookingStatus.FAILED
        )

    def _forget_hold(self, hold: Hold) -> None:
        """The booking released ``hold`` (its claims and reservations are gone)."""
        if self._hold is not None and self._hold.hold_id == hold.hold_id:
            self._hold = None
        self._state.hold_expires_at = None

    def _finish_booking(self, result: BookingResult, status: BookingStatus) -> BookingResult:
        self._state.booking = result
        self._set_status(status)
        return result

    # ------------------------------------------------------------------ plumbing
    def _call_over(self) -> bool:
        return self._state.call_ended and not self._booking_running() and not self._cancelling()

    def _booking_running(self) -> bool:
        return self._booking is not None and not self._booking.done()

    def _booking_is_for(self, req: CheckAvailability) -> bool:
        return (
            self._state.service == req.service.name
            and self._state.start == req.start
            and self._stylist_is(req.stylist)
        )

    def _booked_is_for(self, req: CheckAvailability) -> bool:
        booked = self._state.booking
        return (
            booked is not None
            and booked.service == req.service.name
            and (booked.start == req.start)
            and self._stylist_is(req.stylist)
        )

    def _stylist_is(self, stylist: str | None) -> bool:
        """Is the call's current slot with ``stylist`` (always, when None: anyone)?"""
        return stylist is None or self._stylist_key() == stylist

    def _stylist_key(self) -> str | None:
        """The catalog key of the stylist of the call's current slot (its staffed
        segments' one resource), or None."""
        hosts = {s.resource for s in self._state.segments if s.staff and s.resource}
        return hosts.pop() if len(hosts) == 1 else None

    @staticmethod
    def _again(hold: Hold) -> CheckAvailability:
        """The check that places ``hold``'s slot once more, for the caller's own wish
        (the stylist asked for, or anyone)."""
        return CheckAvailability(service=hold.service, start=hold.start, stylist=hold.requested)

    def _log_step_failures(self) -> None:
        for failure in self._steps.failures:
            self._attempt("error", failure.summary, failure.error)
        self._steps.failures.clear()
        for summary, error in self._changes.failures:
            self._attempt("error", summary, error)
        self._changes.failures.clear()

    def _hold_result(
        self, outcome: HoldOutcome, alternatives: list[Alternative] | None = None
    ) -> HoldResult:
        hold = self._hold if outcome in ("held", "extended", "extend_limit") else None
        left = (
            # Rounded: the agent says "90 Sekunden", not the 89.98 left after the reservations.
            max(0, round((hold.expires_at - workflow.now()).total_seconds()))
            if hold is not None
            else None
        )
        return HoldResult(
            outcome=outcome,
            available=hold is not None,
            service=self._state.service,
            start=self._state.start,
            end=self._state.end,
            stylist=self._state.stylist,
            hold_id=hold.hold_id if hold else None,
            hold_expires_at=hold.expires_at if hold else None,
            hold_seconds_left=left,
            alternatives=alternatives or [],
            degraded=hold.degraded if hold else False,
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
            stylist=self._state.stylist,
            segments=list(self._state.segments),
            alternatives=alternatives or [],
            customer_name=name,
            fresh_hold=fresh_hold,
            reason=reason,
        )

    def _cached(self, request_id: str | None) -> Any:
        return self._answers.get(request_id) if request_id else None

    def _remember(self, request_id: str | None, result: R) -> R:
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

    def _publish(self, *, last: bool = False) -> None:
        """Search attributes and the UI's current details follow the phase; nothing is
        sent when nothing changed. ``last``: the run ends, everything is indexed now."""
        state = self._state
        details = details_markdown(state)
        # Search attributes are indexed in clear (not encrypted): the stylist by catalog
        # key, not by name, so a salon can keep staff names out of the index.
        stylist = self._stylist_key()
        key = (state.status, state.service, state.start, stylist, details)
        search_later = self._steps.lean()
        if search_later:
            self._index(stylist, last=last)
        if key == self._published:
            return
        if not search_later and (self._published is None or self._published[:4] != key[:4]):
            updates: list[SearchAttributeUpdate[Any]] = [
                BOOKING_STATUS.value_set(state.status.value)
            ]
            if state.service:
                updates.append(SERVICE_NAME.value_set(state.service))
            if state.start:
                updates.append(SLOT_START.value_set(state.start))
            if stylist:
                updates.append(STYLIST.value_set(stylist))
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(details)
        self._published = key

    def _index(self, stylist: str | None, *, last: bool) -> None:
        """Patch ``lean-answer-task``: the search attributes that say something new
        (against what is indexed or about to be: the start's own included) are upserted
        a moment later, in a workflow task of their own after the answer's; ``last``:
        now, with any still waiting."""
        state = self._state
        wanted: list[tuple[Any, Any]] = [(BOOKING_STATUS, state.status.value)]
        wanted += [
            (k, v)
            for k, v in (
                (SERVICE_NAME, state.service),
                (SLOT_START, state.start),
                (STYLIST, stylist),
            )
            if v
        ]
        if self._search_shown is None:
            indexed = workflow.info().typed_search_attributes
            self._search_shown = {k.name: indexed.get(k) for k, _ in wanted}
        for attribute, value in wanted:
            if self._search_shown.get(attribute.name) != value:
                self._search_shown[attribute.name] = value
                self._search_pending[attribute.name] = attribute.value_set(value)
        if last:
            self._upsert_pending()
        elif self._search_pending and self._search_flush is None:
            self._search_flush = asyncio.create_task(self._index_later())

    async def _index_later(self) -> None:
        await workflow.sleep(SEARCH_DELAY, summary="search attributes")
        self._search_flush = None
        self._upsert_pending()

    def _upsert_pending(self) -> None:
        if self._search_pending:
            workflow.upsert_search_attributes(list(self._search_pending.values()))
            self._search_pending.clear()
