"""Is a planned service free? Decided from free *time*, not from slot starts. Pure.

Cal.com's ``/v2/slots`` is a grid (spaced by the event type's ``slotInterval``, else its
length; ``shared/contracts/calcom-v2.md``, "The slot grid"), so a segment that starts at
an arbitrary minute (12:20, after a 20-minute processing gap) is usually not a slot of its
event type although the stylist is free. What the slots do prove is that the host is free
for each offered range; so a staffed segment is free when its whole interval is covered by
the union of the ranges Cal.com offers for its event type, and overlaps none of our own
active claims on its resource.

This errs only on the safe side: at the edge of a busy block the grid restarts at its next
rounded start, so a few free minutes there are not seen as free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as sorted, disjoint intervals (touching ones joined)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def covers(union: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """True when ``[start, end)`` lies inside one interval of a merged ``union``."""
    return any(u_start <= start and end <= u_end for u_start, u_end in union)


def overlaps(busy: Iterable[Interval], start: datetime, end: datetime) -> bool:
    """True when ``[start, end)`` overlaps any of ``busy``."""
    return any(b_start < end and start < b_end for b_start, b_end in busy)


@dataclass(frozen=True)
class StaffedSegment:
    """What availability needs of a planned staffed segment."""

    key: str
    start: datetime
    end: datetime
    event_type_id: int
    resource: str


@dataclass
class FreeTime:
    """What is known free and busy over a window: Cal.com's offered ranges per event type
    (merged) and our own active claims per resource."""

    offered: dict[int, list[Interval]] = field(default_factory=dict)
    claimed: dict[str, list[Interval]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        offered: Mapping[int, Iterable[Interval]],
        claimed: Mapping[str, Iterable[Interval]],
    ) -> FreeTime:
        return cls(
            offered={et: merge(ranges) for et, ranges in offered.items()},
            claimed={r: list(spans) for r, spans in claimed.items()},
        )

    def taken(self, segments: Iterable[StaffedSegment]) -> list[str]:
        """Keys of the segments that are not free (empty: the whole plan is free)."""
        return [
            s.key
            for s in segments
            if not covers(self.offered.get(s.event_type_id, []), s.start, s.end)
            or overlaps(self.claimed.get(s.resource, []), s.start, s.end)
        ]

    def is_free(self, segments: Iterable[StaffedSegment]) -> bool:
        return not self.taken(segments)

    def union(self, other: FreeTime) -> FreeTime:
        """Both windows' knowledge in one (e.g. more stylists' event types, same day)."""
        offered = {et: list(r) for et, r in self.offered.items()}
        for et, ranges in other.offered.items():
            offered[et] = merge([*offered.get(et, []), *ranges])
        claimed = {r: list(spans) for r, spans in self.claimed.items()}
        for resource, spans in other.claimed.items():
            claimed[resource] = sorted({*claimed.get(resource, []), *spans})
        return FreeTime(offered=offered, claimed=claimed)
