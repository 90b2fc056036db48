"""What happens to a request before the Cal.com logic sees it: rate limiting per API key,
injected latency and injected faults (the ``/_sim`` controls configure the last two)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from calcom import wire
from calsim.envelope import CalcomProblem

FaultKind = Literal["500", "429", "timeout", "lost_response", "reject"]
MUTATING = frozenset({"POST", "PATCH", "DELETE"})
TIMEOUT_HANG_SECONDS = 30.0
FAULT_RETRY_SECONDS = 1


@dataclass
class Fault:
    """One injected fault.

    ``endpoint`` is a templated path (``/v2/bookings/{uid}/cancel``) or ``*``, optionally
    prefixed with a method (``POST /v2/bookings``). ``reject`` and ``lost_response`` only
    hit requests that change something (POST, PATCH, DELETE).
    """

    endpoint: str
    kind: FaultKind
    times: int | None = None  # None = every time
    event_type_id: int | None = None
    probability: float | None = None

    def matches(self, method: str, endpoint: str, event_type_id: int | None) -> bool:
        wanted_method, _, wanted_path = self.endpoint.rpartition(" ")
        if wanted_method and wanted_method.upper() != method:
            return False
        if wanted_path not in ("*", endpoint):
            return False
        if self.kind in ("reject", "lost_response") and method not in MUTATING:
            return False
        return self.event_type_id is None or self.event_type_id == event_type_id


@dataclass
class RateLimiter:
    """Fixed 60-second windows per API key, counted on the simulator's clock."""

    per_minute: int
    clock: Callable[[], datetime]
    _windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request; returns (allowed, X-RateLimit-* headers)."""
        now = math.floor(self.clock().timestamp())
        start, count = self._windows.get(key, (now, 0))
        if now >= start + 60:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        headers = {
            wire.RATE_LIMIT_LIMIT: str(self.per_minute),
            wire.RATE_LIMIT_REMAINING: str(max(0, self.per_minute - count)),
            wire.RATE_LIMIT_RESET: str(start + 60),
        }
        return count <= self.per_minute, headers

    def reset(self) -> None:
        self._windows.clear()


@dataclass
class Traffic:
    """Latency and faults per endpoint, plus the rate limiter (None = no limit)."""

    clock: Callable[[], datetime]
    limiter: RateLimiter | None = None
    latency: dict[str, float] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    request_count: int = 0
    rate_limited: int = 0  # requests the rate limiter answered with 429
    # When each Cal.com request arrived (simulator clock, unix seconds): lets tests and
    # benchmarks count requests in any window, as Cal.com's limiter would.
    arrivals: list[float] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def reset(self) -> None:
        self.latency.clear()
        self.faults.clear()
        self.request_count = 0
        self.rate_limited = 0
        self.arrivals.clear()
        if self.limiter:
            self.limiter.reset()

    def arrived(self) -> None:
        """Count one request of the Cal.com surface."""
        self.request_count += 1
        self.arrivals.append(self.clock().timestamp())

    def busiest_window(self, seconds: float) -> int:
        """The most requests that arrived within any ``seconds`` long window."""
        times = sorted(self.arrivals)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    async def before(self, method: str, endpoint: str, event_type_id: int | None) -> bool:
        """Apply latency and faults to one request of the Cal.com surface.

        Returns:
            True when the response must be lost (the caller performs the change and then
            answers 502 instead of the result).

        Raises:
            CalcomProblem: the injected error answer.
        """
        delay = self.latency.get(endpoint, self.latency.get("*", 0.0))
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self._take(method, endpoint, event_type_id)
        if fault is None:
            return False
        if fault.kind == "lost_response":
            return True
        if fault.kind == "500":
            raise CalcomProblem(500, "Internal server error (simulated fault)")
        if fault.kind == "429":
            reset = math.floor(self.clock().timestamp()) + FAULT_RETRY_SECONDS
            raise CalcomProblem(
                429,
                "ThrottlerException: Too Many Requests",
                headers={wire.RATE_LIMIT_RESET: str(reset), wire.RATE_LIMIT_REMAINING: "0"},
            )
        if fault.kind == "timeout":
            await asyncio.sleep(TIMEOUT_HANG_SECONDS)
            raise CalcomProblem(504, "Gateway timeout (simulated fault)")
        if endpoint == "/v2/slots/reservations":
            raise CalcomProblem(422, "This time slot is already reserved by another user.")
        raise CalcomProblem(400, wire.HOST_UNAVAILABLE)

    def _take(self, method: str, endpoint: str, event_type_id: int | None) -> Fault | None:
        for fault in list(self.faults):
            if not fault.matches(method, endpoint, event_type_id):
                continue
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault
        return None
