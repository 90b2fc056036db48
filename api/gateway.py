"""Everything the API asks of Temporal, in one place."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from contracts.appointments import CallerKnown, LookupCaller
from contracts.messages import BookingStatus, CallInput
from domain.phones import region_for_timezone, to_e164
from workflows.call import CallWorkflow
from workflows.ids import call_workflow_id
from workflows.lookup import LOOKUP_PREFIX, CallerLookupWorkflow
from workflows.outside_booking import (
    CalcomBookingEvent,
    CalcomBookingEventWorkflow,
    calcom_event_workflow_id,
)
from workflows.search_attributes import BOOKING_STATUS, CALL_ID


class RunningCalls:
    """Call ids whose workflow this process saw running (started it, or sent it a
    message), most recent last, at most ``size``. Only a hint for choosing the cheaper
    request: a wrong entry costs one refused update, never a wrong answer."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, call_id: str) -> None:
        self._ids[call_id] = None
        self._ids.move_to_end(call_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)

    def forget(self, call_id: str) -> None:
        self._ids.pop(call_id, None)

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._ids


class CallGateway:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.region = region_for_timezone(settings.salon_timezone)
        self.running = RunningCalls()

    def call_input(self, call_id: str, from_number: str | None, agent_id: str | None) -> CallInput:
        """The workflow's input; ``from_number`` in E.164, or None when it is no usable
        number ("anonymous"): the workflow books with it when the caller gives none."""
        return self.settings.call_input(call_id, to_e164(from_number, self.region), agent_id)

    def _start_options(self, call_id: str, summary: str | None = None) -> dict[str, Any]:
        return {
            "id": call_workflow_id(call_id),
            "task_queue": self.settings.temporal_task_queue,
            "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
            # A call id is used once: a finished call is never started again.
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "search_attributes": TypedSearchAttributes(
                [
                    SearchAttributePair(CALL_ID, call_id),
                    SearchAttributePair(BOOKING_STATUS, BookingStatus.IDLE.value),
                ]
            ),
            # What ops see first in the UI's list: the slot the call started with.
            "static_summary": summary or f"Anruf {call_id}",
        }

    async def update(
        self, inp: CallInput, update: Any, arg: Any, *, summary: str | None = None
    ) -> Any:
        """Run ``update`` on the call's workflow, starting it if this is the first message
        (``summary``: the workflow's static summary if this starts it).

        A call this process knows to be running (``call_started`` came here, or an earlier
        message) gets a plain update: the server answers it faster than update-with-start
        (bench: 16 vs 22 ms). If the workflow is not there after all (closed, or the
        start never happened), the update was not delivered and goes again with start.
        """
        if inp.call_id in self.running:
            try:
                return await self.handle(inp.call_id).execute_update(update, arg)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                self.running.forget(inp.call_id)
        op = WithStartWorkflowOperation(
            CallWorkflow.run, inp, **self._start_options(inp.call_id, summary)
        )
        result = await self.client.execute_update_with_start_workflow(
            update, arg, start_workflow_operation=op
        )
        self.running.add(inp.call_id)
        return result

    async def start(self, inp: CallInput) -> None:
        await self.client.start_workflow(CallWorkflow.run, inp, **self._start_options(inp.call_id))
        self.running.add(inp.call_id)

    def handle(self, call_id: str) -> WorkflowHandle[CallWorkflow, Any]:
        return self.client.get_workflow_handle_for(CallWorkflow.run, call_workflow_id(call_id))

    async def signal(self, call_id: str, signal: Any, arg: Any) -> bool:
        """Signal a running call; False when there is no such (running) workflow."""
        try:
            await self.handle(call_id).signal(signal, arg)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def outside_booking(self, event: CalcomBookingEvent) -> None:
        """One workflow per Cal.com delivery (its id de-duplicates retries)."""
        await self.client.start_workflow(
            CalcomBookingEventWorkflow.run,
            event,
            id=calcom_event_workflow_id(event.trigger, event.calcom_uid),
            task_queue=self.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Cal.com {event.trigger} {event.calcom_uid}",
        )

    async def recognise(self, phone: str) -> CallerKnown:
        """Who booked from ``phone`` (E.164): a short lookup workflow (its id is random,
        never the number), each RPC bounded by ``INBOUND_BUDGET_SECONDS``."""
        return await self.client.execute_workflow(
            CallerLookupWorkflow.run,
            LookupCaller(phone=phone, time_zone=self.settings.salon_timezone),
            id=f"{LOOKUP_PREFIX}{uuid.uuid4().hex}",
            task_queue=self.settings.temporal_task_queue,
            # Nobody waits longer than the webhook: a lookup left behind ends by itself.
            execution_timeout=timedelta(seconds=10),
            rpc_timeout=timedelta(seconds=self.settings.inbound_budget_seconds),
            static_summary="Anrufer erkennen",
        )

    async def healthy(self) -> bool:
        try:
            return bool(await self.client.service_client.check_health())
        except Exception:
            return False
