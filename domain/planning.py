"""Segment planning: a service and a start time become concrete segments. Pure."""

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

    @property
    def staffed(self) -> tuple[PlannedSegment, ...]:
        return tuple(s for s in self.segments if s.staff)


def plan_service(service: Service, start: datetime) -> Plan:
    """Place the service's segments back to back from ``start`` (an aware datetime)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
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
                resource=seg.resource,
                calcom_event_type_id=seg.calcom_event_type_id,
            )
        )
        cursor = end
    return Plan(service=service.name, start=start, end=cursor, segments=tuple(segments))
