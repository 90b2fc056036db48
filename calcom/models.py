"""What the client hands out and takes in: Cal.com's data in our names and types.

Times are aware datetimes; the client converts to and from Cal.com's UTC ISO strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from calcom import wire


class SlotRange(BaseModel):
    """One bookable slot offered by ``GET /v2/slots`` (``format=range``)."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime


class Reservation(BaseModel):
    """A slot reservation (a short hold that hides the slot from ``/v2/slots``)."""

    model_config = ConfigDict(frozen=True)

    uid: str
    event_type_id: int
    slot_start: AwareDatetime
    slot_end: AwareDatetime
    slot_duration: int
    reservation_until: AwareDatetime

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Reservation:
        """Build from the ``data`` of a reservation answer (2024-09-04)."""
        return cls(
            uid=data["reservationUid"],
            event_type_id=data["eventTypeId"],
            slot_start=data["slotStart"],
            slot_end=data["slotEnd"],
            slot_duration=data["slotDuration"],
            reservation_until=data["reservationUntil"],
        )


class Attendee(BaseModel):
    """The customer as Cal.com records them. At least one of e-mail and phone is needed."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    time_zone: str
    email: str | None = None
    phone_number: str | None = None
    language: str = "de"

    @model_validator(mode="after")
    def _reachable(self) -> Attendee:
        if not self.email and not self.phone_number:
            raise ValueError("an attendee needs an e-mail address or a phone number")
        return self

    def to_wire(self) -> dict[str, str]:
        body = {"name": self.name, "timeZone": self.time_zone, "language": self.language}
        if self.email:
            body["email"] = self.email
        if self.phone_number:
            body["phoneNumber"] = self.phone_number
        return body


class BookingRequest(BaseModel):
    """``POST /v2/bookings``: one staffed segment for one attendee."""

    model_config = ConfigDict(frozen=True)

    event_type_id: int
    start: AwareDatetime
    length_in_minutes: int = Field(gt=0)
    attendee: Attendee
    reserved_slot_uid: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "start": wire.utc_iso(self.start),
            "eventTypeId": self.event_type_id,
            "lengthInMinutes": self.length_in_minutes,
            "attendee": self.attendee.to_wire(),
            "metadata": dict(self.metadata),
        }
        if self.reserved_slot_uid:
            body["reservedSlotUid"] = self.reserved_slot_uid
        return body


class Booking(BaseModel):
    """A Cal.com booking (2024-08-13 shape, reduced to what the salon uses)."""

    model_config = ConfigDict(frozen=True)

    id: int
    uid: str
    status: str  # "accepted" | "pending" | "cancelled" | "rejected"
    start: AwareDatetime
    end: AwareDatetime
    event_type_id: int | None
    metadata: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Booking:
        """Build from a booking object of the 2024-08-13 API."""
        event_type_id = data.get("eventTypeId")
        if event_type_id is None and isinstance(data.get("eventType"), dict):
            event_type_id = data["eventType"].get("id")
        metadata = data.get("metadata") or {}
        return cls(
            id=data["id"],
            uid=data["uid"],
            status=str(data["status"]).lower(),
            start=data["start"],
            end=data["end"],
            event_type_id=event_type_id,
            metadata={str(k): str(v) for k, v in metadata.items()},
        )
