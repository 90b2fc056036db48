"""Which starts are offered instead, with the demo salon's opening hours and the fixed
lengths of tests/catalogs/simulator.toml (perm 120 min: A 45, B 15, gap 30, D 30)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.alternatives import (
    candidate_starts,
    fits_opening_hours,
    opening_problem,
    rank_alternatives,
)
from domain.catalog import Catalog, load_catalog
from domain.planning import Plan, plan_service

BERLIN = ZoneInfo("Europe/Berlin")
DEMO = Path(__file__).resolve().parent / "catalogs" / "simulator.toml"
THURSDAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEMO)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def busy_between(start: datetime, end: datetime) -> Callable[[Plan], bool]:
    """Free unless a staffed segment overlaps [start, end); processing gaps never block."""

    def is_free(plan: Plan) -> bool:
        return not any(s.start < end and start < s.end for s in plan.staffed)

    return is_free


def rank(
    catalog: Catalog,
    service: str,
    requested: datetime,
    is_free: Callable[[Plan], bool],
    *,
    not_before: datetime = NOW,
    limit: int = 3,
    days_ahead: int = 14,
) -> list[datetime]:
    svc = catalog.service(service)
    return rank_alternatives(
        requested,
        lambda start: plan_service(svc, start),
        is_free,
        opening_hours=catalog.opening_hours,
        zone=BERLIN,
        not_before=not_before,
        limit=limit,
        days_ahead=days_ahead,
    )


def test_candidate_starts_cover_the_day_on_a_quarter_hour_grid(catalog: Catalog) -> None:
    hours = catalog.opening_hours.for_weekday(THURSDAY.weekday())  # 09:00-20:00
    starts = candidate_starts(THURSDAY, hours, 30, BERLIN)
    assert starts[0] == at(THURSDAY, 9) and starts[-1] == at(THURSDAY, 19, 30)
    assert len(starts) == 43
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(starts))
    assert candidate_starts(THURSDAY, hours, 120, BERLIN)[-1] == at(THURSDAY, 18)
    assert candidate_starts(THURSDAY, hours, 30, BERLIN, step_minutes=60)[:2] == [
        at(THURSDAY, 9),
        at(THURSDAY, 10),
    ]


def test_no_candidates_on_a_closed_day_or_for_a_too_long_service(catalog: Catalog) -> None:
    sunday = date(2026, 11, 29)
    assert candidate_starts(sunday, catalog.opening_hours.for_weekday(6), 30, BERLIN) == []
    assert candidate_starts(THURSDAY, (time(9), time(10)), 90, BERLIN) == []


@pytest.mark.parametrize(
    ("start", "minutes", "problem"),
    [
        (at(date(2026, 11, 29), 10), 30, "closed_day"),
        (at(date(2026, 11, 25), 8, 45), 30, "outside_opening_hours"),
        (at(date(2026, 11, 25), 16, 30), 120, "outside_opening_hours"),
        (at(date(2026, 11, 25), 16, 0), 120, None),
        (at(THURSDAY, 18, 0), 120, None),  # Thursday is open until 20:00
        (at(date(2026, 11, 28), 13, 30), 30, None),  # Saturday closes at 14:00
        (at(date(2026, 11, 28), 13, 45), 30, "outside_opening_hours"),
        (at(THURSDAY, 9).astimezone(UTC), 30, None),  # 08:00 UTC is 09:00 in Berlin
    ],
)
def test_opening_problem(
    start: datetime, minutes: int, problem: str | None, catalog: Catalog
) -> None:
    assert opening_problem(start, minutes, catalog.opening_hours, BERLIN) == problem


def test_the_whole_plan_must_fit_not_just_the_first_segment(catalog: Catalog) -> None:
    dauerwelle = catalog.service("Dauerwelle")  # 120 minutes, gap included
    friday = date(2026, 11, 27)  # closes at 18:00
    assert fits_opening_hours(
        plan_service(dauerwelle, at(friday, 16)), catalog.opening_hours, BERLIN
    )
    assert not fits_opening_hours(
        plan_service(dauerwelle, at(friday, 16, 15)), catalog.opening_hours, BERLIN
    )


def test_nearest_first_and_earlier_wins_a_tie(catalog: Catalog) -> None:
    requested = at(THURSDAY, 10, 45)
    assert rank(catalog, "Herrenhaarschnitt", requested, lambda plan: True) == [
        at(THURSDAY, 10, 30),
        at(THURSDAY, 11),
        at(THURSDAY, 10, 15),
    ]


def test_starts_whose_staffed_segments_collide_are_skipped(catalog: Catalog) -> None:
    # Färben: A 30 min, gap 30 min, D 30 min. The stylist is busy 10:00-12:00.
    free = busy_between(at(THURSDAY, 10), at(THURSDAY, 12))
    assert rank(catalog, "Färben", at(THURSDAY, 10, 45), free) == [
        at(THURSDAY, 12),
        at(THURSDAY, 12, 15),
        at(THURSDAY, 12, 30),
    ]


def test_a_processing_gap_may_lie_over_someone_elses_time(catalog: Catalog) -> None:
    free = busy_between(at(THURSDAY, 10, 30), at(THURSDAY, 11))
    # 10:00 works: its gap (10:30-11:00) covers the busy half hour.
    assert rank(catalog, "Färben", at(THURSDAY, 10, 45), free) == [
        at(THURSDAY, 11),
        at(THURSDAY, 11, 15),
        at(THURSDAY, 10),
    ]


def test_outside_hours_request_gets_the_last_starts_that_still_fit(catalog: Catalog) -> None:
    friday = date(2026, 11, 27)
    assert rank(catalog, "Dauerwelle", at(friday, 17), lambda plan: True) == [
        at(friday, 16),
        at(friday, 15, 45),
        at(friday, 15, 30),
    ]


def test_full_day_moves_to_the_next_open_day_earliest_first(catalog: Catalog) -> None:
    saturday, monday = date(2026, 11, 28), date(2026, 11, 30)
    free = busy_between(at(saturday, 0), at(saturday, 23))
    assert rank(catalog, "Dauerwelle", at(saturday, 11), free) == [
        at(monday, 9),
        at(monday, 9, 15),
        at(monday, 9, 30),
    ]


def test_nothing_before_not_before(catalog: Catalog) -> None:
    now = at(THURSDAY, 11, 20)
    found = rank(
        catalog,
        "Bartpflege",
        at(THURSDAY, 10),
        lambda plan: True,
        not_before=now + timedelta(minutes=15),
    )
    assert found == [at(THURSDAY, 11, 45), at(THURSDAY, 12), at(THURSDAY, 12, 15)]


def test_search_stops_after_days_ahead(catalog: Catalog) -> None:
    seen: set[date] = set()

    def never_free(plan: Plan) -> bool:
        seen.add(plan.start.astimezone(BERLIN).date())
        return False

    assert rank(catalog, "Föhnen", at(THURSDAY, 10), never_free, days_ahead=4) == []
    # Thursday to Monday, Sunday skipped as closed, nothing after Monday.
    assert sorted(seen) == [THURSDAY + timedelta(days=d) for d in (0, 1, 2, 4)]


def test_limit_and_zone_of_results(catalog: Catalog) -> None:
    requested = at(THURSDAY, 10).astimezone(UTC)
    found = rank(catalog, "Föhnen", requested, lambda plan: True, limit=5)
    assert len(found) == 5
    assert requested not in found
    assert all(s.tzinfo is BERLIN for s in found)
