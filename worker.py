"""The worker: runs call workflows and their activities.

``python worker.py`` or ``booking worker``. Connects to Temporal (dev server, cluster or
Temporal Cloud with API key or mTLS), serves metrics for Prometheus (the project's on
``WORKER_METRICS_PORT``, the Temporal SDK's on ``WORKER_METRICS_PORT + 1``) and shuts down
gracefully on SIGTERM/SIGINT: in-flight activities get ``GRACEFUL_SHUTDOWN`` to finish,
then are cancelled (bookings compensate, holds are released by their workflows).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from prometheus_client import start_http_server
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.appointments import AppointmentActivities
from activities.availability import AvailabilityActivities
from activities.bookings import BookingActivities
from activities.deps import ActivityDeps
from activities.holds import HoldActivities
from activities.outside import OutsideBookingActivities
from activities.placing import PlaceActivities
from calcom.budget import BudgetShape, SharedBudget
from calcom.client import CalcomClient
from config import Settings, get_settings
from contracts.messages import BookingStatus
from domain.catalog import load_catalog
from observability.logging import configure_logging, get_logger
from observability.metrics import WORKFLOWS_OPEN
from observability.watchdog import LoopWatchdog
from store.db import create_engine_for
from store.rate_budget import PostgresBucket
from workflows.call import CallWorkflow
from workflows.connect import connect
from workflows.lookup import CallerLookupWorkflow
from workflows.outside_booking import CalcomBookingEventWorkflow

GRACEFUL_SHUTDOWN = timedelta(seconds=10)
log = get_logger("worker")


def activities_for(deps: ActivityDeps) -> list:
    """Every activity of the project, bound to its dependencies (one per interface in
    ``contracts.activities``, under the same name)."""
    holds = HoldActivities(deps)
    bookings = BookingActivities(deps)
    availability = AvailabilityActivities(deps)
    outside = OutsideBookingActivities(deps)
    appointments = AppointmentActivities(deps)
    return [
        availability.check_slots,
        availability.find_alternatives,
        holds.acquire_claims,
        holds.reserve_segment,
        PlaceActivities(availability, holds).place_hold,
        holds.record_degraded_hold,
        holds.release_hold,
        holds.extend_hold,
        holds.validate_hold,
        bookings.book_segment,
        bookings.cancel_segment,
        bookings.finalize_booking,
        bookings.record_booking_outcome,
        outside.record_outside_booking,
        appointments.find_appointments,
        appointments.recognise_caller,
        appointments.begin_appointment_change,
        appointments.finish_appointment_change,
        appointments.appointment_of_booking,
        appointments.reflect_calcom_reschedule,
    ]


def build_worker(
    client: Client,
    deps: ActivityDeps,
    *,
    task_queue: str,
    sandboxed: bool = True,
    inline: bool = False,
) -> Worker:
    """A worker for the call workflows and all activities on ``task_queue``.

    ``sandboxed=False`` skips the workflow sandbox: every call is a new workflow run, and
    building its sandbox costs about 16 ms on check_availability's path (bench/, docs/
    benchmarks.md). The test suite and ``booking replay`` always run the workflow code in
    the sandbox, so a non-deterministic call is caught before it ships.

    ``inline`` (only without the sandbox) runs each workflow activation on the worker's
    event loop rather than handing it to a thread and back: the SDK's ``debug_mode``
    path. Under load the hand-offs and the GIL they contend for cost the worker about a
    tenth of its CPU (docs/benchmarks.md, "Fourth sitting"). The SDK's 2 s deadlock
    detector needs the thread, so it is off here; a workflow that blocks is caught by the
    test suite (threads, detector and sandbox on) and, in production, reported by the
    loop watchdog (``observability.watchdog``).
    """
    if inline and sandboxed:
        raise ValueError("inline activations need the unsandboxed runner")
    options: dict[str, Any] = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
    if inline:
        options["debug_mode"] = True
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CallWorkflow, CalcomBookingEventWorkflow, CallerLookupWorkflow],
        activities=activities_for(deps),
        **options,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_concurrent_activities=200,
        max_concurrent_local_activities=200,
    )


@contextlib.asynccontextmanager
async def activity_deps(settings: Settings) -> AsyncIterator[ActivityDeps]:
    """Cal.com client (one pooled connection per worker, its requests taken from the
    budget all workers share) and the database engine."""
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set (booking dev sets it for you)")
    catalog = load_catalog(settings.catalog_path)
    engine = create_engine_for(settings.database_url)
    api_key = settings.calcom_api_key.get_secret_value() if settings.calcom_api_key else None
    budget = shared_budget(engine, api_key, settings)
    async with CalcomClient(settings.calcom_base_url, api_key, budget=budget) as calcom:
        try:
            yield ActivityDeps(
                calcom=calcom,
                engine=engine,
                catalog=catalog,
                fallback_email=settings.booking_fallback_email,
            )
        finally:
            if budget is not None:  # the tokens of requests already sent are recorded
                await budget.settled()
            await engine.dispose()


def shared_budget(engine: Any, api_key: str | None, settings: Settings) -> SharedBudget | None:
    """The Cal.com request budget of ``api_key`` in PostgreSQL, shared by every worker
    (None when ``CALCOM_RATE_LIMIT_PER_MINUTE`` is 0)."""
    if not settings.calcom_rate_limit_per_minute:
        return None
    return SharedBudget(
        PostgresBucket(engine, api_key or "no-key"),
        BudgetShape(settings.calcom_rate_limit_per_minute, settings.calcom_rate_burst),
    )


async def report_open_workflows(client: Client, *, every: float = 30.0) -> None:
    """Keep ``booking_workflows_open{status}`` current from Temporal visibility, so a
    call stuck in one phase (e.g. ``booking``) raises an alert."""
    while True:
        for status in BookingStatus:
            try:
                count = await client.count_workflows(
                    f'WorkflowType="CallWorkflow" AND ExecutionStatus="Running" '
                    f'AND BookingStatus="{status.value}"'
                )
            except RPCError as exc:
                log.warning("visibility count failed", error=str(exc))
                break
            WORKFLOWS_OPEN.labels(status=status.value).set(count.count)
        await asyncio.sleep(every)


def _encryption(settings: Settings) -> str:
    """For the start-up log: the active key's id, or "off" (never key material)."""
    ring = settings.payload_key_ring
    return f"on (key {ring.active})" if ring else "off: PAYLOAD_ENCRYPTION_KEYS is not set"


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully."""
    configure_logging(level=settings.log_level, json=settings.log_json)
    start_http_server(settings.worker_metrics_port)
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"0.0.0.0:{settings.worker_metrics_port + 1}")
        )
    )
    client = await connect(settings, runtime=runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with activity_deps(settings) as deps:
        inline = settings.workflow_inline_activations and not settings.workflow_sandbox
        worker = build_worker(
            client,
            deps,
            task_queue=settings.temporal_task_queue,
            sandboxed=settings.workflow_sandbox,
            inline=inline,
        )
        log.info(
            "worker started",
            task_queue=settings.temporal_task_queue,
            temporal=settings.temporal_address,
            metrics_port=settings.worker_metrics_port,
            payload_encryption=_encryption(settings),
            inline_activations=inline,
        )
        reporter = asyncio.create_task(report_open_workflows(client))
        watchdog = LoopWatchdog(loop).start()
        try:
            async with worker:
                await stop.wait()
                reporter.cancel()
                log.info("worker stopping", grace_seconds=GRACEFUL_SHUTDOWN.total_seconds())
        finally:
            watchdog.stop()
    log.info("worker stopped")


def main() -> None:
    asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
