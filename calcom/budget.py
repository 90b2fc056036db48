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
    """Where the bucket lives; one atomic step per request."""

    async def try_take(self, cost: float, allowance: float, now: float | None) -> float:
        """Take ``cost`` seconds of budget if the bucket stays within ``allowance``.

        Args:
            cost: the request's cost in seconds (``BudgetShape.interval`` per token).
            allowance: how far ahead of now the bucket may run after taking.
            now: the time in unix seconds, or None for the store's own clock.

        Returns:
            0 or less when taken; else the seconds until it could be.
        """
        ...


@dataclass
class LocalBucket:
    """A bucket in this process only (the fallback, and what one process alone has)."""

    tat: float = 0.0
    clock: Callable[[], float] = time.time

    async def try_take(self, cost: float, allowance: float, now: float | None) -> float:
        t = self.clock() if now is None else now
        ahead = max(self.tat, t) + cost - t
        if ahead <= allowance:
            self.tat = max(self.tat, t) + cost
        return ahead - allowance


@dataclass
class SharedBudget:
    """The budget every request to Cal.com is taken from (see the module docstring).

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

    def _now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    def _elapsed_clock(self) -> Callable[[], float]:
        return self.clock if self.clock is not None else time.monotonic

    async def _try(self, priority: Priority) -> float:
        reserve = BOOKING_RESERVE if priority is Priority.CALLER else 0
        allowance = self.shape.allowance(reserve)
        try:
            return await self.store.try_take(self.shape.interval, allowance, self._now())
        except Exception as exc:  # the database, whatever its driver raises
            if priority is Priority.CALLER:
                raise TransientError(f"request budget unavailable: {type(exc).__name__}") from exc
            log.warning("shared request budget unavailable, using this process'", error=str(exc))
            return await self.fallback.try_take(self.shape.interval, allowance, self._now())

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
