"""The Temporal floor: what an update costs on this server when the workflow does nothing
but run no-op local activities in the shape the check uses.

``python -m bench.floor`` runs a worker for :class:`FloorWorkflow` (started by
``bench/stack.py`` as a process of its own, like ``worker.py``, on the same Temporal
server). :func:`measure_floor` sends the updates: each to a workflow started a moment
before, as the Retell flow does (``call_started`` first, the check a moment later).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.cpu import CpuWindow

FLOOR_TASK_QUEUE = "bench-floor"


@activity.defn
async def noop() -> None:
    """A local activity that does nothing."""


@workflow.defn(name="BenchFloorWorkflow")
class FloorWorkflow:
    """Waits until told to finish; each ``probe`` runs ``rounds`` of no-op local
    activities (the activities of one round together, the rounds one after another)."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)
        await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.update
    async def probe(self, rounds: list[int]) -> int:
        for n in rounds:
            await asyncio.gather(
                *(
                    workflow.execute_local_activity(
                        noop, start_to_close_timeout=timedelta(seconds=5)
                    )
                    for _ in range(n)
                )
            )
        return sum(rounds)

    @workflow.signal
    def finish(self) -> None:
        self._done = True


async def probe_with_start(client: Client, workflow_id: str, rounds: list[int]) -> None:
    """``probe(rounds)`` as update-with-start: starts the workflow unless it runs."""
    await client.execute_update_with_start_workflow(
        FloorWorkflow.probe,
        rounds,
        start_workflow_operation=WithStartWorkflowOperation(
            FloorWorkflow.run,
            id=workflow_id,
            task_queue=FLOOR_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
    )


async def measure_floor(
    client: Client, rounds: list[int], n: int, *, moment: float = 0.05, with_start: bool = False
) -> list[float]:
    """Seconds per ``probe(rounds)`` update on a running workflow, ``n`` times (plus two
    warm-up probes not counted). ``with_start``: sent as update-with-start, as the API
    sends every message (the workflow exists, so nothing is started)."""
    times: list[float] = []
    for i in range(n + 2):
        workflow_id = f"floor-{uuid.uuid4().hex[:12]}"
        handle = await client.start_workflow(
            FloorWorkflow.run, id=workflow_id, task_queue=FLOOR_TASK_QUEUE
        )
        await asyncio.sleep(moment)
        t0 = time.perf_counter()
        if with_start:
            await probe_with_start(client, workflow_id, rounds)
        else:
            await handle.execute_update(FloorWorkflow.probe, rounds)
        if i >= 2:
            times.append(time.perf_counter() - t0)
        await handle.signal(FloorWorkflow.finish)
    return times


async def floor_burst(
    client: Client, rounds: list[int], calls: int = 100, window: CpuWindow | None = None
) -> list[float]:
    """The burst on the floor: ``calls`` probes at the same instant, the first half to
    workflows started a second before (as ``call_started`` announces a call), the second
    half cold, as update-with-start (the update starts the workflow), as the API sends
    the call burst of ``bench/capacity.py``. Seconds per probe."""
    ids = [f"floor-burst-{i}-{uuid.uuid4().hex[:8]}" for i in range(calls)]
    announced = ids[: calls // 2]
    await asyncio.gather(
        *(
            client.start_workflow(FloorWorkflow.run, id=i, task_queue=FLOOR_TASK_QUEUE)
            for i in announced
        )
    )
    await asyncio.sleep(1.0)

    async def probe(workflow_id: str) -> float:
        t0 = time.perf_counter()
        if workflow_id in announced:  # the API sends a plain update to a call it saw start
            await client.get_workflow_handle(workflow_id).execute_update(
                FloorWorkflow.probe, rounds
            )
            return time.perf_counter() - t0
        await probe_with_start(client, workflow_id, rounds)
        return time.perf_counter() - t0

    with window or contextlib.nullcontext():
        times = await asyncio.gather(*(probe(i) for i in ids))
    await asyncio.gather(*(client.get_workflow_handle(i).signal(FloorWorkflow.finish) for i in ids))
    return list(times)


async def _serve(address: str) -> None:
    client = await Client.connect(address)
    async with Worker(
        client,
        task_queue=FLOOR_TASK_QUEUE,
        workflows=[FloorWorkflow],
        activities=[noop],
        workflow_runner=UnsandboxedWorkflowRunner(),  # as worker.py in production
    ):
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--address", required=True, help="Temporal frontend host:port")
    asyncio.run(_serve(parser.parse_args().address))


if __name__ == "__main__":
    main()
