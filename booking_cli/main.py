"""``booking``: run, operate and try the salon booking backbone.

Each command is a thin entry point; the work lives in the packages it calls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from config import get_settings

app = typer.Typer(
    help="Durable booking backbone for AI phone agents (Retell -> Temporal -> Cal.com).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _configuration() -> None:
    # Read the settings before any command: a malformed variable (PAYLOAD_ENCRYPTION_KEYS,
    # a port ...) stops every command with the variable named and its value not shown.
    try:
        get_settings()
    except ValidationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def dev() -> None:
    """Run the whole system on embedded defaults until Ctrl-C (what `make dev` runs)."""
    from booking_cli.dev import run_dev

    raise typer.Exit(run_dev(get_settings()))


@app.command()
def worker() -> None:
    """Run the Temporal worker (same as `python worker.py`)."""
    import worker as worker_module

    worker_module.main()


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "0.0.0.0",
    port: Annotated[int | None, typer.Option(help="Port (default: API_PORT).")] = None,
) -> None:
    """Serve the HTTP API (api.main:app) with uvicorn."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "api.main:app",
        host=host,
        port=port or settings.api_port,
        log_config=None,
        proxy_headers=True,
    )


@app.command()
def migrate(
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: DATABASE_URL).")
    ] = None,
) -> None:
    """Bring the database schema to head (idempotent)."""
    from store.schema import upgrade_to_head

    url = database_url or get_settings().database_url
    if not url:
        typer.echo("DATABASE_URL is not set.", err=True)
        raise typer.Exit(2)
    upgrade_to_head(url)
    typer.echo("database schema is at head")


@app.command()
def calsim(
    port: Annotated[int | None, typer.Option(help="Port (default: CALSIM_PORT, 8090).")] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog TOML (default: CATALOG_PATH).")
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option(help="Requests per minute per API key; 0 turns the limit off."),
    ] = None,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to send BOOKING_* webhooks.")
    ] = None,
) -> None:
    """Run the Cal.com v2 simulator alone.

    The Cal.com surface lives under /v2 (see docs/calsim.md). Test and demo controls,
    separate from it, under /_sim: POST /_sim/latency, POST|DELETE /_sim/faults (500, 429,
    timeout, lost_response, reject), POST /_sim/outside-booking, GET /_sim/state,
    POST /_sim/reset, POST /_sim/webhook.
    """
    from calsim.server import serve

    settings = get_settings()
    limit = settings.calsim_rate_limit_per_minute if rate_limit is None else rate_limit
    secret = settings.calcom_webhook_secret
    serve(
        catalog_path=catalog or settings.catalog_path,
        port=port or settings.calsim_port,
        rate_limit_per_minute=limit or None,
        webhook_url=webhook_url or settings.calsim_webhook_url,
        webhook_secret=secret.get_secret_value() if secret else None,
    )


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default: CODEC_SERVER_PORT, 8234).")
    ] = None,
    ui_endpoint_for: Annotated[
        str | None,
        typer.Option(
            help="Print the codec endpoint URL for a Temporal UI reaching this server at "
            "this base URL (e.g. https://codec.example.com), then exit."
        ),
    ] = None,
) -> None:
    """Decrypt payloads for the Temporal UI and CLI (Temporal's codec server protocol).

    POST /encode and /decode need Authorization: Bearer <OPS_TOKEN> (temporal CLI:
    --codec-endpoint http://localhost:8234 --codec-auth "Bearer $OPS_TOKEN"); a Temporal UI
    uses the endpoint URL --ui-endpoint-for prints. CORS: CODEC_CORS_ORIGINS.
    """
    from booking_cli.codec import print_ui_endpoint, run_codec_server

    settings = get_settings()
    if ui_endpoint_for:
        print_ui_endpoint(settings, ui_endpoint_for)
        return
    run_codec_server(settings, host=host, port=port or settings.codec_server_port)


@app.command()
def forget(
    phone: Annotated[str, typer.Option(help="The customer's phone number, in any format.")],
    region: Annotated[
        str | None,
        typer.Option(
            help="Country for numbers without +country code (default: the salon's, from "
            "SALON_TIMEZONE, e.g. DE)."
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: DATABASE_URL).")
    ] = None,
) -> None:
    """Remove a customer's name, phone and e-mail from our database (idempotent).

    Appointments stay, anonymised; the command lists what changed and what is kept
    elsewhere (Cal.com bookings, Temporal histories until the namespace's retention).
    """
    from booking_cli.forget import run_forget

    settings = get_settings()
    url = database_url or settings.database_url
    if not url:
        typer.echo("DATABASE_URL is not set.", err=True)
        raise typer.Exit(2)
    raise typer.Exit(
        asyncio.run(run_forget(settings, phone=phone, region=region, database_url=url))
    )


@app.command()
def replay(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="History JSON files (temporal workflow show -o json)."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(help="Visibility query, e.g. 'BookingStatus=\"failed\"', to fetch histories."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many fetched histories.")] = 50,
) -> None:
    """Replay histories against the current workflow code; fails on non-determinism."""
    from booking_cli.replay import run_replay

    raise typer.Exit(asyncio.run(run_replay(get_settings(), files or [], query, limit)))


@app.command()
def call(
    service: Annotated[str, typer.Option(help="Service as the caller says it.")] = "Dauerwelle",
    date: Annotated[str, typer.Option(help="Date as spoken, e.g. 'übermorgen', '26.11.'.")] = (
        "übermorgen"
    ),
    time: Annotated[str, typer.Option(help="Time as spoken, e.g. '10:45', 'halb elf'.")] = "10:45",
    stylist: Annotated[
        str | None,
        typer.Option(help="The stylist the caller asks for, e.g. 'Ben' (default: anyone)."),
    ] = None,
    name: Annotated[str, typer.Option(help="The caller's name.")] = "Jürgen Müller",
    phone: Annotated[str, typer.Option(help="The number the caller calls from.")] = (
        "+4915112345678"
    ),
    think: Annotated[float, typer.Option(help="Seconds the caller needs to spell the name.")] = 2.0,
    conflict: Annotated[
        str,
        typer.Option(
            help="Someone else books the slot during the call: none, page (Cal.com's "
            "booking page, respects our hold) or api (blind API booking: the hold is lost)."
        ),
    ] = "none",
    api_url: Annotated[str | None, typer.Option(help="API base URL.")] = None,
    scenario: Annotated[
        str,
        typer.Option(
            help="book (one call), or reschedule / cancel: after the booking the same number "
            "calls again, is recognised, and moves the appointment to the next day or cancels it."
        ),
    ] = "book",
) -> None:
    """Drive a realistic signed Retell call against a running API (see `make dev`)."""
    from booking_cli.call import CallScript
    from booking_cli.dev import dev_ops_token, dev_retell_key
    from booking_cli.returning_call import run_scenario

    settings = get_settings()
    if conflict not in ("none", "page", "api"):
        raise typer.BadParameter("conflict must be none, page or api")
    if scenario not in ("book", "reschedule", "cancel"):
        raise typer.BadParameter("scenario must be book, reschedule or cancel")
    script = CallScript(
        api_url=api_url or f"http://127.0.0.1:{settings.api_port}",
        retell_api_key=dev_retell_key(settings),
        service=service,
        date=date,
        time=time,
        stylist=stylist,
        name=name,
        phone=phone,
        think_seconds=think,
        conflict=conflict,  # type: ignore[arg-type]
        calsim_url=settings.calcom_api_url or f"http://127.0.0.1:{settings.calsim_port}",
        namespace=settings.temporal_namespace,
        temporal_ui=f"http://localhost:{settings.temporal_ui_port}",
        time_zone=settings.salon_timezone,
        ops_token=dev_ops_token(settings, create=False),
    )
    raise typer.Exit(run_scenario(script, scenario))  # type: ignore[arg-type]


@app.command("retell-setup")
def retell_setup(
    base_url: Annotated[
        str, typer.Option(help="Public base URL of this API, e.g. https://salon.example.com.")
    ],
    agent_id: Annotated[
        str | None,
        typer.Option(help="Retell agent to update; without it the tools are printed as JSON."),
    ] = None,
    phone_number: Annotated[
        str | None,
        typer.Option(
            help="The salon's Retell number (E.164): its inbound webhook is set to "
            "<base-url>/retell/inbound, so callers are recognised (with --agent-id)."
        ),
    ] = None,
) -> None:
    """Print the Retell tool definitions, or install them (and the webhooks) on an agent."""
    from rich.console import Console

    from retell_kit.setup import run
    from retell_kit.tools import ToolTimeouts

    s = get_settings()
    timeouts = ToolTimeouts.from_budgets(s.check_budget_seconds, s.booking_budget_seconds)
    raise typer.Exit(
        run(
            base_url,
            agent_id,
            s.retell_api_key,
            Console(),
            timeouts=timeouts,
            phone_number=phone_number,
        )
    )


if __name__ == "__main__":
    app()
