"""Record the replay fixtures in ``tests/histories/`` from real runs of the workflows.

``make histories`` (``python -m tests.record_histories``) starts a Temporal dev server,
PostgreSQL and the Cal.com simulator, drives every path of the call workflow and writes
each closed workflow's history as JSON. ``tests/test_replay.py`` replays them all.

Two kinds: the plain ones (``SCENARIOS``) are histories as written before payload
encryption (no codec), the ``encrypted_*`` ones (``ENCRYPTED_SCENARIOS``) are written
through the codec with the suite's public TEST key (``tests.harness.TEST_PAYLOAD_KEYS``).
``python -m tests.record_histories encrypted_booked ...`` records only the named ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

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
from contracts.messages import (
    BookingStatus,
    CallEnded,
    CancelHold,
    Customer,
    ExtendHold,
    StartBooking,
)
from domain.catalog import load_catalog
from tests.harness import (
    TEST_PAYLOAD_KEYS,
    CallStack,
    assert_indexed,
    call_stack,
    local_activities,
    next_open_day,
    start_postgres_server,
    start_temporal,
    with_codec,
)
from workflows.call import CallWorkflow
from workflows.lookup import CallerLookupWorkflow
from workflows.outside_booking import CalcomBookingEvent, CalcomBookingEventWorkflow
from workflows.search_attributes import BOOKING_STATUS

HISTORIES = Path(__file__).parent / "histories"
CUSTOMER = Customer(name="Erika Mustermann", phone="+4930999999")
# A scenario drives the call ``call_id`` (or returns the id of the call it drove instead);
# it may instead return other workflows to record as well, as (name, handle) pairs.
Scenario = Callable[[CallStack, SimControl, str], Awaitable[str | list[tuple[str, Any]] | None]]


async def booked(stack: CallStack, sim: SimControl, call_id: str) -> None:
    await stack.check(call_id, "Dauerwelle", next_open_day(hour=10))
    # The search attributes' own task runs before the next message, as a caller talks on.
    await assert_indexed(
        stack.handle(call_id), (BOOKING_STATUS, BookingStatus.HOLDING.value), interval=0.02
    )
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


async def stylist_named_taken(stack: CallStack, sim: SimControl, call_id: str) -> None:
    """Anna is taken at 10: the caller who asked for her is offered Carla then, takes
    her, and books."""
    start = next_open_day(hour=10)
    await stack.check(call_id + "-first", "Herrenhaarschnitt", start, stylist="anna")
    await stack.check(call_id, "Herrenhaarschnitt", start, stylist="anna")
    await stack.check(call_id, "Herrenhaarschnitt", start, stylist="carla")
    await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )
    await stack.handle(call_id + "-first").signal(CallWorkflow.call_ended, CallEnded())


async def stylist_next_free(stack: CallStack, sim: SimControl, call_id: str) -> str:
    """Two callers without a preference race for one time: both see Anna and Carla free,
    one of them loses Anna's claim and takes Carla. Raced until a call shows it (a race
    is a race); returns that call."""
    for attempt in range(16):  # 9:00 to 16:30
        start = next_open_day(hour=9) + timedelta(minutes=30 * attempt)
        pair = [f"{call_id}-{attempt}", f"{call_id}-{attempt}-rival"]
        await asyncio.gather(*(stack.check(c, "Herrenhaarschnitt", start) for c in pair))
        histories = [await stack.handle(c).fetch_history() for c in pair]
        # Claims tried: in the one-step placement (place_hold), then one by one.
        tried = [
            sum(local_activities(h).count(step) for step in ("place_hold", "acquire_claims"))
            for h in histories
        ]
        winner = next((c for c, n in zip(pair, tried, strict=True) if n > 1), None)
        for c in pair:
            if c != winner:
                await stack.handle(c).signal(CallWorkflow.call_ended, CallEnded())
                await stack.handle(c).result()
        if winner is not None:
            return winner  # still running: record() ends it
    raise RuntimeError("no caller had to take the next stylist in 16 races")


async def check_during_booking(stack: CallStack, sim: SimControl, call_id: str) -> None:
    """Cal.com books slowly; the agent checks another time meanwhile: 'booking'."""
    start = next_open_day(hour=10, minute=50)  # any minute: off Cal.com's grid
    await stack.check(call_id, "Dauerwelle", start)
    await sim.set_latency("/v2/bookings", 1.5)
    handle = stack.handle(call_id)
    booking = asyncio.create_task(
        handle.execute_update(CallWorkflow.start_booking, StartBooking(customer=CUSTOMER))
    )
    await asyncio.sleep(0.5)
    await stack.check(call_id, "Färben", start + timedelta(hours=4))
    await booking
    await sim.set_latency("/v2/bookings", 0)


async def degraded_hold(stack: CallStack, sim: SimControl, call_id: str) -> None:
    """Cal.com fails every reservation: held in our database only, then booked."""
    await sim.add_fault(endpoint="POST /v2/slots/reservations", kind="500")
    await stack.check(call_id, "Färben", next_open_day(hour=14))
    await sim.clear_faults()
    await stack.handle(call_id).execute_update(
        CallWorkflow.start_booking, StartBooking(customer=CUSTOMER)
    )


async def cancelled_during_booking(stack: CallStack, sim: SimControl, call_id: str) -> None:
    """Ops cancel the workflow while Cal.com books: compensated, released, cancelled."""
    await stack.check(call_id, "Dauerwelle", next_open_day(hour=13, minute=20))
    await sim.set_latency("/v2/bookings", 2.0)
    handle = stack.handle(call_id)
    booking = asyncio.create_task(
        handle.execute_update(CallWorkflow.start_booking, StartBooking(customer=CUSTOMER))
    )
    await asyncio.sleep(0.5)
    await handle.cancel()
    await booking
    await sim.set_latency("/v2/bookings", 0)


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
    "stylist_named_taken": stylist_named_taken,
    "stylist_next_free": stylist_next_free,
    "check_during_booking": check_during_booking,
    "degraded_hold": degraded_hold,
    "cancelled_during_booking": cancelled_during_booking,
    # existing appointments
    "appointment_moved": appointment_moved,
    "move_failed": move_failed,
    "appointment_cancelled": appointment_cancelled,
    "cancel_too_late": cancel_too_late,
    "cancelled_in_calcom": cancelled_in_calcom,
}


# Through the codec: customer data in update arguments, encoded failure messages.
ENCRYPTED_SCENARIOS: dict[str, Scenario] = {
    "encrypted_booked": booked,
    "encrypted_compensated": compensated,
}


async def record(only: set[str] | None = None) -> None:
    """Record every scenario (or those named in ``only``) into ``tests/histories/``."""
    HISTORIES.mkdir(exist_ok=True)
    everything = {
        **{name: (scenario, None) for name, scenario in SCENARIOS.items()},
        **{name: (scenario, TEST_PAYLOAD_KEYS) for name, scenario in ENCRYPTED_SCENARIOS.items()},
    }
    unknown = (only or set()) - set(everything)
    if unknown:
        raise SystemExit(f"no such scenario: {', '.join(sorted(unknown))}")
    pg = start_postgres_server()
    catalog = load_catalog(DEMO_CATALOG_PATH)
    env = await start_temporal()
    try:
        with SimulatorServer(catalog) as server:
            control = SimControl(server.url)
            for name, (scenario, keys) in everything.items():
                if only and name not in only:
                    continue
                await control.reset()
                url = pg.create_database(migrate=True)
                client = with_codec(env.client, keys)
                try:
                    async with call_stack(client, url, server) as stack:
                        drove = await scenario(stack, control, f"history-{name}")
                        others = drove if isinstance(drove, list) else []
                        handle = stack.handle(
                            drove if isinstance(drove, str) else f"history-{name}"
                        )
                        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                            await handle.signal(CallWorkflow.call_ended, CallEnded())
                        with contextlib.suppress(WorkflowFailureError):  # cancelled
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
    asyncio.run(record(set(sys.argv[1:]) or None))
