"""``booking forget --phone <number>``: a customer's name, phone and e-mail leave our
store; the command lists what it changed and what is kept elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from config import Settings
from domain.phones import masked, region_for_timezone, to_e164
from store.db import create_engine_for
from store.forget import ForgottenAppointment, forget_phone
from workflows.ids import call_workflow_id

COLUMN_LABELS = {
    "customer_name": "name",
    "customer_phone": "phone",
    "customer_email": "e-mail",
    "customer_addressed": "salutation",
    "caller_phone": "caller's number",
}


async def run_forget(
    settings: Settings, *, phone: str, region: str | None, database_url: str
) -> int:
    """Forget the customer with ``phone``; 0 when done (also when nothing was stored),
    2 when ``phone`` is not a phone number. Prints no customer data."""
    console = Console()
    region = region or region_for_timezone(settings.salon_timezone)
    wanted = to_e164(phone, region)
    if wanted is None:
        console.print(f"[red]not a phone number (read as a number of region {region})[/]")
        return 2
    engine = create_engine_for(database_url, pool_size=1, max_overflow=0)
    try:
        forgotten = await forget_phone(engine, phone, region=region)
    finally:
        await engine.dispose()
    if not forgotten:
        console.print(
            f"Nothing stored for {masked(wanted)}: no appointment has this number "
            "(already forgotten, or never booked). Nothing changed."
        )
        return 0
    console.print(_changes(forgotten, masked(wanted)))
    console.print(_kept_elsewhere(forgotten, settings))
    return 0


def _changes(forgotten: list[ForgottenAppointment], who: str) -> Table:
    table = Table(title=f"Forgotten in our database: {who}")
    for column in ("appointment", "service", "start (UTC)", "status", "cleared"):
        table.add_column(column)
    for f in forgotten:
        table.add_row(
            f.appointment_id,
            f.service,
            f"{f.start:%Y-%m-%d %H:%M}",
            f.status,
            ", ".join(COLUMN_LABELS[c] for c in f.cleared) or "-",
        )
    return table


def _kept_elsewhere(forgotten: list[ForgottenAppointment], settings: Settings) -> Table:
    table = Table(title="Kept elsewhere: delete there too", show_lines=True)
    table.add_column("where")
    table.add_column("what")
    table.add_column("how long / how to remove")
    uids = [uid for f in forgotten for uid in f.calcom_booking_uids]
    if uids:
        table.add_row(
            "Cal.com",
            "bookings with attendee name, e-mail, phone:\n" + "\n".join(uids),
            "until deleted in Cal.com (cancelling keeps the attendee)",
        )
    workflows = sorted({call_workflow_id(f.call_id) for f in forgotten})
    table.add_row(
        f"Temporal ({settings.temporal_namespace})",
        "call histories (update arguments, the state query):\n" + "\n".join(workflows),
        "until the namespace's retention after the call ended (docs/operations.md); "
        "encrypted when PAYLOAD_ENCRYPTION_KEYS is set; now: temporal workflow delete -w <id>",
    )
    table.add_row(
        "Retell",
        "call recordings and transcripts of these calls",
        "per the Retell account's data retention settings",
    )
    return table
