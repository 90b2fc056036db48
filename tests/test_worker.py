"""The worker as production runs it: no sandbox, workflow activations on the event loop
(``WORKFLOW_INLINE_ACTIVATIONS``), and the watchdog that reports a blocked loop now that
the SDK's deadlock detector is off."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from prometheus_client import REGISTRY

from contracts.messages import BookingStatus, CallEnded, Customer, StartBooking
from observability.watchdog import LoopWatchdog
from tests.harness import call_stack, next_open_day, unique
from worker import build_worker
from workflows.call import CallWorkflow

PRODUCTION = {"sandboxed": False, "inline": True}
# The SDK's pool for activations handed to threads (temporalio/worker/_workflow.py).
ACTIVATION_THREADS = "temporal_workflow_"


def activation_threads() -> set[int | None]:
    return {t.ident for t in threading.enumerate() if t.name.startswith(ACTIVATION_THREADS)}


def stalls_counted() -> float:
    return REGISTRY.get_sample_value("booking_worker_loop_stalls_total") or 0.0


async def test_a_worker_running_activations_inline_holds_books_and_ends_a_call(
    temporal_client, database_url, simulator, sim
):
    threads_before = activation_threads()
    async with call_stack(
        temporal_client, database_url, simulator, worker_options=PRODUCTION
    ) as stack:
        call_id = unique("inline")
        held = await stack.check(call_id, "Dauerwelle", next_open_day(hour=10, minute=45))
        assert held.outcome == "held" and held.available
        handle = stack.handle(call_id)
        booked = await handle.execute_update(
            CallWorkflow.start_booking, StartBooking(customer=Customer(name="Eva Roth"))
        )
        assert booked.booked and booked.appointment_id
        ours = [b for b in (await sim.state())["bookings"] if b["metadata"]["call_id"] == call_id]
        assert sorted(b["status"] for b in ours) == ["accepted"] * 3  # A, B, D
        await handle.signal(CallWorkflow.call_ended, CallEnded(reason="user_hangup"))
        assert (await handle.result()).status == BookingStatus.BOOKED
        # Every activation of the call ran on the event loop: none went to a thread.
        assert activation_threads() - threads_before == set()


def test_inline_activations_are_refused_with_the_sandbox(temporal_client):
    with pytest.raises(ValueError, match="unsandboxed"):
        build_worker(temporal_client, None, task_queue="x", sandboxed=True, inline=True)  # type: ignore[arg-type]


def _block_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # what a workflow calling blocking code would do


async def test_the_watchdog_reports_each_blocked_stretch_of_the_loop_once_with_where():
    watchdog = LoopWatchdog(asyncio.get_running_loop(), threshold=0.5).start()
    before = stalls_counted()
    try:
        await asyncio.sleep(0.2)  # the first heartbeat ran
        _block_the_loop(1.5)
        await asyncio.sleep(0.5)  # the loop runs again: the stall is over
        assert watchdog.stalls == 1
        assert "_block_the_loop" in watchdog.last_stack
        _block_the_loop(1.5)
        await asyncio.sleep(0.2)
        assert watchdog.stalls == 2
        assert stalls_counted() - before == 2
    finally:
        watchdog.stop()
