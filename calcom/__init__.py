"""Typed async client for Cal.com API v2 (see ``shared/contracts/calcom-v2.md``)."""

from calcom.client import CalcomClient
from calcom.errors import (
    CalcomError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    SlotUnavailableError,
    TransientError,
)
from calcom.models import Attendee, Booking, BookingRequest, Reservation, SlotRange

__all__ = [
    "Attendee",
    "Booking",
    "BookingRequest",
    "CalcomClient",
    "CalcomError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitedError",
    "Reservation",
    "SlotRange",
    "SlotUnavailableError",
    "TransientError",
]
