"""The codec server's HTTP app: ``POST [/<prefix>][/<ui key>]/encode`` and ``.../decode``.

Temporal's remote codec protocol: the body is a ``Payloads`` message in protobuf JSON
(``{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}``), the
answer is the same shape. CORS lets the Temporal UI's origin call it. Payload contents
are never logged; a payload that cannot be decrypted (a key no longer configured) comes
back unchanged, so the others still show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.middleware.cors import CORSMiddleware
from temporalio.api.common.v1 import Payload, Payloads

from codec_server.auth import allowed
from observability.logging import get_logger
from payload_codec import EncryptionCodec, KeyRing

log = get_logger(__name__)
Action = Literal["encode", "decode"]


@dataclass(frozen=True)
class CodecServerConfig:
    """What the codec server needs: the keys, the token, the UI origins it answers."""

    keys: KeyRing
    ops_token: str | None
    cors_origins: Sequence[str] = ("http://localhost:8233",)


def create_codec_app(config: CodecServerConfig) -> FastAPI:
    """The codec server app for ``config``.

    Args:
        config: keys, ``OPS_TOKEN`` (None: every request is refused) and CORS origins.

    Returns:
        A FastAPI app (no docs: it is not a public API).
    """
    codec = EncryptionCodec(config.keys)
    app = FastAPI(
        title="Salon booking codec server",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.cors_origins),
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        max_age=600,
    )

    async def decode_each(payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            try:
                out.extend(await codec.decode([payload]))
            except ValueError as exc:
                log.warning("payload left encoded", reason=str(exc))
                out.append(payload)
        return out

    handlers: dict[Action, Callable[[Sequence[Payload]], Awaitable[list[Payload]]]] = {
        "encode": codec.encode,
        "decode": decode_each,
    }

    async def convert(request: Request, action: Action, path_key: str | None) -> Response:
        if not allowed(config.ops_token, request.headers.get("authorization"), path_key):
            log.info("codec request refused", action=action)
            return JSONResponse(
                {"detail": "needs Authorization: Bearer <OPS_TOKEN> or the UI endpoint URL"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="booking codec"'},
            )
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
            return JSONResponse({"detail": f"not a Payloads message: {exc}"}, status_code=400)
        converted = Payloads(payloads=await handlers[action](payloads.payloads))
        log.info(
            "codec request",
            action=action,
            payloads=len(converted.payloads),
            namespace=request.headers.get("x-namespace"),
        )
        return Response(json_format.MessageToJson(converted), media_type="application/json")

    @app.post("/{action}")
    async def at_root(request: Request, action: Action) -> Response:
        return await convert(request, action, None)

    # The protocol routes on the URL's last segment only: a proxy may mount the server at
    # any depth; the segment before it may be the UI path key.
    @app.post("/{prefix:path}/{action}")
    async def below_a_prefix(request: Request, prefix: str, action: Action) -> Response:
        return await convert(request, action, prefix.rsplit("/", 1)[-1])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
