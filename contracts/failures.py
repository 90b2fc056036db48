"""Failure types the workflows match on (``ApplicationError.type``): one spelling each.

Cal.com's errors (``calcom.errors``) carry these names as their ``error_type``; the
activities raise them as ``ApplicationError``; the workflows and their retry policies
match them here.
"""

from __future__ import annotations

SLOT_UNAVAILABLE = "SlotUnavailable"  # someone else has the time: an answer, not a fault
INVALID_REQUEST = "InvalidRequest"  # Cal.com refused the request as invalid
NOT_FOUND = "NotFound"
RATE_LIMITED = "RateLimited"
TRANSIENT = "Transient"
CALCOM = "Calcom"
# Our own data cannot be stored as it is (e.g. a value PostgreSQL refuses): retrying
# cannot help, the step must be compensated.
INVALID_DATA = "InvalidData"
# Another workflow is changing the appointment right now: try again shortly (retryable).
APPOINTMENT_BUSY = "AppointmentBusy"
# A change's final step found the appointment not locked by it: a bug, never retried.
CHANGE_LOST = "ChangeLost"

# Outcomes that prove Cal.com made no booking for a segment.
NOT_BOOKED = frozenset({SLOT_UNAVAILABLE, INVALID_REQUEST, NOT_FOUND})
# Errors retrying cannot fix.
NON_RETRYABLE = (SLOT_UNAVAILABLE, INVALID_REQUEST, NOT_FOUND, INVALID_DATA)
