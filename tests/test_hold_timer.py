"""The real 90 s default hold, expired on a time-skipping Temporal server: the durable
timer fires after 90 s of workflow time and releases the claims and reservations."""

from __future__ import annotations

from datetime import timedelta

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from contracts.messages import BookingStatus
from store import holds as store
from tests.harness import (
    SEARCH_ATTRIBUTES,
    assert_eventually,
    call_stack,
    next_open_day,
    temporal_cli_path,
    unique,
)
from workflows.call import SEARCH_DELAY, CallWorkflow
from workflows.converter import data_converter


@pytest_asyncio.fixture
async def skipping_env():
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_default_90_second_hold_expires_and_releases(
    skipping_env, database_url, simulator, sim
):
    async with call_stack(skipping_env.client, database_url, simulator) as stack:
        call_id = unique("ninety")
        held = await stack.check(call_id, "Herrenhaarschnitt", next_open_day(hour=17))
        assert held.available  # CallInput's default hold: 90 s

        async def expired():
            state = await stack.handle(call_id).query(CallWorkflow.state)
            assert state.status == BookingStatus.EXPIRED

        await assert_eventually(expired, timeout=30)
        claims = await store.list_claims(stack.engine, call_id=call_id)
        assert [c.status for c in claims] == ["expired"]
        assert (await sim.state())["reservations"] == []

        timers = [
            e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            async for e in stack.handle(call_id).fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        ]
        # (the search attributes' moment after each answer is a timer too)
        hold_timer = min(t for t in timers if t != SEARCH_DELAY)
        assert timedelta(seconds=80) <= hold_timer <= timedelta(seconds=90)
