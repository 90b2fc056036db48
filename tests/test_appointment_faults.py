"""SIGKILL of the worker process (``python worker.py``) while it moves or cancels an
appointment; a new worker takes over. Every move ends with exactly one live appointment
and every cancel with none, and Cal.com keeps no booking that no live appointment knows.

``make chaos`` runs more trials (``--run-chaos``).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from temporalio.client import Client, WorkflowUpdateStage

from contracts.appointments import CancelAppointment, CheckMove, FindAppointments
from contracts.appointments import RescheduleAppointment as Reschedule
from contracts.messages import BookingStatus, CallEnded, Customer, StartBooking
from store import appointments as appointments_store
from store import holds as store
from tests.harness import CallStack, assert_eventually, call_stack, open_days, unique
from tests.test_faults import _catalog, assert_booking, spawn_worker, trials
from workflows.call import CallWorkflow

CUSTOMER = Customer(name="Erika Mustermann", phone="+4915100000000")
PERM = "Dauerwelle"


def perms_far_apart(n: int) -> list[Any]:
    """``n`` perm starts, two a full open day (9:00 and 14:00). Perms 2.5 hours apart
    can make each other look taken: Cal.com's slot grid restarts after a booking, and
    availability is decided from whole slots (conservative at the edges of busy time)."""
    from datetime import datetime
    from itertools import islice
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(_catalog().timezone)
    days = list(islice(open_days(3), (n + 1) // 2))
    return [
        datetime(d.year, d.month, d.day, 9 if i % 2 == 0 else 14, tzinfo=zone)
        for i, d in ((i, days[i // 2]) for i in range(n))
    ]


async def book(stack: CallStack, starts: list[Any]) -> list[str]:
    """One perm appointment at each start (booked by in-process workers)."""

    async def one(start: Any) -> str:
        call_id = unique("booking")
        assert (await stack.check(call_id, PERM, start)).available
        result = await stack.handle(call_id).execute_update(
            CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
        )
        assert result.booked, result
        await stack.handle(call_id).signal(CallWorkflow.call_ended, CallEnded())
        appointment_id: str = result.appointment_id
        return appointment_id

    return list(await asyncio.gather(*(one(s) for s in starts)))


async def assert_no_orphans(engine: Any, sim: Any) -> set[str]:
    """Every accepted Cal.com booking of ours is a segment of a live appointment, and
    every live appointment has all three perm segments accepted; returns the live ids."""
    live = [
        a for a in await appointments_store.list_appointments(engine) if a["status"] == "booked"
    ]
    expected: set[str] = set()
    for row in live:
        stored = await appointments_store.get(engine, row["id"])
        assert stored is not None
        uids = {s.calcom_booking_uid for s in stored.segments if s.calcom_booking_uid}
        assert len(uids) == 3, (row["id"], uids)
        expected |= uids
    accepted = {
        b["uid"]
        for b in (await sim.state())["bookings"]
        if b["status"] == "accepted" and (b.get("metadata") or {}).get("source") == "salon-booking"
    }
    assert accepted == expected, f"orphaned: {accepted - expected}, missing: {expected - accepted}"
    return {row["id"] for row in live}


async def test_worker_killed_mid_move_leaves_exactly_one_appointment(
    request, temporal_env, database_url, simulator, sim
):
    n = trials(request, light=6, heavy=24)
    client: Client = temporal_env.client
    address = client.service_client.config.target_host
    slots = perms_far_apart(2 * n)
    async with call_stack(client, database_url, simulator) as booker:
        old_ids = await book(booker, slots[:n])
    await sim.set_latency("/v2/bookings", 0.4)
    await sim.set_latency("/v2/bookings/{uid}/cancel", 0.4)
    gate = asyncio.Semaphore(3)

    async def trial(i: int) -> tuple[bool, str | None]:
        async with gate:
            queue, call_id = unique("kill-move"), unique(f"move{i}")
            worker = spawn_worker(address, queue, database_url, simulator)
            try:
                stack = CallStack(client, queue, None, _catalog())
                held = await stack.update(
                    call_id,
                    CallWorkflow.check_move,
                    CheckMove(appointment_id=old_ids[i], start=slots[n + i]),
                )
                assert held.available, (slots[n + i], held)
                await stack.handle(call_id).start_update(
                    CallWorkflow.reschedule_appointment,
                    Reschedule(appointment_id=old_ids[i]),
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                )
                # The move takes at least 0.8 s (0.4 s to book, 0.4 s to cancel the old
                # one): once it is seen booking, a kill within 0.5 s lands in the middle
                # of it. The trials spread the kill over its phases.
                await assert_eventually(
                    lambda: assert_booking(stack.handle(call_id)), timeout=30, interval=0.02
                )
                await asyncio.sleep((i % 3) * 0.25)
                state = await stack.handle(call_id).query(CallWorkflow.state)
                mid_move = state.status == BookingStatus.BOOKING
            finally:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
            async with call_stack(client, database_url, simulator, task_queue=queue) as stack:

                async def settled() -> Any:
                    result = await stack.handle(call_id).query(CallWorkflow.booking_status)
                    assert result.status not in ("pending", "no_booking"), result.status
                    return result

                result = await assert_eventually(settled, timeout=90, interval=0.25)
                await stack.handle(call_id).signal(CallWorkflow.call_ended, CallEnded())
                await asyncio.wait_for(stack.handle(call_id).result(), timeout=60)
            return mid_move, result.appointment_id if result.booked else None

    async with asyncio.TaskGroup() as group:  # one failing trial stops the others
        tasks = [group.create_task(trial(i)) for i in range(n)]
    outcomes = [t.result() for t in tasks]
    live = await assert_no_orphans_after_settling(database_url, sim)
    for old_id, (_, new_id) in zip(old_ids, outcomes, strict=True):
        # Exactly one of the two is live: the new one when the move booked, else the old.
        assert (old_id in live) != (new_id is not None and new_id in live), (old_id, new_id)
    assert all(new_id is not None for _, new_id in outcomes), outcomes  # nothing refused it
    assert any(mid for mid, _ in outcomes), "no trial killed the worker during a move"


async def test_worker_killed_mid_cancel_leaves_no_appointment(
    request, temporal_env, database_url, simulator, sim
):
    n = trials(request, light=6, heavy=24)
    client: Client = temporal_env.client
    address = client.service_client.config.target_host
    async with call_stack(client, database_url, simulator) as booker:
        ids = await book(booker, perms_far_apart(n))
    await sim.set_latency("/v2/bookings/{uid}/cancel", 0.4)
    from store.db import create_engine_for

    engine = create_engine_for(database_url)

    async def _locked(appointment_id: str) -> None:
        stored = await appointments_store.get(engine, appointment_id)
        assert stored is not None and stored.locked_by is not None

    gate = asyncio.Semaphore(3)

    async def trial(i: int) -> bool:
        async with gate:
            queue, call_id = unique("kill-cancel"), unique(f"cancel{i}")
            worker = spawn_worker(address, queue, database_url, simulator)
            stack = CallStack(client, queue, None, _catalog())
            try:
                found = await stack.update(
                    call_id, CallWorkflow.find_appointments, FindAppointments()
                )
                assert ids[i] in {a.appointment_id for a in found.appointments}
                await stack.handle(call_id).start_update(
                    CallWorkflow.cancel_appointment,
                    CancelAppointment(appointment_id=ids[i]),
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                )
                # Cancelling at Cal.com takes 0.4 s: once the appointment is seen locked
                # for the cancel, a kill at once or 0.15 s later lands in the middle of it.
                await assert_eventually(lambda: _locked(ids[i]), timeout=30, interval=0.02)
                await asyncio.sleep((i % 2) * 0.15)
            finally:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
            async with call_stack(client, database_url, simulator, task_queue=queue) as stack:
                stored = await appointments_store.get(stack.engine, ids[i])
                mid_cancel = stored is not None and stored.locked_by is not None

                async def cancelled() -> None:
                    stored = await appointments_store.get(stack.engine, ids[i])
                    assert stored is not None and stored.status == "cancelled"
                    assert stored.locked_by is None

                await assert_eventually(cancelled, timeout=90, interval=0.25)
                again = await stack.handle(call_id).execute_update(
                    CallWorkflow.cancel_appointment, CancelAppointment(appointment_id=ids[i])
                )
                assert again.status == "cancelled", again
                await stack.handle(call_id).signal(CallWorkflow.call_ended, CallEnded())
                await asyncio.wait_for(stack.handle(call_id).result(), timeout=60)
            return mid_cancel

    async with asyncio.TaskGroup() as group:  # one failing trial stops the others
        tasks = [group.create_task(trial(i)) for i in range(n)]
    killed_mid_cancel = [t.result() for t in tasks]
    await engine.dispose()
    assert await assert_no_orphans_after_settling(database_url, sim) == set()
    assert any(killed_mid_cancel), "no trial killed the worker during a cancel"


async def assert_no_orphans_after_settling(database_url: str, sim: Any) -> set[str]:
    from store.db import create_engine_for

    engine = create_engine_for(database_url)
    try:
        live = await assert_no_orphans(engine, sim)
        # The time of every cancelled or replaced appointment is free again.
        booked = [c for c in await store.list_claims(engine) if c.status == "booked"]
        assert len(booked) == 3 * len(live), booked
        return live
    finally:
        await engine.dispose()
