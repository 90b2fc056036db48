"""Build the simulator's FastAPI app: the Cal.com v2 surface plus the ``/_sim`` controls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calsim import routes_bookings, routes_control, routes_slots
from calsim.calendar import Calendar
from calsim.dependencies import Simulator, bearer_key
from calsim.envelope import CalcomProblem, error_body, install_error_envelope
from calsim.event_types import EventTypeSettings
from calsim.traffic import RateLimiter, Traffic
from calsim.webhooks import WebhookSender, WebhookTarget
from domain.catalog import Catalog


class CountAndLimit:
    """Count Cal.com requests and apply the per-key rate limit (``/v2`` only).

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
    runs each request's app in a task of its own and streams the response through a
    memory channel, overhead on every request of the double."""

    def __init__(self, app: ASGIApp, simulator: Simulator) -> None:
        self.app = app
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        traffic = self.simulator.traffic
        if scope["type"] != "http" or not scope["path"].startswith("/v2/"):
            await self.app(scope, receive, send)
            return
        traffic.arrived()
        if traffic.limiter is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            key = bearer_key(request) or f"ip:{request.client.host if request.client else '-'}"
        except CalcomProblem:
            key = "invalid"
        allowed, headers = traffic.limiter.hit(key)
        if not allowed:
            traffic.rate_limited += 1
            body = error_body(scope["path"], 429, "ThrottlerException: Too Many Requests")
            await JSONResponse(body, status_code=429, headers=headers)(scope, receive, send)
            return

        async def send_with_limit_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_limit_headers)


def create_app(
    catalog: Catalog,
    *,
    api_keys: set[str] | None = None,
    rate_limit_per_minute: int | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    event_type_settings: Mapping[int, EventTypeSettings] | None = None,
) -> FastAPI:
    """A Cal.com v2 simulator for the catalog's event types and hosts.

    Args:
        catalog: event types (``Catalog.event_types()``: each staffed segment's event
            type per stylist, hosted by that stylist) and opening hours.
        api_keys: accepted Bearer keys; None accepts any key starting with ``cal_``.
        rate_limit_per_minute: requests per API key per minute; None turns it off.
        webhook_url: where BOOKING_* webhooks go (None: nowhere, until ``/_sim/webhook``).
        webhook_secret: signs webhooks; None sends ``no-secret-provided``.
        event_type_settings: Cal.com settings per event type id (slot interval, minimum
            notice, buffers); event types not given keep Cal.com's defaults. ``/_sim/reset``
            returns to these.
    """
    calendar = Calendar(catalog, base_settings=dict(event_type_settings or {}))
    limiter = RateLimiter(rate_limit_per_minute, calendar.now) if rate_limit_per_minute else None
    webhooks = WebhookSender(calendar, WebhookTarget(webhook_url, webhook_secret))
    simulator = Simulator(
        calendar=calendar,
        traffic=Traffic(clock=calendar.now, limiter=limiter),
        webhooks=webhooks,
        api_keys=set(api_keys) if api_keys is not None else None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await webhooks.aclose()

    app = FastAPI(
        title="Cal.com v2 simulator",
        description="Strict simulator of the Cal.com API v2 subset in docs/calsim.md.",
        lifespan=lifespan,
    )
    app.state.simulator = simulator
    install_error_envelope(app)
    app.include_router(routes_slots.router)
    app.include_router(routes_bookings.router)
    app.include_router(routes_control.router)

    app.add_middleware(CountAndLimit, simulator=simulator)
    return app
