"""``booking codec-server``: decrypt payloads for the Temporal UI and CLI (see
``codec_server``), after checking it has what it needs."""

from __future__ import annotations

import typer

from codec_server.auth import ui_endpoint
from config import Settings
from observability.logging import configure_logging, get_logger

log = get_logger("codec-server")


def codec_server_problem(settings: Settings) -> str | None:
    """Why the codec server cannot serve with ``settings``, or None."""
    if settings.payload_key_ring is None:
        return "PAYLOAD_ENCRYPTION_KEYS is not set: there is nothing to decrypt"
    if settings.ops_token is None:
        return "OPS_TOKEN is not set: the codec server would refuse every request"
    return None


def run_codec_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve ``/encode`` and ``/decode`` until stopped.

    Raises:
        typer.Exit: code 2 when keys or token are missing.
    """
    import uvicorn

    from codec_server.app import CodecServerConfig, create_codec_app

    problem = codec_server_problem(settings)
    keys, token = settings.payload_key_ring, settings.ops_token
    if problem or keys is None or token is None:
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = create_codec_app(
        CodecServerConfig(
            keys=keys,
            ops_token=token.get_secret_value(),
            cors_origins=settings.codec_cors_origin_list,
        )
    )
    log.info(
        "codec server started",
        port=port,
        active_key=keys.active,
        key_ids=list(keys.keys),
        cors_origins=settings.codec_cors_origin_list,
    )
    # No access log: the UI's endpoint URL carries its path key.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def print_ui_endpoint(settings: Settings, base_url: str) -> None:
    """Print the codec endpoint URL to give a Temporal UI for the server at ``base_url``."""
    if settings.ops_token is None:
        typer.echo("OPS_TOKEN is not set", err=True)
        raise typer.Exit(2)
    typer.echo(ui_endpoint(base_url, settings.ops_token.get_secret_value()))
