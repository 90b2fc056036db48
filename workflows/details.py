"""The markdown the Temporal UI shows as a call's current details. Pure and
deterministic (UTC times: workflows do no time-zone work)."""

from __future__ import annotations

from contracts.appointments import AppointmentChange
from contracts.messages import CallState


def _hm(dt: object) -> str:
    return dt.strftime("%a %d %b %H:%M UTC") if dt is not None else "-"  # type: ignore[attr-defined]


def details_markdown(state: CallState) -> str:
    lines = [f"**Status:** `{state.status.value}`"]
    if state.service:
        lines.append(f"**Service:** {state.service}, {_hm(state.start)} - {_hm(state.end)}")
    if state.stylist:
        lines.append(f"**Stylist:** {state.stylist}")
    if state.hold_id:
        lines.append(f"**Hold:** `{state.hold_id}` until {_hm(state.hold_expires_at)}")
        if state.hold_lost:
            lines.append("**Hold lost** to an outside booking")
        if state.degraded:
            lines.append("**Degraded:** no Cal.com reservation for some segment (database only)")
    if state.segments:
        lines.append("")
        lines.append("| segment | time (UTC) | resource | status | Cal.com booking |")
        lines.append("|---|---|---|---|---|")
        for s in state.segments:
            lines.append(
                f"| {s.key} {s.name} | {s.start:%H:%M}-{s.end:%H:%M} | {s.resource or 'gap'} "
                f"| {s.status} | {s.calcom_booking_uid or '-'} |"
            )
    if state.appointment_id:
        lines.append(f"\n**Appointment:** `{state.appointment_id}`")
    if state.moving:
        lines.append(f"\n**Moving appointment** `{state.moving}` to the held time")
    for change in state.changes:
        lines.append(f"\n{change_line(change)}")
    if state.call_ended:
        lines.append("\nCall ended.")
    return "\n".join(lines)


def change_line(change: AppointmentChange) -> str:
    """What the call did to an existing appointment, in the salon's words and local time
    (worded by the activity): "**Termin verschoben:** Do 10:45 -> Fr 11:00"."""
    if change.kind == "moved":
        return (
            f"**Termin verschoben:** {change.before} -> {change.after or '?'} "
            f"(`{change.appointment_id}` -> `{change.new_appointment_id}`)"
        )
    return f"**Termin abgesagt:** {change.before} (`{change.appointment_id}`)"


def static_summary(service: str | None, start: object) -> str:
    """One line for the workflow list: "Dauerwelle, Thu 26 Nov 09:45 UTC"."""
    if not service:
        return "call"
    return f"{service}, {_hm(start)}"
