"""Cal.com's answer envelopes and the exception that renders an error envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_CODES = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    409: "ConflictException",
    422: "UnprocessableEntityException",
    429: "ThrottlerException",
    500: "InternalServerErrorException",
    504: "GatewayTimeoutException",
}


class CalcomProblem(Exception):
    """Answer with Cal.com's error envelope.

    Args:
        status: HTTP status.
        message: Cal.com's message.
        details: optional ``error.details`` object.
        headers: extra response headers.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}


def success(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    """``{"status": "success", "data": ...}`` (plus e.g. ``pagination``)."""
    return JSONResponse({"status": "success", "data": data, **extra}, status_code=status)


def error_body(path: str, status: int, message: str, details: Any = None) -> dict[str, Any]:
    """The error envelope for ``path``."""
    error: dict[str, Any] = {"code": _CODES.get(status, "HttpException"), "message": message}
    if details is not None:
        error["details"] = details
    return {
        "status": "error",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "path": path,
        "error": error,
    }


def problem_response(request: Request, problem: CalcomProblem) -> JSONResponse:
    return JSONResponse(
        error_body(request.url.path, problem.status, problem.message, problem.details),
        status_code=problem.status,
        headers=problem.headers,
    )


def install_error_envelope(app: FastAPI) -> None:
    """Render every error (ours, validation, unknown route) in Cal.com's envelope."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CalcomProblem)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
            for e in exc.errors()
        ]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        body = error_body(request.url.path, 400, message, {"errors": errors})
        return JSONResponse(body, status_code=400)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        body = error_body(request.url.path, exc.status_code, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code)

    app.add_exception_handler(CalcomProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def lost_response() -> PlainTextResponse:
    """Fault ``lost_response``: the change was made, but the caller only sees the 502 a
    proxy in between answers when Cal.com's reply never arrives."""
    return PlainTextResponse("502 Bad Gateway", status_code=502)
