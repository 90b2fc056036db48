"""Cal.com's JSON shapes of bookings, reservations and webhook payloads."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from calcom.wire import utc_iso
from calsim.calendar import Calendar, SimBooking, SimReservation


def local_iso(moment: datetime, zone: tzinfo) -> str:
    """``2026-11-26T10:45:00.000+01:00``: the slot format of ``/v2/slots``."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%dT%H:%M:%S.000") + f"{offset[:3]}:{offset[3:]}"


def host_data(calendar: Calendar, host: str) -> dict[str, Any]:
    return {
        "id": 100 + calendar.hosts.index(host) + 1,
        "name": host,
        "email": f"{host}@salon.example",
        "username": host,
        "timeZone": calendar.catalog.timezone,
    }


def reservation_data(r: SimReservation) -> dict[str, Any]:
    """``data`` of the 2024-09-04 reservation endpoints."""
    return {
        "eventTypeId": r.event_type.id,
        "slotStart": utc_iso(r.slot_start),
        "slotEnd": utc_iso(r.slot_end),
        "slotDuration": r.slot_duration,
        "reservationUid": r.uid,
        "reservationDuration": r.minutes,
        "reservationUntil": utc_iso(r.until),
    }


def booking_data(calendar: Calendar, b: SimBooking) -> dict[str, Any]:
    """A booking in the 2024-08-13 shape."""
    attendee = {
        "name": b.attendee["name"],
        "email": b.attendee.get("email") or "",
        "displayEmail": b.attendee.get("email") or "",
        "timeZone": b.attendee["timeZone"],
        "phoneNumber": b.attendee.get("phoneNumber"),
        "language": b.attendee.get("language") or "en",
        "absent": False,
    }
    data: dict[str, Any] = {
        "id": b.id,
        "uid": b.uid,
        "title": f"{b.event_type.title} zwischen {b.event_type.host} und {b.attendee['name']}",
        "description": "",
        "hosts": [host_data(calendar, b.event_type.host)],
        "status": b.status,
        "start": utc_iso(b.start),
        "end": utc_iso(b.end),
        "duration": int((b.end - b.start).total_seconds() // 60),
        "eventTypeId": b.event_type.id,
        "eventType": {"id": b.event_type.id, "slug": b.event_type.slug},
        "meetingUrl": None,
        "location": "Salon",
        "absentHost": False,
        "createdAt": utc_iso(b.created_at),
        "updatedAt": utc_iso(b.updated_at) if b.updated_at else None,
        "metadata": dict(b.metadata),
        "rating": None,
        "icsUid": f"{b.uid}@salon.example",
        "attendees": [attendee],
        "guests": [],
        "bookingFieldsResponses": {"name": b.attendee["name"]},
    }
    if b.status == "cancelled":
        data["cancellationReason"] = b.cancellation_reason
        data["rescheduled"] = b.rescheduled
    if b.rescheduled_from_uid:
        data["rescheduledFromUid"] = b.rescheduled_from_uid
    return data


def webhook_payload(calendar: Calendar, b: SimBooking) -> dict[str, Any]:
    """``payload`` of a BOOKING_* webhook."""
    host = host_data(calendar, b.event_type.host)
    language = b.attendee.get("language") or "en"
    payload: dict[str, Any] = {
        "type": b.event_type.slug,
        "title": b.event_type.title,
        "bookingId": b.id,
        "uid": b.uid,
        "eventTypeId": b.event_type.id,
        "startTime": utc_iso(b.start),
        "endTime": utc_iso(b.end),
        "length": int((b.end - b.start).total_seconds() // 60),
        "status": b.status.upper(),
        "organizer": {
            "id": host["id"],
            "name": host["name"],
            "email": host["email"],
            "username": host["username"],
            "timeZone": host["timeZone"],
            "language": {"locale": "de"},
        },
        "attendees": [
            {
                "name": b.attendee["name"],
                "email": b.attendee.get("email") or "",
                "timeZone": b.attendee["timeZone"],
                "phoneNumber": b.attendee.get("phoneNumber"),
                "language": {"locale": language},
            }
        ],
        "metadata": dict(b.metadata),
        "responses": {"name": {"label": "your_name", "value": b.attendee["name"]}},
    }
    if b.status == "cancelled":
        payload["cancellationReason"] = b.cancellation_reason
    return payload
