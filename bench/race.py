"""The race of the incident analysis' timing diagram: callers told "available" who lose
the slot to a web customer while they talk, with holds vs. an agent that checks and books
Cal.com directly (the analysis' baseline, here with free-time checks so that it, too, sees
off-grid segments as free)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from bench.latency import booking_request, check_perm, salon_day
from bench.slots import Slots
from bench.stack import Stack
from calcom.client import CalcomClient
from calcom.errors import CalcomError
from calsim.control import SimControlError
from domain.availability import covers, merge
from domain.planning import Plan, plan_service

TALK_SECONDS = (0.3, 0.6)  # the analysis' 30-60 s, scaled 1:100
ARRIVAL_SECONDS = 8.0


async def race(
    stack: Stack, slots: Slots, callers: int, web_share: float
) -> dict[str, tuple[int, int]]:
    """(told available, then lost) per agent."""
    rng = random.Random(7)
    service = stack.catalog.service("Dauerwelle")
    sim = stack.infra.simulator
    zone = stack.catalog.zone
    draws = [(rng.random() < web_share, rng.uniform(*TALK_SECONDS)) for _ in range(callers)]
    # Callers ring over a few seconds, not all in one instant (that is the burst, section 3).
    arrivals = [rng.uniform(0, ARRIVAL_SECONDS) for _ in range(callers)]
    retell = stack.retell()

    async def web_customer(plan: Plan, delay: float) -> None:
        await asyncio.sleep(delay)
        a = plan.staffed[0]
        with_id: Any = a.calcom_event_type_id
        try:  # Cal.com's booking page respects reservations
            await sim.control.outside_booking(with_id, a.start, name="Web")
        except SimControlError:
            pass

    async def with_holds(i: int, plan: Plan, web: bool, talk: float) -> tuple[bool, bool]:
        call_id = f"bench-race-{i}-{random.randrange(1 << 30)}"
        await asyncio.sleep(arrivals[i])
        await retell.webhook("call_started", call_id)
        await asyncio.sleep(0.2)
        check = await check_perm(retell, call_id, plan.start, zone)
        for _ in range(3):  # "Einen Moment": the agent asks again, as its prompt says
            if not str(check.get("message", "")).startswith("Einen Moment"):
                break
            await asyncio.sleep(1.0)
            check = await check_perm(retell, call_id, plan.start, zone)
        if not check["available"]:
            return False, False
        tasks = [asyncio.create_task(web_customer(plan, talk / 2))] if web else []
        await asyncio.sleep(talk)
        booking = await retell.function(call_id, "start_booking", {"customer_name": "Race"})
        while booking["status"] == "pending":
            await asyncio.sleep(0.1)
            booking = await retell.function(call_id, "booking_status", {})
        await asyncio.gather(*tasks)
        await retell.webhook("call_ended", call_id)
        return True, not booking["booked"]

    results: dict[str, tuple[int, int]] = {}
    try:
        async with CalcomClient(sim.url, sim.api_key) as calcom:

            async def direct(i: int, plan: Plan, web: bool, talk: float) -> tuple[bool, bool]:
                """The old agent: /slots, talk, book every segment; nothing held."""
                await asyncio.sleep(arrivals[i])
                # The salon day, as our check asks (Cal.com's grid starts at the window).
                day = salon_day(plan.start, stack.catalog.zone)
                offered = await asyncio.gather(
                    *(
                        calcom.get_slots(
                            s.calcom_event_type_id,  # type: ignore[arg-type]
                            *day,
                            "Europe/Berlin",
                        )
                        for s in plan.staffed
                    )
                )
                if not all(
                    covers(merge((r.start, r.end) for r in ranges), s.start, s.end)
                    for s, ranges in zip(plan.staffed, offered, strict=True)
                ):
                    return False, False
                tasks = [asyncio.create_task(web_customer(plan, talk / 2))] if web else []
                await asyncio.sleep(talk)
                lost = False
                for seg in plan.staffed:
                    try:
                        await calcom.create_booking(booking_request(seg, f"direct-{i}"))
                    except CalcomError:
                        lost = True
                        break
                await asyncio.gather(*tasks)
                return True, lost

            for name, agent in (
                ("with holds (this system)", with_holds),
                ("direct (baseline)", direct),
            ):
                plans = [plan_service(service, slots.next("Dauerwelle")) for _ in range(callers)]
                outcomes = await asyncio.gather(
                    *(
                        agent(i, p, w, t)
                        for i, (p, (w, t)) in enumerate(zip(plans, draws, strict=True))
                    )
                )
                told = sum(1 for ok, _ in outcomes if ok)
                lost = sum(1 for ok, gone in outcomes if ok and gone)
                results[name] = (told, lost)
    finally:
        await retell.aclose()
    return results
