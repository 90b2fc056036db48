"""The five Retell functions of a booking, each in three steps: understand the arguments
(:mod:`api.understanding`), ask the call's workflow within the answer budget, answer
(:mod:`api.answers`).

Every path answers within its budget: a slow or unreachable Temporal becomes a ``pending``
answer, never a hang or a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.answers import Answer, Answers, BookingAnswer, HoldAnswer
from api.dedupe import AnswerCache
from api.envelope import SAME_DELIVERY_WINDOW_SECONDS, FunctionCall, _wait, request_id
from api.gateway import CallGateway
from api.metrics import BUDGET_EXCEEDED
from api.understanding import Misunderstood, Slot, Understanding, hold_seconds, names_a_slot
from config import Settings
from contracts.messages import (
    BookingResult,
    CancelHold,
    CheckAvailability,
    ExtendHold,
    HoldResult,
    StartBooking,
)
from domain.catalog import Catalog
from domain.phones import region_for_timezone
from observability.logging import get_logger
from workflows.call import CallWorkflow

log = get_logger(__name__)

Handler = Callable[[FunctionCall, "str | None"], Awaitable[Answer]]


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
        self.answer = Answers(catalog, self.zone, notice_hours=settings.cancellation_notice_hours)
        self.by_delivery = AnswerCache(ttl=SAME_DELIVERY_WINDOW_SECONDS * 3)

    async def dispatch(self, fc: FunctionCall) -> Answer:
        """The answer for ``fc``; duplicates of one delivery share one answer (an answer
        that is not final, e.g. 'pending', is not kept: the retry asks the workflow again)."""
        rid = request_id(fc)
        handler: Handler = getattr(self, fc.name)
        if rid is None or fc.name == "booking_status":
            return await handler(fc, rid)
        answer: Answer = await self.by_delivery.get_or_compute(
            f"{fc.call_id}|{fc.name}|{rid}",
            lambda: handler(fc, rid),
            keep=lambda answer: not answer.slow,
        )
        return answer

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
    async def check_availability(self, fc: FunctionCall, rid: str | None) -> HoldAnswer:
        slot = self.understand.slot(fc.args, datetime.now(UTC))
        if isinstance(slot, Misunderstood):
            return self.answer.check_not_understood(slot)
        problem = self.understand.hours_problem(slot.start, slot.service)
        try:
            result: HoldResult = await self._update(
                fc,
                CallWorkflow.check_availability,
                slot.check(rid),
                _wait(self.settings.check_budget_seconds),
                summary=slot.summary(self.zone),
            )
        except WorkflowAlreadyStartedError:
            return self.answer.hold_call_over(slot.service.name)
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return self.answer.hold_slow(slot.service.name)
        # Outside opening hours Cal.com has no slot: the workflow's answer carries the
        # nearest free alternatives. Should Cal.com offer it anyway, Cal.com is right.
        error = None if result.available else problem
        return self.answer.from_hold(result, slot=slot, error=error)

    async def start_booking(self, fc: FunctionCall, rid: str | None) -> BookingAnswer:
        # Only clean data goes to the workflow (see Understanding.customer).
        customer = self.understand.customer(fc.args, fc.from_number)
        if isinstance(customer, Misunderstood):
            return self.answer.booking_not_understood(customer)
        check: CheckAvailability | None = None
        slot: Slot | None = None
        if names_a_slot(fc.args):
            understood = self.understand.slot(fc.args, datetime.now(UTC))
            if isinstance(understood, Misunderstood):
                return self.answer.booking_not_understood(understood)
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
            return self.answer.booking_call_over()
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return self.answer.booking_slow()
        return self.answer.booking(result, customer.addressed, slot)

    async def _hold_update(
        self, fc: FunctionCall, update: Any, arg: Any
    ) -> HoldResult | HoldAnswer:
        """A hold update (extend, cancel) in budget; the answer when it did not run."""
        try:
            result: HoldResult = await self._update(
                fc, update, arg, _wait(self.settings.check_budget_seconds)
            )
        except WorkflowAlreadyStartedError:
            return self.answer.hold_call_over()
        except Exception as exc:  # slow, unreachable or failing Temporal: 'pending'
            self._slow(fc, exc)
            return self.answer.hold_slow()
        return result

    async def extend_hold(self, fc: FunctionCall, rid: str | None) -> HoldAnswer:
        extend = ExtendHold(request_id=rid, seconds=hold_seconds(fc.args))
        result = await self._hold_update(fc, CallWorkflow.extend_hold, extend)
        return result if isinstance(result, HoldAnswer) else self.answer.from_hold(result)

    async def cancel_hold(self, fc: FunctionCall, rid: str | None) -> HoldAnswer:
        result = await self._hold_update(fc, CallWorkflow.cancel_hold, CancelHold(request_id=rid))
        if isinstance(result, HoldAnswer):
            return result
        return self.answer.from_hold(result, action="cancel")

    async def booking_status(self, fc: FunctionCall, rid: str | None) -> BookingAnswer:
        try:
            result: BookingResult = await asyncio.wait_for(
                self.gateway.handle(fc.call_id).query(CallWorkflow.booking_status),
                _wait(self.settings.check_budget_seconds),
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return self.answer.no_booking()
            self._slow(fc, exc)
            return self.answer.booking_slow()
        except Exception as exc:
            self._slow(fc, exc)
            return self.answer.booking_slow()
        return self.answer.booking(result)
