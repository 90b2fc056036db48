"""The five Retell functions of a booking: understand the arguments
(:mod:`api.understanding`), ask the call's workflow within the answer budget, answer with
the documented fields and one German sentence the agent can say.

Every path answers within its budget: a slow or unreachable Temporal becomes a ``pending``
answer, never a hang or a 500.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.dedupe import AnswerCache
from api.envelope import (
    SAME_DELIVERY_WINDOW_SECONDS,
    FunctionCall,
    _iso,
    _wait,
    request_id,
)
from api.gateway import CallGateway
from api.metrics import BUDGET_EXCEEDED
from api.understanding import Misunderstood, Slot, Understanding, hold_seconds, names_a_slot
from config import Settings
from contracts.messages import (
    Alternative,
    BookingResult,
    CancelHold,
    CheckAvailability,
    ExtendHold,
    HoldResult,
    StartBooking,
)
from domain.catalog import Catalog
from domain.messages import (
    HoldAction,
    msg_available,
    msg_booking_in_progress,
    msg_booking_status,
    msg_closed_day,
    msg_day_full,
    msg_extend_limit,
    msg_failed,
    msg_hold_cancelled,
    msg_hold_expired,
    msg_hold_extended,
    msg_hold_lost,
    msg_no_hold,
    msg_not_offered_by,
    msg_outside_opening_hours,
    msg_pending,
    msg_slot_taken,
)
from domain.phones import region_for_timezone
from domain.stylist_lookup import stylist_names
from domain.wording import alternative_label
from observability.logging import get_logger
from workflows.call import CallWorkflow

log = get_logger(__name__)

MSG_SLOW = (
    "Einen Moment bitte, unser Kalender antwortet gerade langsam. "
    "Ich schaue gleich noch einmal nach."
)
MSG_CALL_OVER = "Dieses Gespräch ist bereits beendet."


class Functions:
    """Dispatches parsed function calls to the call's workflow."""

    def __init__(self, gateway: CallGateway, settings: Settings, catalog: Catalog) -> None:
        self.gateway = gateway
        self.settings = settings
        self.catalog = catalog
        self.zone = ZoneInfo(settings.salon_timezone)
        self.understand = Understanding(
            catalog,
            self.zone,
            horizon_days=settings.booking_horizon_days,
            region=region_for_timezone(settings.salon_timezone),
        )
        self.answers = AnswerCache(ttl=SAME_DELIVERY_WINDOW_SECONDS * 3)

    async def dispatch(self, fc: FunctionCall) -> dict[str, Any]:
        """The answer for ``fc``; duplicates of one delivery share one answer (a
        'pending' answer is not kept: the retry asks the workflow again)."""
        rid = request_id(fc)
        handler = getattr(self, fc.name)
        if rid is None or fc.name == "booking_status":
            return await handler(fc, rid)  # type: ignore[no-any-return]
        return await self.answers.get_or_compute(  # type: ignore[no-any-return]
            f"{fc.call_id}|{fc.name}|{rid}",
            lambda: handler(fc, rid),
            keep=lambda answer: not answer.get("_slow"),
        )

    # ------------------------------------------------------------ answers
    def _hold_answer(
        self,
        *,
        available: bool = False,
        service: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        hold_id: str | None = None,
        hold_expires_at: datetime | None = None,
        hold_seconds_left: int | None = None,
        stylist: str | None = None,
        alternatives: list[Alternative] | None = None,
        error: str | None = None,
        message: str,
    ) -> dict[str, Any]:
        return {
            "available": available,
            "service": service,
            "start": _iso(start),
            "end": _iso(end),
            "hold_id": hold_id,
            "hold_expires_at": _iso(hold_expires_at),
            "hold_seconds_left": hold_seconds_left,
            "stylist": stylist,
            "alternatives": self._alternatives(alternatives or []),
            "error": error,
            "message": message,
        }

    def _not_understood(self, problem: Misunderstood) -> dict[str, Any]:
        """A check's answer to arguments that were not understood."""
        return self._hold_answer(
            service=problem.service, error=problem.error, message=problem.message
        )

    def _alternatives(self, alternatives: list[Alternative]) -> list[dict[str, Any]]:
        return [
            {
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "label": alternative_label(a.start, self.zone),
                "stylist": a.stylist,
            }
            for a in alternatives
        ]

    def _from_hold(
        self,
        result: HoldResult,
        *,
        slot: Slot | None = None,
        error: str | None = None,
        action: HoldAction = "extend",
    ) -> dict[str, Any]:
        """The answer to a HoldResult; ``slot`` is what the caller asked for (a check),
        ``action`` names what a caller without a hold asked."""
        now = datetime.now(UTC)
        name = result.service or (slot.service.name if slot else None)
        start = result.start or (slot.start if slot else None)
        starts = [a.start for a in result.alternatives]
        left = result.hold_seconds_left or 0
        outcome = result.outcome
        if outcome in ("held", "extended", "extend_limit"):
            assert name is not None and result.start is not None
            if outcome == "held":
                message = msg_available(name, result.start, self.zone, left, now, result.stylist)
            elif outcome == "extended":
                message = msg_hold_extended(left)
            else:
                message = msg_extend_limit(left)
            return self._hold_answer(
                available=True,
                service=name,
                start=result.start,
                end=result.end,
                hold_id=result.hold_id,
                hold_expires_at=result.hold_expires_at,
                hold_seconds_left=result.hold_seconds_left,
                stylist=result.stylist,
                message=message,
            )
        # The API's own reading of opening hours wins; else the workflow's (Cal.com's).
        hours_problem = error
        names = [a.stylist for a in result.alternatives]
        if outcome in ("slot_taken", "hold_lost") and name and start:
            if hours_problem:
                message = self._opening_message(hours_problem, name, start, starts, now)
            elif outcome == "hold_lost":
                message = msg_hold_lost(
                    name, start, self.zone, starts, now, stylist=result.stylist, stylists=names
                )
            else:
                message = self._taken_message(
                    name, start, result.alternatives, slot, now, day_full=result.day_full
                )
        elif outcome == "booking":
            message = msg_booking_in_progress()
        elif outcome == "cancelled":
            message = msg_hold_cancelled()
        elif outcome == "expired" and name and start:
            message = msg_hold_expired(name, start, self.zone, now, result.stylist)
        elif outcome == "no_hold":
            message = msg_no_hold(action)
        else:
            message = msg_failed()
        return self._hold_answer(
            service=name,
            alternatives=result.alternatives,
            error=error,
            message=message,
        )

    def _taken_message(
        self,
        service: str,
        start: datetime,
        alternatives: list[Alternative],
        slot: Slot | None,
        now: datetime,
        *,
        day_full: bool = False,
    ) -> str:
        """Taken: with the stylist asked for (another at the very time first), or at all;
        ``day_full``: nothing else that day either (for the stylist asked for)."""
        starts = [a.start for a in alternatives]
        names = [a.stylist for a in alternatives]
        asked = slot.stylist if slot is not None else None
        if asked is not None and slot is not None and asked.key not in slot.service.stylists:
            doers = stylist_names(self.catalog, slot.service.stylists)
            return msg_not_offered_by(
                service, asked.name, doers, start, self.zone, starts, now, stylists=names
            )
        if day_full:
            return msg_day_full(
                service,
                start,
                self.zone,
                starts,
                now,
                stylists=names,
                asked=asked.name if asked is not None else None,
            )
        return msg_slot_taken(
            service,
            start,
            self.zone,
            starts,
            now,
            stylists=names,
            asked=asked.name if asked is not None else None,
        )

    def _opening_message(
        self, problem: str, service: str, start: datetime, starts: list[datetime], now: datetime
    ) -> str:
        local = start.astimezone(self.zone)
        if problem == "closed_day":
            return msg_closed_day(local.date(), self.zone, starts, now)
        opening = self.catalog.opening_hours.for_weekday(local.weekday())
        return msg_outside_opening_hours(service, start, self.zone, opening, starts, now)

    def _booking_answer(self, result: BookingResult, name: str | None = None) -> dict[str, Any]:
        now = datetime.now(UTC)
        message = msg_booking_status(
            result.status,
            zone=self.zone,
            service=result.service,
            start=result.start,
            customer_name=name or result.customer_name,
            alternatives=[a.start for a in result.alternatives],
            now=now,
            stylist=result.stylist,
            stylists=[a.stylist for a in result.alternatives],
        )
        if result.status == "pending" and result.reason == "booking_in_progress":
            message = msg_booking_in_progress()
        if result.fresh_hold and result.booked:
            message = "Die Reservierung war kurz abgelaufen, der Termin war aber noch frei. " + (
                message
            )
        return {
            "booked": result.booked,
            "status": result.status,
            "appointment_id": result.appointment_id,
            "start": _iso(result.start),
            "end": _iso(result.end),
            "stylist": result.stylist,
            "segments": [
                {
                    "key": s.key,
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "calcom_booking_uid": s.calcom_booking_uid,
                }
                for s in result.segments
            ],
            "alternatives": self._alternatives(result.alternatives),
            "customer_name": name or result.customer_name,
            "error": None,
            "message": message,
        }

    def _booking_simple(
        self, status: str, message: str, error: str | None = None
    ) -> dict[str, Any]:
        """A booking answer without a booking; ``error`` is the check's error code when a
        one-shot start_booking's slot was not understood (e.g. ``too_far_ahead``)."""
        return {
            "booked": False,
            "status": status,
            "appointment_id": None,
            "start": None,
            "end": None,
            "stylist": None,
            "segments": [],
            "alternatives": [],
            "customer_name": None,
            "error": error,
            "message": message,
        }

    # ------------------------------------------------------------ Temporal, in budget
    async def _update(
        self, fc: FunctionCall, update: Any, arg: Any, budget: float, summary: str | None = None
    ) -> Any:
        inp = self.gateway.call_input(fc.call_id, fc.from_number, fc.agent_id)
        return await asyncio.wait_for(
            self.gateway.update(inp, update, arg, summary=summary), budget
        )

    def _slow(self, fc: FunctionCall, exc: BaseException) -> None:
        BUDGET_EXCEEDED.labels(function=fc.name).inc()
        if not isinstance(exc, TimeoutError | RPCError | RuntimeError):
            log.exception("unexpected error asking the workflow", function=fc.name)
        log.warning(
            "temporal did not answer in budget",
            function=fc.name,
            call_id=fc.call_id,
            error=type(exc).__name__,
        )

    # ------------------------------------------------------------ the functions
    async def check_availability(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        slot = self.understand.slot(fc.args, datetime.now(UTC))
        if isinstance(slot, Misunderstood):
            return self._not_understood(slot)
        service = slot.service
        problem = self.understand.hours_problem(slot.start, service)
        try:
            result: HoldResult = await self._update(
                fc,
                CallWorkflow.check_availability,
                slot.check(rid),
                _wait(self.settings.check_budget_seconds),
                summary=slot.summary(self.zone),
            )
        except WorkflowAlreadyStartedError:
            return self._hold_answer(service=service.name, message=MSG_CALL_OVER)
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return {**self._hold_answer(service=service.name, message=MSG_SLOW), "_slow": True}
        # Outside opening hours Cal.com has no slot: the workflow's answer carries the
        # nearest free alternatives. Should Cal.com offer it anyway, Cal.com is right.
        error = None if result.available else problem
        return self._from_hold(result, slot=slot, error=error)

    async def start_booking(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        # Only clean data goes to the workflow (see Understanding.customer); the booking
        # adds the salon's fallback contact when the caller's is unusable.
        customer = self.understand.customer(fc.args, fc.from_number)
        if isinstance(customer, Misunderstood):
            return self._booking_simple("invalid_input", customer.message, customer.error)
        check: CheckAvailability | None = None
        slot: Slot | None = None
        if names_a_slot(fc.args):
            understood = self.understand.slot(fc.args, datetime.now(UTC))
            if isinstance(understood, Misunderstood):
                return self._booking_simple("invalid_input", understood.message, understood.error)
            slot = understood
            check = slot.check(f"{rid}:check" if rid else None)
        try:
            result: BookingResult = await self._update(
                fc,
                CallWorkflow.start_booking,
                StartBooking(customer=customer, check=check, request_id=rid),
                _wait(self.settings.booking_budget_seconds),
            )
        except WorkflowAlreadyStartedError:
            return self._booking_simple("no_booking", MSG_CALL_OVER)
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return {**self._booking_simple("pending", msg_pending()), "_slow": True}
        answer = self._booking_answer(result, customer.addressed)
        if slot is not None and result.status == "slot_taken" and result.reason == "slot_taken":
            # The one-shot's own check found the slot taken: say it as a check would
            # (with the stylist asked for, and another one at that very time first).
            answer["message"] = self._taken_message(
                slot.service.name, slot.start, result.alternatives, slot, datetime.now(UTC)
            )
        return answer

    async def _hold_update(
        self, fc: FunctionCall, update: Any, arg: Any
    ) -> HoldResult | dict[str, Any]:
        """A hold update (extend, cancel) in budget; an answer dict when it did not run."""
        try:
            result: HoldResult = await self._update(
                fc, update, arg, _wait(self.settings.check_budget_seconds)
            )
        except WorkflowAlreadyStartedError:
            return self._hold_answer(message=MSG_CALL_OVER)
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return {**self._hold_answer(message=MSG_SLOW), "_slow": True}
        return result

    async def extend_hold(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        extend = ExtendHold(request_id=rid, seconds=hold_seconds(fc.args))
        result = await self._hold_update(fc, CallWorkflow.extend_hold, extend)
        return result if isinstance(result, dict) else self._from_hold(result)

    async def cancel_hold(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        result = await self._hold_update(fc, CallWorkflow.cancel_hold, CancelHold(request_id=rid))
        return result if isinstance(result, dict) else self._from_hold(result, action="cancel")

    async def booking_status(self, fc: FunctionCall, rid: str | None) -> dict[str, Any]:
        try:
            result: BookingResult = await asyncio.wait_for(
                self.gateway.handle(fc.call_id).query(CallWorkflow.booking_status),
                _wait(self.settings.check_budget_seconds),
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return self._booking_simple(
                    "no_booking", msg_booking_status("no_booking", zone=self.zone)
                )
            self._slow(fc, exc)
            return {**self._booking_simple("pending", msg_pending()), "_slow": True}
        except Exception as exc:
            self._slow(fc, exc)
            return {**self._booking_simple("pending", msg_pending()), "_slow": True}
        return self._booking_answer(result)


def outcome_label(answer: dict[str, Any]) -> str:
    """The business outcome of an answer, for ``api_requests_total``."""
    if answer.get("_slow"):
        return "pending"
    if answer.get("error"):
        return str(answer["error"])
    if "status" in answer:
        return str(answer["status"])
    if answer.get("available"):
        return "available"
    if answer.get("alternatives"):
        return "taken"
    return "unavailable"
