"""Segment planning: a service, a start time and a stylist become concrete segments. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain.catalog import Service


class PlannedSegment(BaseModel):
    """A segment placed in time. ``staff`` segments are claimed and booked; gaps are not."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    start: datetime
    end: datetime
    staff: bool
    resource: str | None = None
    calcom_event_type_id: int | None = None

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    start: datetime
    end: datetime
    segments: tuple[PlannedSegment, ...]
    stylist: str | None = None  # the host of every staffed segment

    @property
    def staffed(self) -> tuple[PlannedSegment, ...]:
        return tuple(s for s in self.segments if s.staff)


def plan_service(service: Service, start: datetime, stylist: str | None = None) -> Plan:
    """Place the service's segments back to back from ``start``, every staffed one with
    ``stylist`` (one appointment stays with one stylist).

    Args:
        service: The catalog service.
        start: The start (timezone-aware).
        stylist: Key of one of ``service.stylists``; None: the first of them.

    Returns:
        The plan; each staffed segment carries the stylist as its resource and that
        stylist's own Cal.com event type.

    Raises:
        ValueError: ``start`` is naive, or ``stylist`` cannot do the whole service.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    host = stylist if stylist is not None else service.stylists[0]
    if host not in service.stylists:
        raise ValueError(f"{host!r} cannot do every staffed segment of {service.name}")
    segments: list[PlannedSegment] = []
    cursor = start
    for seg in service.segments:
        end = cursor + timedelta(minutes=seg.minutes)
        segments.append(
            PlannedSegment(
                key=seg.key,
                name=seg.name,
                start=cursor,
                end=end,
                staff=seg.staff,
                resource=host if seg.staff else None,
                calcom_event_type_id=seg.hosts.get(host),
            )
        )
        cursor = end
    return Plan(
        service=service.name,
        start=start,
        end=cursor,
        segments=tuple(segments),
        stylist=host,
    )
