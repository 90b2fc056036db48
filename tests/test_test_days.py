"""The suite's test days come from the catalog, whatever today is: for each of seven
consecutive "todays" (every weekday once), the days and slots the end-to-end tests use lie
in the salon's opening hours and do not overlap. (tests/harness.py: next_open_day,
perm_slots; the API's own date words are tested in test_german_dates.py.)"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest

from config import get_settings
from domain.alternatives import opening_problem
from domain.catalog import load_catalog
from tests import harness

CATALOG = load_catalog(get_settings().catalog_path)
MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize("today", [MONDAY + timedelta(days=n) for n in range(7)])
def test_test_slots_are_open_whatever_the_weekday(today: date) -> None:
    perm = CATALOG.service("Dauerwelle")
    for hour in range(9, 16):  # the hours the end-to-end tests place services at
        start = harness.next_open_day(hour=hour, today=today)
        assert start.date() >= today + timedelta(days=2)
        problem = opening_problem(start, perm.total_minutes, CATALOG.opening_hours, CATALOG.zone)
        assert problem is None, f"{start:%a %d.%m. %H:%M}: {problem}"
    day = harness.next_open_day(today=today).date()
    opening = CATALOG.opening_hours.for_weekday(day.weekday())
    assert opening is not None and opening[0] <= time(9) and opening[1] >= time(18)


@pytest.mark.parametrize("today", [MONDAY + timedelta(days=n) for n in range(7)])
def test_perm_slots_fit_and_never_overlap(today: date, monkeypatch: pytest.MonkeyPatch) -> None:
    real = harness.open_days
    monkeypatch.setattr(harness, "open_days", lambda days_ahead=2: real(days_ahead, today=today))
    perm = CATALOG.service("Dauerwelle")
    slots: list[datetime] = harness.perm_slots(10)
    length = timedelta(minutes=perm.total_minutes)
    for a, b in itertools.pairwise(slots):
        assert a + length <= b, f"{a} and {b} overlap"
    for s in slots:
        assert opening_problem(s, perm.total_minutes, CATALOG.opening_hours, CATALOG.zone) is None
