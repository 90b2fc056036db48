"""The existing appointments one call may see and change.

An appointment is known to a call when it was found for the caller: booked with or from
the number they call from, or (a caller phoning from elsewhere) found by the exact name
and day they gave. An ``appointment_id`` the agent passes that is not known is answered
``not_found``, whether or not it exists: nothing of another customer is ever revealed or
changed. Known appointments keep their customer details here, outside the call's
queryable state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.activities import AppointmentDetails
    from contracts.appointments import AppointmentView, CancelResult
    from workflows.changes import AppointmentSteps


@dataclass(frozen=True)
class Unresolved:
    """Why no single appointment was meant: none, several (``candidates``), or the
    lookup failed."""

    status: Literal["not_found", "ambiguous", "failed"]
    candidates: list[AppointmentView] = field(default_factory=list)


class KnownAppointments:
    def __init__(self, steps: AppointmentSteps) -> None:
        self._steps = steps
        self._known: dict[str, AppointmentDetails] = {}
        self.cancelled: dict[str, CancelResult] = {}  # what this call cancelled
        # The hold placed for moving an appointment: (hold id, that appointment).
        self.move: tuple[str, AppointmentDetails] | None = None

    def remember(self, found: list[AppointmentDetails]) -> None:
        for details in found:
            self._known[details.view.appointment_id] = details

    def forget(self, appointment_id: str) -> None:
        """The appointment is cancelled or moved: no longer one to change."""
        self._known.pop(appointment_id, None)

    def move_for(self, hold_id: str | None) -> AppointmentDetails | None:
        """The appointment the hold ``hold_id`` was placed to replace, if any."""
        if self.move is None or hold_id is None or self.move[0] != hold_id:
            return None
        return self.move[1]

    async def resolve(self, appointment_id: str | None) -> AppointmentDetails | Unresolved:
        """The appointment meant: ``appointment_id`` if known to the call (the caller's
        upcoming ones are looked up by number first), or, without an id, the caller's one
        upcoming appointment."""
        if appointment_id is not None and appointment_id in self._known:
            return self._known[appointment_id]
        found = await self._steps.find()
        if found is None:
            return Unresolved("failed")
        self.remember(found)
        if appointment_id is not None:
            return self._known.get(appointment_id) or Unresolved("not_found")
        upcoming = sorted(self._known.values(), key=lambda d: d.view.start)
        if len(upcoming) == 1:
            return upcoming[0]
        if not upcoming:
            return Unresolved("not_found")
        return Unresolved("ambiguous", [d.view for d in upcoming])


def too_late(details: AppointmentDetails, now: datetime, notice_hours: float) -> bool:
    """Does the appointment start within the cancellation notice (or has it started)?"""
    return details.view.start - now < timedelta(hours=max(notice_hours, 0))
