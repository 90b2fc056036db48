"""The shared Cal.com budget with two workers: a simulator that enforces Cal.com's limit
(120 requests a minute per API key, 429 beyond), two worker processes with the shared
limit on, and more calls than the budget allows."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from bench.capacity import Answers, Pool
from bench.slots import date_args
from bench.stack import HORIZON, Infra, Stack, running_services, start_simulator

LIMIT = 120
BURST = 60  # the defaults of CALCOM_RATE_LIMIT_PER_MINUTE and CALCOM_RATE_BURST


@dataclass
class LimitRun:
    seconds: float
    calls: int
    checks: Answers
    booked: int = 0
    booking_failed: int = 0
    booking_pending: int = 0
    traffic: dict = field(default_factory=dict)


async def shared_limit(infra: Infra, pool: Pool, *, seconds: float, rate: float) -> LimitRun:
    """Calls at ``rate`` a second for ``seconds`` (each: announce, check, book half of
    the held ones, hang up) against two workers sharing one Cal.com key."""
    limited = start_simulator(infra.children, api_key="cal_bench_limited", rate_limit=LIMIT)
    env = {
        "CALCOM_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "CALCOM_RATE_BURST": str(BURST),
        **HORIZON,
    }
    with running_services(
        infra, workers=2, apis=1, simulator=limited, env=env, name="limited-"
    ) as services:
        stack = Stack(infra, services)
        retell = stack.retell()
        run = LimitRun(seconds=seconds, calls=int(rate * seconds), checks=Answers())
        zone = infra.catalog.zone

        async def call(i: int) -> None:
            service, start = pool.next()
            call_id = f"bench-limit-{i}-{random.randrange(1 << 40)}"
            await retell.webhook("call_started", call_id)
            await asyncio.sleep(0.3)
            t0 = time.perf_counter()
            check = await retell.function(
                call_id, "check_availability", {"service": service, **date_args(start, zone)}
            )
            run.checks.add(check, time.perf_counter() - t0)
            if check["available"] and i % 2 == 0:
                answer = await retell.function(call_id, "start_booking", {"customer_name": "Limit"})
                deadline = time.monotonic() + 60
                while answer["status"] == "pending" and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    answer = await retell.function(call_id, "booking_status", {})
                if answer["booked"]:
                    run.booked += 1
                elif answer["status"] == "pending":
                    run.booking_pending += 1
                else:
                    run.booking_failed += 1
            await retell.webhook("call_ended", call_id)

        tasks = []
        t0 = time.perf_counter()
        try:
            for i in range(run.calls):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(call(i)))
            await asyncio.gather(*tasks)
            await asyncio.sleep(3.0)  # the hang-ups' releases
        finally:
            await retell.aclose()
        run.traffic = await limited.control.traffic(60)
    return run
