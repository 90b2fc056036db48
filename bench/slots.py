"""Slots for the benchmarks: starts on the demo salon's open days at which a service's
stylists are free, handed out in order and never twice, so no benchmark collides with
another (or with itself)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.catalog import Catalog

STEP_MINUTES = 30
# Room left after every service: a reservation or booking hides every grid slot it
# overlaps, so a segment flush against another's end may not be offered.
MARGIN = timedelta(minutes=30)


def date_args(start: datetime, zone: Any) -> dict[str, str]:
    """``{"date": "26.11.2026", "time": "10:45"}`` as the agent sends them."""
    local = start.astimezone(zone)
    return {"date": f"{local.day}.{local.month}.{local.year}", "time": local.strftime("%H:%M")}


class Slots:
    """Distinct starts per service from ``first_day`` on (a cursor per stylist and day).

    Args:
        catalog: the salon's services and opening hours.
        first_day: the first day (salon zone) to use.
    """

    def __init__(self, catalog: Catalog, first_day: date) -> None:
        self.catalog = catalog
        self.first_day = first_day
        self._free_from: dict[tuple[str, date], datetime] = {}

    def next(self, service_name: str) -> datetime:
        """The next start at which ``service_name`` fits wholly within opening hours on
        stylists nobody was given yet."""
        service = self.catalog.service(service_name)
        # Every stylist who could be chosen: whoever the check picks is free then.
        resources = sorted({h for s in service.staffed_segments for h in s.hosts})
        length = timedelta(minutes=service.total_minutes)
        margin = MARGIN
        zone = self.catalog.zone
        day = self.first_day
        for _ in range(3660):
            hours = self.catalog.opening_hours.for_weekday(day.weekday())
            if hours is not None:
                opens = datetime.combine(day, hours[0], zone)
                closes = datetime.combine(day, hours[1], zone)
                start = max([opens] + [self._free_from.get((r, day), opens) for r in resources])
                start = _round_up(start, opens)
                if start + length + margin <= closes:  # the grid's last slot ends by then
                    for r in resources:
                        self._free_from[(r, day)] = start + length + margin
                    return start
            day += timedelta(days=1)
        raise RuntimeError(f"no free day left for {service_name}")

    def take(self, service_names: list[str], n: int) -> list[tuple[str, datetime]]:
        """``n`` (service, start) pairs, the services in turn."""
        return [(name, self.next(name)) for name in _cycle(service_names, n)]


def _cycle(names: list[str], n: int) -> list[str]:
    return [names[i % len(names)] for i in range(n)]


def _round_up(moment: datetime, origin: datetime) -> datetime:
    minutes = (moment - origin).total_seconds() / 60
    steps = -(-minutes // STEP_MINUTES)
    return origin + timedelta(minutes=steps * STEP_MINUTES)
