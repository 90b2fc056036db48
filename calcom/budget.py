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

Checks when the budget is ample: a statement before every request costs a caller a
database round trip (about 1.7 ms, twice on a check). When the last statement of this
process, less than :data:`AMPLE_SECONDS` ago, left more than half the burst beyond the
bookings' reserve and the tokens this process has not recorded yet, a quarter of the
excess (:data:`CREDIT_SHARE`) is this process' credit: that many ``CALLER`` requests are
sent at once, their tokens taken meanwhile (always, even beyond the allowance: the
requests are out). Eight processes that all saw the bucket full at the same instant
cannot overdraw it so; were it ever overdrawn, later requests wait longer, and a 429 from
Cal.com is retried as ever. Below half, every request asks first. ``BOOKING`` requests
always ask first.

The tokens of requests sent at once are recorded together, :data:`SPEND_GATHER_SECONDS`
after the first of them: a check's slot request and its reservation (and the next
checks') in one statement after the caller has the answer, not one statement each while
the check's own steps compete for the worker (1-2 ms of a check, bench). They are
recorded as of the first one's sending (``age``), so the bucket's arithmetic is as if
each had been recorded at once; until recorded they count against this process' credit.
A worker that dies in between loses at most that moment's record (Cal.com's own limit
and its retried 429 remain).

If the shared bucket cannot be asked (the database is down), ``BOOKING`` requests go on
under a bucket of this process alone (Cal.com may then answer 429, which the activities
retry) and ``CALLER`` requests fail as transient: the budget is never why a compensation
cannot run.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from calcom.errors import RateBudgetExhaustedError, TransientError
from calcom.metrics import RATE_BUDGET_EXHAUSTED, RATE_LIMIT_WAIT_SECONDS
from observability.logging import get_logger

log = get_logger(__name__)

CALLER_WAIT_SECONDS = 1.0
BOOKING_WAIT_SECONDS = 15.0
BOOKING_RESERVE = 4  # tokens only BOOKING requests may take (a compound booking and more)
AMPLE_SECONDS = 1.0  # how long "plenty left" may be trusted without asking again
SPEND_GATHER_SECONDS = 0.05  # requests sent at once are recorded together, this late
# A process sends at once at most this share of what was left above half the burst: even
# eight processes that all saw the bucket full at one instant cannot overdraw it.
CREDIT_SHARE = 4
SPENT = "spent"  # the batch kind of tokens taken for requests already sent


def _log_failed_spend(task: asyncio.Future[float]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not record a Cal.com request in the budget", error=str(task.exception()))


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


class Take(NamedTuple):
    """What one statement on the bucket came to."""

    taken: int  # how many of the requests asking got a token
    wait: float  # seconds until one more could (0 or less: now)
    left: float  # tokens still within the allowance after the take


class BucketStore(Protocol):
    """Where the bucket lives; one atomic step per batch of requests."""

    async def try_take(
        self,
        cost: float,
        allowance: float,
        now: float | None,
        count: int = 1,
        force: bool = False,
        age: float = 0.0,
    ) -> Take:
        """Take ``cost`` seconds of budget for each of up to ``count`` requests, as many
        as keep the bucket within ``allowance`` (``force``: all ``count``, for requests
        already sent, ``age`` seconds ago).

        Args:
            cost: one request's cost in seconds (``BudgetShape.interval`` per token).
            allowance: how far ahead of now the bucket may run after taking.
            now: the time in unix seconds, or None for the store's own clock.
            count: how many requests want a token.
            force: take all ``count`` whatever the bucket holds.
            age: how long ago the requests were sent (taken as of then).
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
        self,
        cost: float,
        allowance: float,
        now: float | None,
        count: int = 1,
        force: bool = False,
        age: float = 0.0,
    ) -> Take:
        t = (self.clock() if now is None else now) - age
        taken = count if force else take_from(self.tat, t, cost, allowance, count)
        if taken:
            self.tat = max(self.tat, t) + taken * cost
        ahead = max(self.tat, t) - t
        return Take(taken, ahead + cost - allowance, (allowance - ahead) / cost)


@dataclass
class _Batch:
    """Requests of one priority that asked for budget in the same turn of the loop."""

    waiters: list[asyncio.Future[float]] = field(default_factory=list)
    since: float = 0.0  # when the first asked (the budget's elapsed clock)


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
    _forming: dict[str, _Batch] = field(default_factory=dict, init=False, repr=False)
    _settling: set[asyncio.Future[Any]] = field(default_factory=set, init=False, repr=False)
    _credit: int = field(default=0, init=False, repr=False)
    _credit_at: float = field(default=0.0, init=False, repr=False)
    _unrecorded: int = field(default=0, init=False, repr=False)  # sent at once, not yet taken
    _record_now: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def ample_tokens(self) -> int:
        """Tokens left beyond the bookings' reserve above which checks may go at once."""
        return max(1, self.shape.burst // 2)

    def _now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    def _elapsed_clock(self) -> Callable[[], float]:
        return self.clock if self.clock is not None else time.monotonic

    async def _try(self, kind: str) -> float:
        """One request's turn (``kind``: a priority's value, or ``SPENT``): 0 or less
        when it may be sent, else the seconds to wait. Joins the batch of its kind forming
        in this turn of the loop, or starts one."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        batch = self._forming.get(kind)
        if batch is None:
            batch = self._forming[kind] = _Batch(since=self._elapsed_clock()())
            # The batch is taken apart from its first request, so that request being
            # cancelled does not cancel the others' turn.
            self._keep(asyncio.ensure_future(self._settle(kind, batch)))
        batch.waiters.append(future)
        return await future

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle(self, kind: str, batch: _Batch) -> None:
        if kind == SPENT:  # the requests sent at once in the next moment join
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._record_now.wait(), SPEND_GATHER_SECONDS)
        else:
            await asyncio.sleep(0)  # the requests sent together with the first one join
        del self._forming[kind]
        try:
            age = self._elapsed_clock()() - batch.since if kind == SPENT else 0.0
            taken, wait = await self._take(kind, len(batch.waiters), age)
        except Exception as exc:
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for i, waiter in enumerate(batch.waiters):
            if not waiter.done():  # a request cancelled meanwhile: its token goes unused
                waiter.set_result(0.0 if i < taken else wait)

    async def _take(self, kind: str, count: int, age: float = 0.0) -> tuple[int, float]:
        priority = Priority.BOOKING if kind == Priority.BOOKING.value else Priority.CALLER
        reserve = BOOKING_RESERVE if priority is Priority.CALLER else 0
        allowance = self.shape.allowance(reserve)
        cost, now, force = self.shape.interval, self._now(), kind == SPENT
        if now is not None:  # a clock of our own: "age seconds ago" is a time on it
            now, age = now - age, 0.0
        try:
            took = await self.store.try_take(cost, allowance, now, count, force, age)
        except Exception as exc:  # the database, whatever its driver raises
            self._credit = 0
            if priority is Priority.CALLER:
                raise TransientError(f"request budget unavailable: {type(exc).__name__}") from exc
            log.warning("shared request budget unavailable, using this process'", error=str(exc))
            took = await self.fallback.try_take(cost, allowance, now, count, force, age)
        finally:
            if force:  # recorded, or lost (logged by _spend_later): no longer pending
                self._unrecorded -= count
        # Beyond the bookings' reserve and what this process sent but has not recorded.
        left = took.left - (BOOKING_RESERVE - reserve) - self._unrecorded
        self._credit = max(0, math.floor((left - self.ample_tokens) / CREDIT_SHARE))
        self._credit_at = self._elapsed_clock()()
        return took.taken, took.wait

    def _go_at_once(self) -> bool:
        """May a caller's request go without asking (and take one of the credit)?"""
        if self._credit <= 0 or self._elapsed_clock()() - self._credit_at > AMPLE_SECONDS:
            return False
        self._credit -= 1
        return True

    def _spend_later(self) -> None:
        """Take the token of a request sent at once, in the background."""
        self._unrecorded += 1
        spent = asyncio.ensure_future(self._try(SPENT))
        self._keep(spent)
        spent.add_done_callback(_log_failed_spend)

    async def settled(self) -> None:
        """Record what was sent at once without waiting for others to join, and wait for
        the statements in flight (the background ones included)."""
        self._record_now.set()
        try:
            while self._settling:
                await asyncio.gather(*list(self._settling), return_exceptions=True)
        finally:
            self._record_now.clear()

    async def acquire(self, priority: Priority) -> None:
        """Return once a request may be sent; wait for budget as ``priority`` allows.

        Raises:
            RateBudgetExhaustedError: no budget within the priority's wait.
            TransientError: the shared bucket cannot be asked (``CALLER`` only).
        """
        elapsed = self._elapsed_clock()
        started = elapsed()
        limit = CALLER_WAIT_SECONDS if priority is Priority.CALLER else BOOKING_WAIT_SECONDS
        if priority is Priority.CALLER and self._go_at_once():
            # Plenty left a moment ago: a caller's request goes now, its token is taken
            # meanwhile (module docstring, "Checks when the budget is ample").
            self._spend_later()
            RATE_LIMIT_WAIT_SECONDS.labels(priority=priority.value).observe(0.0)
            return
        while True:
            wait = await self._try(priority.value)
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
