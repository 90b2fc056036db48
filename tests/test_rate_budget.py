"""The Cal.com request budget is one for all processes (calcom/budget.py,
store/rate_budget.py), on real PostgreSQL.

Each "process" here has an engine (a connection pool) of its own, as two workers would;
time is a virtual clock the test advances only when every client waits for it, so what is
counted are requests per window of that clock (and of the simulator's, moved along with
it), never durations.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from calcom.budget import (
    AMPLE_SECONDS,
    BOOKING_RESERVE,
    SPEND_GATHER_SECONDS,
    BudgetShape,
    LocalBucket,
    Priority,
    SharedBudget,
)
from calcom.client import CalcomClient
from calcom.errors import RateBudgetExhaustedError, RateLimitedError
from calsim.control import SimControl
from calsim.server import SimulatorServer
from store.db import create_engine_for
from store.rate_budget import PostgresBucket

SHAPE = BudgetShape(limit_per_minute=120, burst=20)
KEY = "cal_live_shared_by_two_workers"
T0 = 1_900_000_000.0


class VirtualClock:
    """Unix seconds that move only when every client is asleep: then to the earliest
    wake-up (and ``on_advance`` is told by how much)."""

    def __init__(self, on_advance: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.now = T0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()
        self._on_advance = on_advance

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._ids), future))
        await future

    async def run(self, *clients: Awaitable[object]) -> list[object]:
        tasks = [asyncio.ensure_future(c) for c in clients]
        while not all(t.done() for t in tasks):
            running = sum(not t.done() for t in tasks)
            if self._sleepers and len(self._sleepers) == running:
                wake = self._sleepers[0][0]
                if wake > self.now and self._on_advance is not None:
                    await self._on_advance(wake - self.now)
                self.now = max(self.now, wake)
                while self._sleepers and self._sleepers[0][0] <= self.now:
                    heapq.heappop(self._sleepers)[2].set_result(None)
            await asyncio.sleep(0.002)  # real I/O (PostgreSQL, HTTP) goes on meanwhile
        return [t.result() for t in tasks]


def busiest(times: list[float], window: float = 60.0) -> int:
    """The most of ``times`` within any ``window`` seconds."""
    ordered, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@pytest_asyncio.fixture
async def engines(database_url: str) -> AsyncIterator[list]:
    """Two workers' connection pools on the same database."""
    pools = [create_engine_for(database_url, pool_size=2, max_overflow=0) for _ in range(2)]
    try:
        yield pools
    finally:
        for engine in pools:
            await engine.dispose()


def shared(engine, clock: VirtualClock) -> SharedBudget:
    return SharedBudget(PostgresBucket(engine, KEY), SHAPE, clock=clock, sleep=clock.sleep)


async def book(budget: SharedBudget, n: int, clock: VirtualClock, granted: list[float]) -> None:
    """A worker sending ``n`` bookings' requests one after another, noting when each went."""
    for _ in range(n):
        await budget.acquire(Priority.BOOKING)
        granted.append(clock())


async def test_two_workers_together_never_exceed_the_limit_in_any_window(engines) -> None:
    clock = VirtualClock()
    granted: list[float] = []
    await clock.run(*(book(shared(e, clock), 200, clock, granted) for e in engines))

    assert len(granted) == 400
    assert busiest(granted) <= SHAPE.limit_per_minute
    # ... and the budget is spent, not hoarded: after the burst, one request per interval.
    assert max(granted) - T0 <= (400 - SHAPE.burst) * SHAPE.interval + 1


async def test_one_budget_per_process_would_not_hold(engines) -> None:
    """What the shared row prevents: two workers with a bucket each send twice the limit."""
    clock = VirtualClock()
    granted: list[float] = []
    own = [
        SharedBudget(LocalBucket(clock=clock), SHAPE, clock=clock, sleep=clock.sleep)
        for _ in engines
    ]
    await clock.run(*(book(budget, 200, clock, granted) for budget in own))

    assert busiest(granted) > SHAPE.limit_per_minute


async def test_checks_leave_the_last_tokens_to_bookings(engines) -> None:
    clock = VirtualClock()
    checks = [shared(engines[0], clock) for _ in range(30)]
    booking = shared(engines[1], clock)
    outcomes: list[tuple[str, float]] = []

    async def check(budget: SharedBudget) -> None:
        try:
            await budget.acquire(Priority.CALLER)
            outcomes.append(("sent", clock()))
        except RateBudgetExhaustedError as exc:
            assert exc.retry_after_seconds and exc.retry_after_seconds > 0
            outcomes.append(("refused", clock()))

    await clock.run(*(check(b) for b in checks))
    at_once = [t for kind, t in outcomes if kind == "sent" and t == T0]
    assert len(at_once) == SHAPE.burst - BOOKING_RESERVE
    assert any(kind == "refused" for kind, _ in outcomes)  # no check waits for long

    # The checks have spent all they may: a booking still goes out without waiting.
    before = clock()
    await clock.run(booking.acquire(Priority.BOOKING))
    assert clock() == before


@pytest.fixture
def limited_simulator(demo_catalog):
    """A simulator enforcing Cal.com's limit for the key (fixed 60 s windows, 429)."""
    with SimulatorServer(
        demo_catalog, api_keys={KEY}, rate_limit_per_minute=SHAPE.limit_per_minute
    ) as server:
        yield server


@pytest.mark.parametrize("budget_kind", ["shared", "per_process"])
async def test_cal_com_never_answers_429_to_two_workers_sharing_the_budget(
    budget_kind: str, engines, limited_simulator
) -> None:
    control = SimControl(limited_simulator.url)
    await control.reset()
    clock = VirtualClock(on_advance=control.advance_clock)
    since = datetime.now(UTC) + timedelta(days=3)
    answers: list[str] = []

    async def worker(client: CalcomClient, n: int) -> None:
        for _ in range(n):
            try:
                found = await client.find_booking_by_metadata(
                    2001, since, since + timedelta(hours=1), {"workflow_id": "none"}
                )
            except RateLimitedError:
                answers.append("429")
                continue
            answers.append("none" if found is None else "found")

    budgets = (
        [shared(engine, clock) for engine in engines]
        if budget_kind == "shared"
        else [
            SharedBudget(LocalBucket(clock=clock), SHAPE, clock=clock, sleep=clock.sleep)
            for _ in engines
        ]
    )
    clients = [CalcomClient(limited_simulator.url, KEY, budget=b) for b in budgets]
    try:
        await clock.run(*(worker(c, 75) for c in clients))
    finally:
        for client in clients:
            await client.aclose()
    traffic = await control.traffic(60)
    if budget_kind == "shared":
        assert answers == ["none"] * 150
        assert traffic["rate_limited"] == 0
        assert traffic["busiest_window"] <= SHAPE.limit_per_minute
        assert traffic["request_count"] == 150
    else:
        assert "429" in answers
        assert traffic["rate_limited"] > 0


class CountingBucket:
    """A bucket store that counts its statements (a batch is one)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.statements: list[int] = []  # the count asked for, per statement
        self.gate: asyncio.Event | None = None  # statements wait for it while it is set

    async def try_take(self, cost, allowance, now, count=1, force=False, age=0.0):
        self.statements.append(-count if force else count)  # negative: already sent
        if self.gate is not None:
            await self.gate.wait()
        return await self.inner.try_take(cost, allowance, now, count, force, age)


async def test_requests_sent_together_take_their_budget_in_one_statement(engines) -> None:
    clock = VirtualClock()
    store = CountingBucket(PostgresBucket(engines[0], KEY + "-batch"))
    budget = SharedBudget(store, SHAPE, clock=clock, sleep=clock.sleep)

    async def together(n: int, priority: Priority) -> None:
        await asyncio.gather(*(budget.acquire(priority) for _ in range(n)))

    await clock.run(together(3, Priority.BOOKING))  # a perm's three bookings
    await clock.run(together(3, Priority.BOOKING))
    assert store.statements == [3, 3]
    assert clock() == T0  # all six went at once: the burst had room


async def test_checks_go_at_once_while_plenty_is_left_and_ask_first_when_not(engines) -> None:
    clock = VirtualClock()
    shape = BudgetShape(limit_per_minute=120, burst=60)  # the production default
    store = CountingBucket(PostgresBucket(engines[0], KEY + "-ample"))
    budget = SharedBudget(store, shape, clock=clock, sleep=clock.sleep)

    await clock.run(budget.acquire(Priority.CALLER))  # nothing known yet: ask first
    assert store.statements == [1]
    # Plenty was left: the next checks go although no statement can finish meanwhile;
    # their tokens are taken in the background (one statement for those sent together).
    store.gate = asyncio.Event()
    await asyncio.wait_for(
        asyncio.gather(*(budget.acquire(Priority.CALLER) for _ in range(3))), timeout=10
    )
    store.gate.set()
    store.gate = None
    await budget.settled()
    assert store.statements == [1, -3]
    # Spend the burst one check at a time: near the bottom every check asks first.
    for _ in range(shape.burst):
        await clock.run(budget.acquire(Priority.CALLER))
        await budget.settled()
    assert store.statements[-10:] == [1] * 10
    at_once = -sum(x for x in store.statements if x < 0)
    assert at_once <= (shape.burst - BOOKING_RESERVE) - budget.ample_tokens

    # "Plenty" is not trusted for longer than a second.
    stale = CountingBucket(PostgresBucket(engines[0], KEY + "-stale"))
    budget = SharedBudget(stale, shape, clock=clock, sleep=clock.sleep)
    await clock.run(budget.acquire(Priority.CALLER))
    clock.now += AMPLE_SECONDS + 0.01
    await clock.run(budget.acquire(Priority.CALLER))
    assert stale.statements == [1, 1]


async def test_a_checks_requests_sent_at_once_are_recorded_together_as_of_their_sending(
    engines,
) -> None:
    """A check's slot request and, a moment later, its reservation: one statement after
    both went (not one each while the check runs), counted from when the first went."""
    clock = VirtualClock()
    shape = BudgetShape(limit_per_minute=120, burst=60)
    store = CountingBucket(PostgresBucket(engines[0], KEY + "-together"))
    budget = SharedBudget(store, shape, clock=clock, sleep=clock.sleep)
    await clock.run(budget.acquire(Priority.CALLER))  # nothing known yet: ask first
    await budget.acquire(Priority.CALLER)  # the slots: at once
    await asyncio.sleep(SPEND_GATHER_SECONDS / 5)  # Cal.com answers
    await budget.acquire(Priority.CALLER)  # the reservation: at once
    assert store.statements == [1]  # nothing recorded while the check goes on
    clock.now += 40.0  # the record is late on this clock (it only moves on its own here)
    await asyncio.sleep(SPEND_GATHER_SECONDS * 4)
    assert store.statements == [1, -2]
    await budget.settled()  # the statement has finished
    # Taken as of sending: 40 s later the bucket has refilled for 40 s since then, not
    # more (refilled up to the burst, it holds the burst less nothing).
    fresh = SharedBudget(PostgresBucket(engines[0], KEY + "-together"), shape, clock=clock)
    took = await fresh.store.try_take(shape.interval, shape.allowance(0), clock(), count=0)
    expected_left = min(shape.burst, shape.burst - 3 + 40.0 / shape.interval)
    assert took.left == pytest.approx(expected_left)


async def test_two_workers_checking_never_exceed_the_limit_in_any_window(engines) -> None:
    """Checks that go at once while plenty is left still keep both workers together
    within the limit: near the end of the burst every check asks first, and what a worker
    sent at once but has not recorded yet counts against its credit."""
    clock = VirtualClock()
    sent: list[float] = []

    async def worker(budget: SharedBudget, n: int) -> None:
        mine = 0
        while mine < n:
            try:
                await budget.acquire(Priority.CALLER)
            except RateBudgetExhaustedError as exc:  # "Einen Moment": the caller asks again
                await clock.sleep(exc.retry_after_seconds or SHAPE.interval)
                continue
            sent.append(clock())
            mine += 1
        await budget.settled()

    shape = BudgetShape(limit_per_minute=120, burst=60)  # the default: credit to go at once
    counted = [CountingBucket(PostgresBucket(engine, KEY + "-checks")) for engine in engines]
    budgets = [SharedBudget(c, shape, clock=clock, sleep=clock.sleep) for c in counted]
    await clock.run(*(worker(budget, 200) for budget in budgets))
    assert len(sent) == 400
    assert busiest(sent) <= shape.limit_per_minute
    assert all(any(x < 0 for x in c.statements) for c in counted)  # both went at once


async def test_a_batch_larger_than_the_budget_lets_only_what_fits_go_at_once(engines) -> None:
    clock = VirtualClock()
    budget = shared(engines[0], clock)
    sent: list[float] = []
    refused = 0

    async def check() -> None:
        nonlocal refused
        try:
            await budget.acquire(Priority.CALLER)
            sent.append(clock())
        except RateBudgetExhaustedError:
            refused += 1

    # Started in one turn of the loop, as the clock's clients (it moves when all wait).
    await clock.run(*(check() for _ in range(SHAPE.burst + 10)))
    # What the bucket allows checks goes at once; of the rest, those that can get a token
    # within a check's wait get one later, the others are refused (none over the limit).
    assert sent.count(T0) == SHAPE.burst - BOOKING_RESERVE
    assert refused > 0
    assert len(sent) + refused == SHAPE.burst + 10
    assert busiest(sent) <= SHAPE.limit_per_minute - BOOKING_RESERVE


async def test_a_cancelled_request_does_not_cancel_the_others_in_its_batch(engines) -> None:
    budget = SharedBudget(PostgresBucket(engines[0], KEY + "-cancel"), SHAPE)
    first = asyncio.ensure_future(budget.acquire(Priority.BOOKING))
    others = [asyncio.ensure_future(budget.acquire(Priority.BOOKING)) for _ in range(2)]
    await asyncio.sleep(0)  # all three have joined the batch
    first.cancel()
    await asyncio.gather(*others)  # both granted
    assert first.cancelled()
