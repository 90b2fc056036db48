"""Answers against the Temporal floor: the check and the booking through the real API,
the floor on the same server, the bare Cal.com calls, CPU and Cal.com requests per
operation. Operations run one at a time (so request-count deltas belong to one call)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import psutil

from bench.floor import measure_floor
from bench.report import pct
from bench.slots import Slots, date_args
from bench.stack import Stack
from calcom.client import CalcomClient
from calcom.models import Attendee, BookingRequest
from domain.planning import plan_service
from workflows.call import SEARCH_DELAY

# The local activities the check runs, by round (a round's activities run together): one,
# place_hold (Cal.com's time and the claim, then the reservations), whatever the service.
CHECK_ROUNDS = {1: [1], 3: [1]}
# The stylist named in the latency checks: the first of the service's, whose event types
# the bare Cal.com calls use (plan_service plans with the first stylist). "Anyone" would
# ask Cal.com about every stylist's event types.
STYLIST = {"Herrenhaarschnitt": "Anna", "Dauerwelle": "Ben"}

# What a call's workflow does after an answer (its search attributes, a moment later:
# workflows.call.SEARCH_DELAY; releasing holds when calls end) happens before the next
# measurement starts, inside the CPU figures of the operations it belongs to: every
# operation, as the floor, is measured on a system doing nothing else.
QUIET_SECONDS = SEARCH_DELAY.total_seconds() + 1.0

# The floor of issue 17's table: the local activities the check ran when the issue was
# written (slots, claim, reservation: 3; a perm's: 5), one after another. Since the check
# is one local activity, "as many as the check runs" is CHECK_ROUNDS: both are reported.
SEQUENTIAL_ROUNDS = {1: [1, 1, 1], 3: [1, 1, 1, 1, 1]}


@dataclass
class Figures:
    """One kind of operation, run ``n`` times."""

    seconds: list[float]
    worker_cpu_ms: float  # per operation, all worker processes together
    api_cpu_ms: float  # per operation, all API processes together
    calcom_requests: float  # per operation

    @classmethod
    def merge(cls, parts: list[Figures]) -> Figures:
        """Several batches of the same operation as one (per-operation figures weighted
        by each batch's size)."""
        seconds = [s for p in parts for s in p.seconds]
        n = max(len(seconds), 1)

        def mean(field: str) -> float:
            return sum(getattr(p, field) * len(p.seconds) for p in parts) / n

        return cls(seconds, mean("worker_cpu_ms"), mean("api_cpu_ms"), mean("calcom_requests"))

    @property
    def p50(self) -> float:
        return pct(self.seconds, 0.5)

    @property
    def p95(self) -> float:
        return pct(self.seconds, 0.95)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        t = p.cpu_times()
        total += t.user + t.system
    return total


class Meter:
    """CPU of the worker and API processes and the simulator's request count, before and
    after a batch of operations."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def snapshot(self) -> tuple[float, float, int]:
        await asyncio.sleep(0.3)  # let background work of the previous step finish
        traffic = await self.stack.sim.traffic()
        services = self.stack.services
        return cpu_seconds(services.workers), cpu_seconds(services.apis), traffic["request_count"]

    @staticmethod
    def figures(
        before: tuple[float, float, int], after: tuple[float, float, int], seconds: list[float]
    ) -> Figures:
        n = max(len(seconds), 1)
        return Figures(
            seconds=seconds,
            worker_cpu_ms=(after[0] - before[0]) * 1000 / n,
            api_cpu_ms=(after[1] - before[1]) * 1000 / n,
            calcom_requests=(after[2] - before[2]) / n,
        )


async def checks_and_bookings(
    stack: Stack, slots: Slots, service: str, n: int, *, stylist: str | bool | None = True
) -> tuple[Figures, Figures]:
    """``n`` calls announced by ``call_started``; then their checks one at a time, then
    their bookings one at a time; then they hang up. ``stylist``: the one asked for (True:
    the service's benchmark stylist, :data:`STYLIST`; None: anyone)."""
    named = STYLIST[service] if stylist is True else stylist
    wish = {"stylist": named} if isinstance(named, str) else {}
    retell = stack.retell()
    zone = stack.catalog.zone
    calls = [
        (f"bench-{service[:4]}-{i}-{random.randrange(1 << 30)}", slots.next(service))
        for i in range(n)
    ]
    meter = Meter(stack)
    try:
        for call_id, _ in calls:
            await retell.webhook("call_started", call_id)
        await asyncio.sleep(1.0)
        before = await meter.snapshot()
        check_t = []
        held = []
        for call_id, start in calls:
            t0 = time.perf_counter()
            check = await retell.function(
                call_id,
                "check_availability",
                {"service": service, **wish, **date_args(start, zone)},
            )
            check_t.append(time.perf_counter() - t0)
            if check["available"]:
                held.append(call_id)
        if len(held) < len(calls) * 0.9:
            raise RuntimeError(f"only {len(held)} of {len(calls)} bench slots were free")
        await asyncio.sleep(QUIET_SECONDS)  # the checks' search attributes, indexed after
        middle = await meter.snapshot()
        book_t = []
        for call_id in held:
            t0 = time.perf_counter()
            booking = await retell.function(
                call_id, "start_booking", {"customer_name": "Bench Mark"}
            )
            book_t.append(time.perf_counter() - t0)
            if not booking["booked"]:
                raise RuntimeError(f"bench booking failed: {booking}")
        await asyncio.sleep(QUIET_SECONDS)
        after = await meter.snapshot()
        for call_id, _ in calls:
            await retell.webhook("call_ended", call_id)
        await asyncio.sleep(QUIET_SECONDS)  # the calls end before the next measurement
    finally:
        await retell.aclose()
    return Meter.figures(before, middle, check_t), Meter.figures(middle, after, book_t)


def salon_day(start: datetime, zone: Any) -> tuple[datetime, datetime]:
    """The window the check asks Cal.com about: the rest of the salon day."""
    day = start.astimezone(zone).date()
    first = datetime.combine(day, clock.min, zone).astimezone(UTC)
    return max(datetime.now(UTC), first), first + timedelta(days=1)


async def bare_calcom_check(stack: Stack, slots: Slots, service_name: str, n: int) -> list[float]:
    """The Cal.com calls the check needs, without us: ``/v2/slots`` for each event type
    over the salon day (together), then a reservation per staffed segment (together)."""
    service = stack.catalog.service(service_name)
    sim = stack.infra.simulator
    zone = stack.catalog.zone
    times = []
    async with CalcomClient(sim.url, sim.api_key) as calcom:
        for i in range(n + 2):
            plan = plan_service(service, slots.next(service_name))
            window = salon_day(plan.start, zone)
            event_types = sorted(
                {s.calcom_event_type_id for s in plan.staffed if s.calcom_event_type_id}
            )
            t0 = time.perf_counter()
            await asyncio.gather(
                *(calcom.get_slots(et, *window, stack.catalog.timezone) for et in event_types)
            )
            await asyncio.gather(
                *(
                    calcom.reserve_slot(s.calcom_event_type_id, s.start, s.minutes, 2)  # type: ignore[arg-type]
                    for s in plan.staffed
                )
            )
            if i >= 2:
                times.append(time.perf_counter() - t0)
    return times


async def floors(stack: Stack, segments: int, n: int) -> dict[str, list[float]]:
    """The floor's update times in the two shapes (and sent as update-with-start); under
    "worker cpu ms" the floor worker's CPU per update, for comparison with ours."""
    client = stack.infra.temporal
    floor_worker = stack.infra.floor_worker
    before = cpu_seconds([floor_worker])
    shaped = await measure_floor(client, CHECK_ROUNDS[segments], n)
    cpu = (cpu_seconds([floor_worker]) - before) * 1000 / max(n + 2, 1)
    return {
        "worker cpu ms": [cpu],
        "sequential": await measure_floor(client, SEQUENTIAL_ROUNDS[segments], n),
        "check shape": shaped,
        "check shape, update-with-start": await measure_floor(
            client, CHECK_ROUNDS[segments], n, with_start=True
        ),
    }


def merge_floors(parts: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Rounds of :func:`floors` as one: times pooled, the CPU per update averaged."""
    merged = {key: [t for p in parts for t in p[key]] for key in parts[0]}
    merged["worker cpu ms"] = [sum(p["worker cpu ms"][0] for p in parts) / len(parts)]
    return merged


async def check_perm(retell: Any, call_id: str, start: datetime, zone: Any) -> dict[str, Any]:
    """check_availability for the perm at ``start`` with its benchmark stylist."""
    args = {"service": "Dauerwelle", "stylist": STYLIST["Dauerwelle"], **date_args(start, zone)}
    answer: dict[str, Any] = await retell.function(call_id, "check_availability", args)
    return answer


def booking_request(seg: Any, tag: str) -> BookingRequest:
    return BookingRequest(
        event_type_id=seg.calcom_event_type_id,
        start=seg.start,
        length_in_minutes=int((seg.end - seg.start).total_seconds() // 60),
        attendee=Attendee(
            name="Bench Mark", time_zone="Europe/Berlin", phone_number="+4915112345678"
        ),
        metadata={"source": "bench", "tag": tag, "segment": seg.key},
    )


async def compound_booking(
    stack: Stack, slots: Slots, latency: float, n: int
) -> tuple[list[float], list[float], list[float]]:
    """Dauerwelle booked through the API with Cal.com taking ``latency`` per booking,
    against one bare booking and the three segments booked one after another."""
    retell = stack.retell()
    sim = stack.infra.simulator
    zone = stack.catalog.zone
    saga, single, sequential = [], [], []
    try:
        async with CalcomClient(sim.url, sim.api_key) as calcom:
            for i in range(n):
                await sim.control.set_latency("/v2/bookings", 0)
                call_id = f"bench-cmp-{latency}-{i}-{random.randrange(1 << 30)}"
                await retell.webhook("call_started", call_id)
                await asyncio.sleep(0.2)
                check = await check_perm(retell, call_id, slots.next("Dauerwelle"), zone)
                if not check["available"]:
                    raise RuntimeError(f"bench slot not available: {check}")
                await sim.control.set_latency("/v2/bookings", latency)
                t0 = time.perf_counter()
                answer = await retell.function(call_id, "start_booking", {"customer_name": "Bench"})
                while answer["status"] == "pending":
                    await asyncio.sleep(0.05)
                    answer = await retell.function(call_id, "booking_status", {})
                saga.append(time.perf_counter() - t0)
                if not answer["booked"]:
                    raise RuntimeError(f"bench booking failed: {answer}")
                await retell.webhook("call_ended", call_id)
                one = plan_service(
                    stack.catalog.service("Herrenhaarschnitt"), slots.next("Herrenhaarschnitt")
                )
                t1 = time.perf_counter()
                await calcom.create_booking(booking_request(one.staffed[0], f"one-{i}"))
                single.append(time.perf_counter() - t1)
                plan = plan_service(stack.catalog.service("Dauerwelle"), slots.next("Dauerwelle"))
                t2 = time.perf_counter()
                for seg in plan.staffed:
                    await calcom.create_booking(booking_request(seg, f"seq-{i}"))
                sequential.append(time.perf_counter() - t2)
    finally:
        await sim.control.set_latency("/v2/bookings", 0)
        await retell.aclose()
    return saga, single, sequential


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
