"""Record the replay fixtures in ``tests/histories/`` from real runs of the workflows.

``make histories`` (``python -m tests.record_histories [scenario ...]``) starts a Temporal
dev server, PostgreSQL and the Cal.com simulator, drives every path of the call workflow
(or the named ones) and writes each closed workflow's history as JSON.
``tests/test_replay.py`` replays them all.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from calsim.control import SimControl
from calsim.server import SimulatorServer
from config.settings import DEMO_CATALOG_PATH
from contracts.appointments import (
    CancelAppointment,
    CheckMove,
    FindAppointments,
    LookupCaller,
    RescheduleAppointment,
)
from contracts.messages import CallEnded, CancelHold, Customer, ExtendHold, StartBooking
from domain.catalog import load_catalog
from tests.harness import (
    CallStack,
    call_stack,
    next_open_day,
    start_postgres_server,
    start_temporal,
)
from workflows.call import CallWorkflow
from workflows.lookup import CallerLookupWorkflow
from workflows.outside_booking import CalcomBookingEvent, CalcomBookingEventWorkflow

HISTORIES = Path(__file__).parent / "histories"
CUSTOMER = Customer(name="Erika Mustermann", phone="+4930999999")
# A scenario drives the call ``call_id``; it may name other workflows to record as well.
Scenario = Callable[[CallStack, SimControl, str], Awaitable[list[tuple[str, Any]] | None]]


async def booked(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Dauerwelle", next_open_day(hour=10))
    await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )


async def slot_taken(stack: CallStack, sim: SimControl, call_id: str) -> None:
    start = next_open_day(hour=11)
    await stack.check(call_id + "-first", "Färben", start)
    await stack.check(call_id, "Färben", start)
    await stack.handle(call_id + "-first").signal(CallWorkflow.call_ended, CallEnded())


async def outside_booking(stack: CallStack, sim: SimControl, call_id: str) -> None:
    start = next_open_day(hour=14)
    await stack.check(call_id, "Herrenhaarschnitt", start)
    outside = await sim.outside_booking(event_type_id=1004, start=start, respect_reservations=False)
    event = CalcomBookingEvent(
        trigger="BOOKING_CREATED",
        calcom_uid=outside["uid"],
        event_type_id=1004,
        start=start,
        end=start + timedelta(minutes=15),
    )
    await stack.client.execute_workflow(
        CalcomBookingEventWorkflow.run,
        event,
        id=f"calcom-{call_id}",
        task_queue=stack.task_queue,
    )
    await asyncio.sleep(0.5)
    await stack.handle(call_id).execute_update(CallWorkflow.extend_hold, ExtendHold())


async def compensated(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Dauerwelle", next_open_day(hour=13))
    await sim.add_fault(endpoint="/v2/bookings", kind="reject", event_type_id=2004)
    await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )


async def lost_response(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Dauerwelle", next_open_day(hour=15))
    await sim.add_fault(endpoint="/v2/bookings", kind="lost_response", event_type_id=2002, times=1)
    await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )


async def expired(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Föhnen", next_open_day(hour=12), hold_seconds=1)
    await asyncio.sleep(2.5)
    await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )


async def extended_then_cancelled(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Bartpflege", next_open_day(hour=9))
    handle = stack.handle(call_id)
    for _ in range(4):
        await handle.execute_update(CallWorkflow.extend_hold, ExtendHold(seconds=30))
    await handle.execute_update(CallWorkflow.cancel_hold, CancelHold())


async def hung_up(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Damenhaarschnitt", next_open_day(hour=16))


async def _appointment(stack: CallStack, service: str, start: Any) -> str:
    """An appointment booked by a call of its own (not recorded)."""
    call_id = f"history-booking-{uuid.uuid4().hex[:8]}"
    await stack.check(call_id, service, start)
    result = await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )
    await stack.handle(call_id).signal(CallWorkflow.call_ended, CallEnded())
    appointment_id: str = result.appointment_id
    return appointment_id


async def appointment_moved(stack: CallStack, sim: SimControl, call_id: str) -> None:
    old = await _appointment(stack, "Dauerwelle", next_open_day(hour=9))
    await stack.update(call_id, CallWorkflow.find_appointments, FindAppointments())
    await stack.update(
        call_id,
        CallWorkflow.check_move,
        CheckMove(appointment_id=old, start=next_open_day(days_ahead=3, hour=14)),
    )
    await stack.handle(call_id).execute_update(
        CallWorkflow.reschedule_appointment, RescheduleAppointment(appointment_id=old)
    )


async def move_failed(stack: CallStack, sim: SimControl, call_id: str) -> None:
    old = await _appointment(stack, "Dauerwelle", next_open_day(hour=9))
    await sim.add_fault(endpoint="/v2/bookings", kind="reject", event_type_id=2004)
    await stack.update(
        call_id,
        CallWorkflow.reschedule_appointment,
        RescheduleAppointment(appointment_id=old, start=next_open_day(days_ahead=3, hour=14)),
    )


async def appointment_cancelled(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await _appointment(stack, "Färben", next_open_day(hour=10))
    await stack.update(call_id, CallWorkflow.cancel_appointment, CancelAppointment())
    await stack.handle(call_id).execute_update(
        CallWorkflow.cancel_appointment, CancelAppointment()
    )  # a second cancel: cancelled again


async def cancel_too_late(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await _appointment(stack, "Föhnen", next_open_day(hour=11))
    await stack.update(
        call_id,
        CallWorkflow.cancel_appointment,
        CancelAppointment(),
        cancellation_notice_hours=24 * 365,
    )


async def cancelled_in_calcom(
    stack: CallStack, sim: SimControl, call_id: str
) -> list[tuple[str, Any]]:
    """Staff cancel one segment of a perm in Cal.com: the whole appointment goes, and
    the caller recognised afterwards has nothing upcoming."""
    from store import appointments as appointments_store

    appointment_id = await _appointment(stack, "Dauerwelle", next_open_day(hour=15))
    stored = await appointments_store.get(stack.engine, appointment_id)
    assert stored is not None
    first = stored.segments[0]
    event = CalcomBookingEvent(
        trigger="BOOKING_CANCELLED",
        calcom_uid=first.calcom_booking_uid or "",
        event_type_id=2001,
        start=first.start,
        end=first.end,
        status="CANCELLED",
        metadata={"source": "salon-booking"},
    )
    reflected = await stack.client.start_workflow(
        CalcomBookingEventWorkflow.run, event, id=f"calcom-{call_id}", task_queue=stack.task_queue
    )
    await reflected.result()
    lookup = await stack.client.start_workflow(
        CallerLookupWorkflow.run,
        LookupCaller(phone="+4930123456", time_zone="Europe/Berlin"),
        id=f"lookup-{call_id}",
        task_queue=stack.task_queue,
    )
    await lookup.result()
    await stack.update(call_id, CallWorkflow.find_appointments, FindAppointments())
    return [("calcom_cancelled_appointment", reflected), ("caller_lookup", lookup)]


SCENARIOS: dict[str, Scenario] = {
    "booked": booked,
    "slot_taken": slot_taken,
    "outside_booking": outside_booking,
    "compensated": compensated,
    "lost_response": lost_response,
    "expired_then_rebooked": expired,
    "extended_then_cancelled": extended_then_cancelled,
    "hung_up": hung_up,
    "appointment_moved": appointment_moved,
    "move_failed": move_failed,
    "appointment_cancelled": appointment_cancelled,
    "cancel_too_late": cancel_too_late,
    "cancelled_in_calcom": cancelled_in_calcom,
}


async def record(names: list[str]) -> None:
    """Record the scenarios ``names`` (all when empty)."""
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {sorted(unknown)}; known: {sorted(SCENARIOS)}")
    HISTORIES.mkdir(exist_ok=True)
    pg = start_postgres_server()
    catalog = load_catalog(DEMO_CATALOG_PATH)
    env = await start_temporal()
    try:
        with SimulatorServer(catalog) as server:
            control = SimControl(server.url)
            for name, scenario in SCENARIOS.items():
                if names and name not in names:
                    continue
                await control.reset()
                url = pg.create_database(migrate=True)
                try:
                    async with call_stack(env.client, url, server) as stack:
                        call_id = f"history-{name}"
                        others = await scenario(stack, control, call_id) or []
                        handle = stack.handle(call_id)
                        await handle.signal(CallWorkflow.call_ended, CallEnded())
                        await handle.result()
                        for label, closed in [(name, handle), *others]:
                            history = await closed.fetch_history()
                            (HISTORIES / f"{label}.json").write_text(history.to_json())
                            print(f"recorded {label}")
                finally:
                    pg.drop_database(url)
    finally:
        await env.shutdown()
        pg.stop()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
