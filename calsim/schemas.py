"""Inbound bodies of the Cal.com surface, with Cal.com's limits on the fields.

Unknown fields are refused (Cal.com's validation pipe forbids non-whitelisted fields),
types are strict (no "2001" for an id), times must be UTC ISO 8601.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)

from calcom import wire

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def parse_utc(value: object) -> datetime:
    """An ISO 8601 time in UTC (``Z`` or ``+00:00``); anything else is refused."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string in UTC")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{value!r} must be in UTC (end with Z)")
    return moment


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone") from None
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("email must be an email")
    return value


def _phone(value: str) -> str:
    if not _E164.match(value):
        raise ValueError("phoneNumber must be in international format, e.g. +4930123456")
    return value


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > wire.METADATA_MAX_KEYS:
        raise ValueError(f"metadata can have at most {wire.METADATA_MAX_KEYS} keys")
    for key, item in value.items():
        if len(key) > wire.METADATA_MAX_KEY_LENGTH:
            raise ValueError(
                f"metadata key {key[:50]!r} is longer than {wire.METADATA_MAX_KEY_LENGTH}"
            )
        if len(item) > wire.METADATA_MAX_VALUE_LENGTH:
            raise ValueError(
                f"metadata value of {key!r} is longer than {wire.METADATA_MAX_VALUE_LENGTH}"
            )
    return value


UtcTime = Annotated[datetime, BeforeValidator(parse_utc)]
TimeZone = Annotated[StrictStr, AfterValidator(_zone)]
Metadata = Annotated[dict[StrictStr, StrictStr], AfterValidator(_metadata)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReservationIn(_Body):
    """POST/PATCH /v2/slots/reservations."""

    eventTypeId: StrictInt = Field(gt=0)
    slotStart: UtcTime
    slotDuration: StrictInt | None = Field(default=None, gt=0)
    reservationDuration: StrictInt | None = Field(default=None, ge=1, le=1440)


class AttendeeIn(_Body):
    name: StrictStr = Field(min_length=1)
    timeZone: TimeZone
    email: Annotated[StrictStr, AfterValidator(_email)] | None = None
    phoneNumber: Annotated[StrictStr, AfterValidator(_phone)] | None = None
    language: StrictStr | None = None

    @model_validator(mode="after")
    def _reachable(self) -> AttendeeIn:
        if not self.email and not self.phoneNumber:
            raise ValueError("attendee needs email or phoneNumber")
        return self


class BookingIn(_Body):
    """POST /v2/bookings (2024-08-13)."""

    start: UtcTime
    eventTypeId: StrictInt = Field(gt=0)
    attendee: AttendeeIn
    lengthInMinutes: StrictInt | None = Field(default=None, gt=0)
    metadata: Metadata = Field(default_factory=dict)
    bookingFieldsResponses: dict[str, Any] | None = None
    guests: list[StrictStr] | None = None
    location: Any = None
    reservedSlotUid: StrictStr | None = None


class CancelIn(_Body):
    """POST /v2/bookings/{uid}/cancel."""

    cancellationReason: StrictStr | None = None
    cancelSubsequentBookings: bool | None = None


class RescheduleIn(_Body):
    """POST /v2/bookings/{uid}/reschedule."""

    start: UtcTime
    rescheduledBy: StrictStr | None = None
    reschedulingReason: StrictStr | None = None
