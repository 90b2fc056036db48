"""Facts of Cal.com's wire format shared by the client and the simulator.

Only constants and tiny formatting rules live here (API versions, header names, limits,
the messages that carry meaning); each side builds and checks its own payloads, so the
simulator stays an independent check of the client.
"""

from __future__ import annotations

from datetime import UTC, datetime

# cal-api-version per endpoint family; the version decides request and response shapes.
VERSION_HEADER = "cal-api-version"
SLOTS_VERSION = "2024-09-04"  # /v2/slots and /v2/slots/reservations
BOOKINGS_VERSION = "2024-08-13"  # /v2/bookings

# Rate limit headers (values are integers; the reset is in unix seconds).
RATE_LIMIT_LIMIT = "X-RateLimit-Limit-Default"
RATE_LIMIT_REMAINING = "X-RateLimit-Remaining-Default"
RATE_LIMIT_RESET = "X-RateLimit-Reset-Default"

# Booking metadata limits.
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500

# Paging of GET /v2/bookings.
BOOKINGS_MAX_TAKE = 250

# Messages whose wording tells "the slot is gone" apart from other 400s.
HOST_UNAVAILABLE = "User either already has booking at this time or is not available"
TEAM_HOST_UNAVAILABLE = (
    "One of the hosts either already has booking at this time or is not available"
)
# 400 for a start closer than the event type's minimum booking notice (or past its booking
# window): apps/api/v2/src/ee/bookings/2024-08-13/services/errors.service.ts.
BOOKING_OUT_OF_BOUNDS = (
    'The event type can\'t be booked at the "start" time provided. This could be because '
    "it's too soon (violating the minimum booking notice) or too far in the future (outside "
    "the event's scheduling window). Try fetching available slots first using the GET "
    '/v2/slots endpoint and then make a booking with "start" time equal to one of the '
    "available slots: https://cal.com/docs/api-reference/v2/slots"
)
RESERVED_BY_SOMEONE_ELSE = (
    "Someone else reserved this booking time slot before you. Please select another time slot."
)

# Webhooks.
SIGNATURE_HEADER = "X-Cal-Signature-256"
WEBHOOK_VERSION_HEADER = "x-cal-webhook-version"
NO_SECRET_SIGNATURE = "no-secret-provided"


def utc_iso(moment: datetime) -> str:
    """Format an aware datetime the way Cal.com does: UTC, milliseconds, ``Z``.

    Raises:
        ValueError: ``moment`` is naive (its zone would be a guess).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: Cal.com times must carry a zone")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
