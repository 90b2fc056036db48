"""The simulator object shared by the routes, and the guards Cal.com applies: the
``cal-api-version`` header and Bearer API keys."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from calcom import wire
from calsim.calendar import Calendar
from calsim.envelope import CalcomProblem
from calsim.traffic import Traffic
from calsim.webhooks import WebhookSender


@dataclass
class Simulator:
    """All state of one simulator app."""

    calendar: Calendar
    traffic: Traffic
    webhooks: WebhookSender
    api_keys: set[str] | None  # None: any key starting with "cal_"

    def key_is_valid(self, key: str) -> bool:
        if self.api_keys is None:
            return key.startswith("cal_") and len(key) > len("cal_")
        return key in self.api_keys

    def reset(self) -> None:
        self.calendar.reset()
        self.traffic.reset()
        self.webhooks.reset()


async def get_simulator(request: Request) -> Simulator:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop on
    # every request of the double (its latency is part of every measured Cal.com call).
    sim: Simulator = request.app.state.simulator
    return sim


SimDep = Annotated[Simulator, Depends(get_simulator)]


def bearer_key(request: Request) -> str | None:
    """The API key of the Authorization header (None when absent)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise CalcomProblem(401, "Invalid Authorization header: expected 'Bearer <api key>'")
    return key.strip()


async def optional_api_key(request: Request, sim: SimDep) -> str | None:
    """Public endpoints: no key is fine, but a key that is sent must be valid."""
    key = bearer_key(request)
    if key is not None and not sim.key_is_valid(key):
        raise CalcomProblem(401, "Invalid API Key")
    return key


async def required_api_key(request: Request, sim: SimDep) -> str:
    """Endpoints that need an API key."""
    key = bearer_key(request)
    if key is None:
        raise CalcomProblem(401, "No authorization header provided")
    if not sim.key_is_valid(key):
        raise CalcomProblem(401, "Invalid API Key")
    return key


def api_version(expected: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency that rejects a missing or different ``cal-api-version``."""

    async def check(request: Request) -> None:
        got = request.headers.get(wire.VERSION_HEADER)
        if got != expected:
            raise CalcomProblem(
                400,
                f"{wire.VERSION_HEADER} header must be {expected} for this endpoint "
                f"(got {got or 'none'})",
            )

    return check


OptionalKey = Annotated[str | None, Depends(optional_api_key)]
RequiredKey = Annotated[str, Depends(required_api_key)]
