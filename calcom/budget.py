"""Spending Cal.com's request budget on purpose: one limit for all processes.

Cal.com limits requests per API key (120 a minute by default, 429 beyond), and every
worker shares the key. :class:`SharedBudget` takes one token from a shared bucket before
each request; the bucket itself lives where every process sees it (PostgreSQL:
:mod:`store.rate_budget`), so two workers together never send more than one worker may.

The bucket is a GCRA token bucket: ``burst`` tokens, refilled at ``limit - burst`` a
minute, so no 60-second window (however it is aligned, fixed or sliding) holds more than
``limit`` requests. The default shape (120 a minute, burst 60) lets a bunch of calls
through at once (a perm checked for "anyone" of two stylists costs 9 requests) and
sustains 60 a minute; a smaller burst sustains more but makes bunches wait.

Who waits how long (:class:`Priority`):

- ``CALLER`` (slots, reservations: a caller is listening) waits at most
  :data:`CALLER_WAIT_SECONDS`, and never takes the last :data:`BOOKING_RESERVE` tokens;
  beyond that it fails with :class:`~calcom.errors.RateBudgetExhaustedError` (retryable,
  with the time until the budget allows it), and the caller hears "Einen Moment".
- ``BOOKING`` (bookings, their compensation, releasing and renewing holds: the caller was
  promised the slot, or the step must happen) may use the whole bucket and waits up to
  :data:`BOOKING_WAIT_SECONDS` rather than being refused.

If the shared bucket cannot be asked (the database is down), ``BOOKING`` requests go on
under a bucket of this process alone (Cal.com may then answer 429, which the activities
retry) and ``CALLER`` requests fail as transient: the budget is never why a compensation
cannot run.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from calcom.errors import RateBudgetExhaustedError, TransientError
from calcom.metrics import RATE_BUDGET_EXHAUSTED, RATE_LIMIT_WAIT_SECONDS
from observability.logging import get_logger

log = get_logger(__name__)

CALLER_WAIT_SECONDS = 1.0
BOOKING_WAIT_SECONDS = 15.0
BOOKING_RESERVE = 4  # tokens only BOOKING requests may take (a compound booking and more)


class Priority(enum.Enum):
    CALLER = "caller"
    BOOKING = "booking"


@dataclass(frozen=True)
class BudgetShape:
    """``limit`` requests in any 60 s, at most ``burst`` of them at once.

    Raises:
        ValueError: ``burst`` is not between 1 and ``limit - 1``.
    """

    limit_per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if not 1 <= self.burst < self.limit_per_minute:
            raise ValueError("the burst must be at least 1 and below the limit")

    @property
    def interval(self) -> float:
        """Seconds per token refilled."""
        return 60.0 / (self.limit_per_minute - self.burst)

    def allowance(self, reserve: int) -> float:
        """How far ahead of now the bucket's theoretical arrival time may run, in
        seconds, for a request that must leave ``reserve`` tokens."""
        return max(0, self.burst - reserve) * self.interval


class BucketStore(Protocol):
    """Where the bucket lives; one atomic step per batch of requests."""

    async def try_take(
        self, cost: float, allowance: float, now: float | None, count: int = 1
    ) -> tuple[int, float]:
        """Take ``cost`` seconds of budget for each of up to ``count`` requests, as many
        as keep the bucket within ``allowance``.

        Args:
            cost: one request's cost in seconds (``BudgetShape.interval`` per token).
            allowance: how far ahead of now the bucket may run after taking.
            now: the time in unix seconds, or None for the store's own clock.
            count: how many requests want a token.

        Returns:
            How many were taken (0 to ``count``), and the seconds until one more could be
            (0 or less when it could be now).
        """
        ...


def take_from(tat: float, t: float, cost: float, allowance: float, count: int) -> int:
    """How many of ``count`` requests the bucket at ``tat`` admits at ``t`` (the rule the
    PostgreSQL statement computes too)."""
    ahead = max(tat, t) - t
    return max(0, min(count, math.floor((allowance - ahead) / cost + 1e-9)))


@dataclass
class LocalBucket:
    """A bucket in this process only (the fallback, and what one process alone has)."""

    tat: float = 0.0
    clock: Callable[[], float] = time.time

    async def try_take(
        self, cost: float, allowance: float, now: float | None, count: int = 1
    ) -> tuple[int, float]:
        t = self.clock() if now is None else now
        taken = take_from(self.tat, t, cost, allowance, count)
        if taken:
            self.tat = max(self.tat, t) + taken * cost
        return taken, max(self.tat, t) + cost - t - allowance


@dataclass
class _Batch:
    """Requests of one priority that asked for budget in the same turn of the loop."""

    waiters: list[asyncio.Future[float]] = field(default_factory=list)


@dataclass
class SharedBudget:
    """The budget every request to Cal.com is taken from (see the module docstring).

    Requests of one priority that ask in the same turn of the event loop (a check's
    slot requests, sent together; a perm's reservations) are taken in one statement:
    the batch waits one turn for the others to join, then asks for all; the first
    ``taken`` of them go, the rest wait as single requests do.

    Args:
        store: the shared bucket (``store.rate_budget.PostgresBucket`` in production).
        shape: limit and burst.
        clock: unix seconds passed to the store (tests: a fake clock); None: the store's.
        sleep: how to wait (tests: advance the fake clock).
    """

    store: BucketStore
    shape: BudgetShape
    clock: Callable[[], float] | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    fallback: LocalBucket = field(default_factory=LocalBucket)
    _forming: dict[Priority, _Batch] = field(default_factory=dict, init=False, repr=False)
    _settling: set[asyncio.Future[None]] = field(default_factory=set, init=False, repr=False)

    def _now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    def _elapsed_clock(self) -> Callable[[], float]:
        return self.clock if self.clock is not None else time.monotonic

    async def _try(self, priority: Priority) -> float:
        """One request's turn: 0 or less when it may be sent, else the seconds to wait.
        Joins the batch of its priority forming in this turn of the loop, or starts one."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        batch = self._forming.get(priority)
        if batch is None:
            batch = self._forming[priority] = _Batch()
            # The batch is taken apart from its first request, so that request being
            # cancelled does not cancel the others' turn.
            settling = asyncio.ensure_future(self._settle(priority, batch))
            self._settling.add(settling)
            settling.add_done_callback(self._settling.discard)
        batch.waiters.append(future)
        return await future

    async def _settle(self, priority: Priority, batch: _Batch) -> None:
        await asyncio.sleep(0)  # the requests sent together with the first one join
        del self._forming[priority]
        try:
            taken, wait = await self._take(priority, len(batch.waiters))
        except Exception as exc:
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for i, waiter in enumerate(batch.waiters):
            if not waiter.done():  # a request cancelled meanwhile: its token goes unused
                waiter.set_result(0.0 if i < taken else wait)

    async def _take(self, priority: Priority, count: int) -> tuple[int, float]:
        reserve = BOOKING_RESERVE if priority is Priority.CALLER else 0
        allowance = self.shape.allowance(reserve)
        cost = self.shape.interval
        try:
            return await self.store.try_take(cost, allowance, self._now(), count)
        except Exception as exc:  # the database, whatever its driver raises
            if priority is Priority.CALLER:
                raise TransientError(f"request budget unavailable: {type(exc).__name__}") from exc
            log.warning("shared request budget unavailable, using this process'", error=str(exc))
            return await self.fallback.try_take(cost, allowance, self._now(), count)

    async def acquire(self, priority: Priority) -> None:
        """Return once a request may be sent; wait for budget as ``priority`` allows.

        Raises:
            RateBudgetExhaustedError: no budget within the priority's wait.
            TransientError: the shared bucket cannot be asked (``CALLER`` only).
        """
        elapsed = self._elapsed_clock()
        started = elapsed()
        limit = CALLER_WAIT_SECONDS if priority is Priority.CALLER else BOOKING_WAIT_SECONDS
        while True:
            wait = await self._try(priority)
            waited = elapsed() - started
            if wait <= 0:
                RATE_LIMIT_WAIT_SECONDS.labels(priority=priority.value).observe(waited)
                return
            if waited + wait > limit:
                RATE_BUDGET_EXHAUSTED.labels(priority=priority.value).inc()
                RATE_LIMIT_WAIT_SECONDS.labels(priority=priority.value).observe(waited)
                raise RateBudgetExhaustedError(
                    f"Cal.com request budget exhausted ({priority.value})",
                    retry_after_seconds=wait,
                )
            # A little jitter: waiters of several processes do not all come back at once.
            await self.sleep(wait + random.uniform(0, self.shape.interval / 4))
