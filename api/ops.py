"""What only operators may read: the ``OPS_TOKEN`` guard and the API's own docs.

``GET /calls/{call_id}`` (a call's state holds the customer's name and phone), ``/docs``,
``/openapi.json`` and ``/metrics`` need ``Authorization: Bearer <OPS_TOKEN>``; without a
configured token they stay closed. ``/healthz`` and ``/readyz`` stay open for probes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.security import ops_token_ok

# The scheme only documents the header in OpenAPI (Swagger's "Authorize" button); the
# check itself is require_ops_token's.
_bearer = HTTPBearer(auto_error=False, description="OPS_TOKEN")
CHALLENGE = 'Bearer realm="booking ops", Basic realm="booking ops"'


async def require_ops_token(
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let the request through only with the configured ``OPS_TOKEN``.

    Raises:
        HTTPException: 401 with a ``WWW-Authenticate`` challenge when no token is
            configured, or the request does not carry it.
    """
    token = request.app.state.booking.settings.ops_token
    expected = token.get_secret_value() if token is not None else None
    if ops_token_ok(expected, request.headers.get("authorization")):
        return
    detail = (
        "this endpoint needs Authorization: Bearer <OPS_TOKEN>"
        if expected
        else "OPS_TOKEN is not configured: this endpoint is closed"
    )
    raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": CHALLENGE})


OpsToken = Annotated[None, Depends(require_ops_token)]

router = APIRouter()


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, _auth: OpsToken) -> JSONResponse:
    """The OpenAPI document (behind the token: it maps every endpoint)."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def docs(request: Request, _auth: OpsToken) -> HTMLResponse:
    """Swagger UI; a browser asks for the token once (user name: anything)."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title=request.app.title)
