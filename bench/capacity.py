"""Capacity: checks per second answered within budget, at stepped offered rates (open
loop: a new call every 1/rate seconds, whatever the answers take), and the burst of 100
calls checking at the same instant."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bench.cpu import CpuWindow
from bench.report import pct
from bench.slots import date_args
from bench.stack import RetellClient, Stack

# The single-segment services, on both stylists: many distinct slots a day.
SERVICES = ["Herrenhaarschnitt", "Damenhaarschnitt", "Föhnen", "Bartpflege"]
ANSWER_GOAL_SECONDS = 1.0  # the burst goal's p95, used as "within budget" here too
ANNOUNCE_AHEAD_SECONDS = 0.3  # call_started arrives this long before the check


@dataclass
class Answers:
    """How a set of checks was answered."""

    seconds: list[float] = field(default_factory=list)
    held: int = 0
    taken: int = 0
    moment: int = 0  # "Einen Moment bitte": not answered within the budget
    other: int = 0
    wall: float = 0.0
    others: Counter[str] = field(default_factory=Counter)  # what the "other" answers said

    def add(self, answer: dict, seconds: float) -> None:
        self.seconds.append(seconds)
        if answer.get("available"):
            self.held += 1
        elif str(answer.get("message", "")).startswith("Einen Moment"):
            self.moment += 1
        elif answer.get("alternatives"):
            self.taken += 1
        else:
            self.other += 1
            self.others[str(answer.get("error") or answer.get("message", ""))[:120]] += 1

    @property
    def n(self) -> int:
        return len(self.seconds)

    @property
    def within_goal(self) -> bool:
        return (
            self.moment == 0 and self.other == 0 and pct(self.seconds, 0.95) <= ANSWER_GOAL_SECONDS
        )


class Pool:
    """(service, start) pairs handed out in a cycle: each call hangs up right after its
    check, so its hold is released long before the pair comes round again."""

    def __init__(self, pairs: list[tuple[str, datetime]]) -> None:
        self.pairs = pairs
        self.i = 0

    def next(self) -> tuple[str, datetime]:
        pair = self.pairs[self.i % len(self.pairs)]
        self.i += 1
        return pair


async def one_call(
    retell: RetellClient, stack: Stack, pool: Pool, answers: Answers, *, announce: bool
) -> None:
    service, start = pool.next()
    call_id = f"bench-cap-{random.randrange(1 << 40)}"
    if announce:
        await retell.webhook("call_started", call_id)
        await asyncio.sleep(ANNOUNCE_AHEAD_SECONDS)
    t0 = time.perf_counter()
    answer = await retell.function(
        call_id, "check_availability", {"service": service, **date_args(start, stack.catalog.zone)}
    )
    answers.add(answer, time.perf_counter() - t0)
    await retell.webhook("call_ended", call_id)


async def offered(stack: Stack, pool: Pool, rate: float, seconds: float) -> Answers:
    """Calls arriving at ``rate`` a second for ``seconds``, each announced by
    ``call_started``, each checking once and hanging up."""
    retell = stack.retell()
    answers = Answers()
    tasks = []
    t0 = time.perf_counter()
    try:
        for i in range(int(rate * seconds)):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one_call(retell, stack, pool, answers, announce=True)))
        await asyncio.gather(*tasks)
    finally:
        await retell.aclose()
    answers.wall = time.perf_counter() - t0
    return answers


async def burst(
    stack: Stack, pool: Pool, calls: int = 100, window: CpuWindow | None = None
) -> Answers:
    """``calls`` checks at the same instant; the first half announced by
    ``call_started`` a moment before, the second half cold (the check starts the call's
    workflow). ``window`` measures the CPU from the first check sent to the last answer."""
    retell = stack.retell()
    answers = Answers()
    zone = stack.catalog.zone
    ids = [f"bench-burst-{i}-{random.randrange(1 << 40)}" for i in range(calls)]
    slots = [pool.next() for _ in ids]
    try:
        await asyncio.gather(*(retell.webhook("call_started", c) for c in ids[: calls // 2]))
        await asyncio.sleep(1.0)

        async def check(call_id: str, service: str, start: datetime) -> None:
            t0 = time.perf_counter()
            answer = await retell.function(
                call_id, "check_availability", {"service": service, **date_args(start, zone)}
            )
            answers.add(answer, time.perf_counter() - t0)

        with window or contextlib.nullcontext():
            t0 = time.perf_counter()
            await asyncio.gather(*(check(c, s, t) for c, (s, t) in zip(ids, slots, strict=True)))
            answers.wall = time.perf_counter() - t0
        await asyncio.gather(*(retell.webhook("call_ended", c) for c in ids))
    finally:
        await retell.aclose()
    await asyncio.sleep(2.0)  # releases settle before the next measurement
    return answers


async def steps(
    stack: Stack, pool: Pool, rates: list[float], seconds: float
) -> list[tuple[float, Answers]]:
    """Each rate in turn until one misses the goal (that one is reported too)."""
    results = []
    for rate in rates:
        answers = await offered(stack, pool, rate, seconds)
        results.append((rate, answers))
        await asyncio.sleep(2.0)
        if not answers.within_goal:
            break
    return results


def capacity(results: list[tuple[float, Answers]]) -> float:
    """The highest offered rate whose checks met the goal (0 when none did)."""
    ok = [rate for rate, answers in results if answers.within_goal]
    return max(ok) if ok else 0.0
