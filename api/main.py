"""FastAPI app: Retell function calls and webhooks, Cal.com webhooks, call state, health.

``booking api`` serves ``api.main:app``. Tests build their own with :func:`create_app`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.answers import Answer, FunctionAnswer, outcome_label
from api.appointments import AppointmentFunctions
from api.body import BodyError, read_body, strict_json
from api.dedupe import SeenSet
from api.envelope import EnvelopeError, call_id_of, parse_envelope
from api.functions import Functions
from api.gateway import CallGateway
from api.inbound import UNKNOWN, CallerRecognition, inbound_answer
from api.metrics import REQUEST_SECONDS, REQUESTS
from api.ops import OpsToken
from api.ops import router as ops_router
from api.security import calcom_signature_ok, retell_signature_ok
from config import Settings, get_settings
from contracts.messages import CallAnalyzed, CallEnded
from domain.catalog import load_catalog
from observability.logging import configure_logging, get_logger
from workflows.call import CallWorkflow
from workflows.connect import connect
from workflows.outside_booking import CalcomBookingEvent

log = get_logger(__name__)
CALCOM_TRIGGERS = ("BOOKING_CREATED", "BOOKING_CANCELLED", "BOOKING_RESCHEDULED")
RETELL_EVENTS = ("call_started", "call_ended", "call_analyzed")


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


class State:
    """What the routes share: settings, catalog, the Temporal gateway (once connected)."""

    def __init__(self, settings: Settings, client: Client | None) -> None:
        self.settings = settings
        self.catalog = load_catalog(settings.catalog_path)
        self.client = client
        self.functions: Functions | None = None
        self.gateway: CallGateway | None = None
        self.recognition: CallerRecognition | None = None
        self.webhooks_seen = SeenSet()
        if client is not None:
            self._wire(client)

    def _wire(self, client: Client) -> None:
        self.client = client
        self.gateway = CallGateway(client, self.settings)
        self.functions = AppointmentFunctions(self.gateway, self.settings, self.catalog)
        self.recognition = CallerRecognition(
            self.gateway,
            budget_seconds=self.settings.inbound_budget_seconds,
            zone=self.catalog.zone,
        )

    async def ensure_connected(self) -> None:
        if self.client is None:
            # Lazy: the API comes up (and answers "pending") while Temporal is down.
            self._wire(await connect(self.settings, lazy=True))


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = State(settings, client)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.retell_api_key is None:
            raise RuntimeError("RETELL_API_KEY is not set: Retell requests cannot be verified")
        await state.ensure_connected()
        ring = settings.payload_key_ring
        log.info(
            "api ready",
            temporal=settings.temporal_address,
            payload_encryption=f"on (key {ring.active})" if ring else "off",
            ops_endpoints="token required" if settings.ops_token else "closed: no OPS_TOKEN",
        )
        yield

    app = FastAPI(
        title="Salon booking API",
        version="0.1.0",
        summary="Retell custom functions and webhooks -> one Temporal workflow per call.",
        lifespan=lifespan,
        # Served by api/ops.py behind OPS_TOKEN instead.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.booking = state
    app.include_router(ops_router)

    def retell_key() -> str:
        assert settings.retell_api_key is not None
        return settings.retell_api_key.get_secret_value()

    async def limited_body(request: Request) -> bytes | Response:
        """The raw body within ``API_MAX_BODY_BYTES`` (413 before any signature work)."""
        try:
            return await read_body(request, limit=settings.api_max_body_bytes)
        except BodyError as exc:
            return _problem(exc.status, exc.message)

    def parsed(body: bytes) -> Any:
        """Strict JSON (unique keys, bounded depth), or a 400 response."""
        try:
            return strict_json(body)
        except BodyError as exc:
            return _problem(exc.status, exc.message)

    async def signed_json(request: Request) -> Any:
        """The body, verified on its raw bytes, then parsed; or an error response."""
        body = await limited_body(request)
        if isinstance(body, Response):
            return body
        if not retell_signature_ok(body, retell_key(), request.headers.get("x-retell-signature")):
            return _problem(401, "missing, invalid or expired X-Retell-Signature")
        return parsed(body)

    @app.post(
        "/retell/functions",
        summary="A Retell custom-function call",
        response_model=FunctionAnswer,
        responses={401: {"description": "bad signature"}, 422: {"description": "bad envelope"}},
    )
    async def retell_functions(request: Request) -> Answer | Response:
        """A business outcome is 200 with the function's answer (its model depends on the
        function); 401, 422 and 503 answer plain JSON."""
        started = time.perf_counter()
        payload = await signed_json(request)
        if isinstance(payload, Response):
            REQUESTS.labels(function="unknown", outcome="rejected").inc()
            return payload
        try:
            fc = parse_envelope(payload)
        except EnvelopeError as exc:
            REQUESTS.labels(function="unknown", outcome="rejected").inc()
            return _problem(422, str(exc))
        await state.ensure_connected()
        assert state.functions is not None
        try:
            answer = await state.functions.dispatch(fc)
        except Exception:
            # Nothing may reach the agent as a 500: it gets a sentence and can retry.
            log.exception("function failed", function=fc.name, call_id=fc.call_id)
            REQUESTS.labels(function=fc.name, outcome="error").inc()
            return JSONResponse(status_code=503, content={"message": _SORRY, "error": "internal"})
        elapsed = time.perf_counter() - started
        outcome = outcome_label(answer)
        REQUESTS.labels(function=fc.name, outcome=outcome).inc()
        REQUEST_SECONDS.labels(function=fc.name).observe(elapsed)
        log.info(
            "function answered",
            function=fc.name,
            call_id=fc.call_id,
            outcome=outcome,
            ms=round(elapsed * 1000, 1),
        )
        return answer

    @app.post(
        "/retell/inbound",
        summary="Retell inbound call webhook: is the caller a known customer?",
        responses={401: {"description": "bad signature"}},
    )
    async def retell_inbound(request: Request) -> Response:
        """Always 200 within a second, except for a bad signature (401): an unreadable
        body, a withheld number or any lookup problem answers ``customer_known: "false"``."""
        started = time.perf_counter()
        payload = await signed_json(request)
        if isinstance(payload, Response):
            if payload.status_code == 401:
                REQUESTS.labels(function="inbound", outcome="rejected").inc()
                return payload
            payload = None
        variables, outcome = dict(UNKNOWN), "error"
        try:
            await state.ensure_connected()
            if state.recognition is not None:
                variables, outcome = await state.recognition.variables(payload)
        except Exception:
            log.exception("inbound lookup failed")
        REQUESTS.labels(function="inbound", outcome=outcome).inc()
        REQUEST_SECONDS.labels(function="inbound").observe(time.perf_counter() - started)
        return JSONResponse(inbound_answer(variables))

    @app.post("/retell/webhook", status_code=204, summary="Retell call events")
    async def retell_webhook(request: Request, background: BackgroundTasks) -> Response:
        payload = await signed_json(request)
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, dict) or not isinstance(payload.get("call"), dict):
            return _problem(422, "expected {event, call}")
        event, call = payload.get("event"), payload["call"]
        call_id = call_id_of(call)
        if not isinstance(event, str) or call_id is None:
            return _problem(422, "missing 'event' or 'call.call_id'")
        # Metric labels only for known events: any other string would be a new series.
        known = event in RETELL_EVENTS
        REQUESTS.labels(function=f"webhook:{event if known else 'other'}", outcome="accepted").inc()
        if known and state.webhooks_seen.first_time(f"{call_id}|{event}"):
            background.add_task(_call_event, event, call)
        return Response(status_code=204)

    async def _call_event(event: str, call: dict[str, Any]) -> None:
        """Runs after the 204: the webhook never waits for Temporal."""
        call_id = call_id_of(call) or ""
        try:
            await state.ensure_connected()
            gateway = state.gateway
            assert gateway is not None
            if event == "call_started":
                inp = gateway.call_input(call_id, _str(call, "from_number"), _str(call, "agent_id"))
                try:
                    await gateway.start(inp)
                except WorkflowAlreadyStartedError:
                    pass
            elif event == "call_ended":
                reason = _str(call, "disconnection_reason")
                await gateway.signal(call_id, CallWorkflow.call_ended, CallEnded(reason=reason))
            elif event == "call_analyzed":
                analysis = call.get("call_analysis")
                analysis = analysis if isinstance(analysis, dict) else {}
                await gateway.signal(
                    call_id,
                    CallWorkflow.call_analyzed,
                    CallAnalyzed(
                        successful=analysis.get("call_successful")
                        if isinstance(analysis.get("call_successful"), bool)
                        else None,
                        summary=_str(analysis, "call_summary"),
                        sentiment=_str(analysis, "user_sentiment"),
                    ),
                )
            log.info("call event handled", call_event=event, call_id=call_id)
        except Exception:
            # Forget it was seen, so Retell's retry can try again.
            state.webhooks_seen.forget(f"{call_id}|{event}")
            log.exception("call event failed", call_event=event, call_id=call_id)

    @app.post("/calcom/webhook", summary="Cal.com booking triggers")
    async def calcom_webhook(request: Request) -> Response:
        body = await limited_body(request)
        if isinstance(body, Response):
            return body
        secret = settings.calcom_webhook_secret
        if not calcom_signature_ok(
            body,
            secret.get_secret_value() if secret else None,
            request.headers.get("x-cal-signature-256"),
        ):
            return _problem(401, "missing or invalid X-Cal-Signature-256")
        payload = parsed(body)
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, dict):
            return _problem(422, "expected {triggerEvent, payload}")
        trigger = payload.get("triggerEvent")
        if trigger not in CALCOM_TRIGGERS:
            return JSONResponse({"status": "ignored", "trigger": trigger})
        try:
            event = _calcom_event(trigger, payload.get("payload"), settings.salon_timezone)
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            return _problem(422, f"unusable {trigger} payload: {exc.__class__.__name__}")
        await state.ensure_connected()
        assert state.gateway is not None
        try:
            await state.gateway.outside_booking(event)
        except WorkflowAlreadyStartedError:
            pass  # a repeated delivery
        except RPCError as exc:
            log.warning("cal.com event not started", trigger=trigger, error=exc.message)
            return _problem(503, "Temporal is not reachable; deliver again later")
        REQUESTS.labels(function=f"calcom:{trigger}", outcome="accepted").inc()
        return JSONResponse({"status": "accepted", "trigger": trigger})

    @app.get(
        "/calls/{call_id}",
        summary="A call's state, from its workflow (OPS_TOKEN)",
        responses={401: {"description": "no or wrong OPS_TOKEN"}},
    )
    async def call_state(call_id: str, _auth: OpsToken) -> Response:
        await state.ensure_connected()
        assert state.gateway is not None
        try:
            current = await state.gateway.handle(call_id).query(CallWorkflow.state)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return _problem(404, f"no call {call_id!r}")
            return _problem(503, "Temporal is not reachable")
        return JSONResponse(current.model_dump(mode="json"))

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Temporal is reachable (the API talks to nothing else)")
    async def readyz() -> Response:
        await state.ensure_connected()
        assert state.gateway is not None
        if await state.gateway.healthy():
            return JSONResponse({"status": "ready", "temporal": "ok"})
        return JSONResponse({"status": "not ready", "temporal": "unreachable"}, status_code=503)

    @app.get(
        "/metrics",
        summary="Prometheus metrics (OPS_TOKEN)",
        responses={401: {"description": "no or wrong OPS_TOKEN"}},
    )
    async def metrics(_auth: OpsToken) -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


_SORRY = "Entschuldigung, da ist gerade etwas schiefgegangen. Einen Moment bitte."


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _calcom_event(trigger: str, payload: Any, time_zone: str) -> CalcomBookingEvent:
    if not isinstance(payload, dict):
        raise ValueError("payload")
    metadata = payload.get("metadata") or {}
    return CalcomBookingEvent(
        trigger=trigger,
        calcom_uid=str(payload["uid"]),
        event_type_id=payload.get("eventTypeId"),
        start=datetime.fromisoformat(str(payload["startTime"]).replace("Z", "+00:00")),
        end=datetime.fromisoformat(str(payload["endTime"]).replace("Z", "+00:00")),
        status=payload.get("status"),
        metadata={str(k): str(v) for k, v in metadata.items()}
        if isinstance(metadata, dict)
        else {},
        rescheduled_from_uid=payload.get("rescheduleUid") or payload.get("fromReschedule"),
        time_zone=time_zone,
    )


def _app() -> FastAPI:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    return create_app(settings)


app = _app()
