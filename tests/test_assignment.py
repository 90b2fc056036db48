"""The choosing rule and one stylist per appointment, on hand-made free time (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.assignment import free_stylists, nearest_free
from domain.availability import FreeTime
from domain.catalog import Catalog, load_catalog

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2031, 3, 4)  # a Tuesday: open 09:00-18:00


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from config.settings import DEMO_CATALOG_PATH

    return load_catalog(DEMO_CATALOG_PATH)


def open_all_day(catalog: Catalog, service: str, **claims: list[tuple[datetime, datetime]]):
    """Cal.com offers every event type of ``service`` all day; ``claims`` per stylist."""
    svc = catalog.service(service)
    offered = {et: [(at(9), at(18))] for s in svc.staffed_segments for et in s.hosts.values()}
    return FreeTime.build(offered, claims)


def test_ties_go_to_the_catalog_order(catalog: Catalog) -> None:
    free = open_all_day(catalog, "Herrenhaarschnitt")
    cut = catalog.service("Herrenhaarschnitt")
    assert free_stylists(cut, at(10), free, ["anna", "carla"], zone=BERLIN) == ["anna", "carla"]


def test_the_stylist_with_less_booked_time_that_day_is_chosen(catalog: Catalog) -> None:
    cut = catalog.service("Herrenhaarschnitt")
    free = open_all_day(
        catalog,
        "Herrenhaarschnitt",
        anna=[(at(15), at(16))],  # an hour that day
        carla=[
            (at(11), at(11, 30)),
            (at(9, 0, DAY + timedelta(days=1)), at(17, 0, DAY + timedelta(days=1))),
        ],
    )
    # Carla's busy next day does not count; her half hour today is less than Anna's hour.
    assert free_stylists(cut, at(10), free, ["anna", "carla"], zone=BERLIN) == ["carla", "anna"]


def test_only_stylists_free_for_the_whole_service_are_candidates(catalog: Catalog) -> None:
    perm = catalog.service("Dauerwelle")  # A 45, B 30, C 20 (gap), D 35: D at 11:35
    free = open_all_day(catalog, "Dauerwelle", ben=[(at(11, 40), at(12))])
    assert free_stylists(perm, at(10), free, ["ben", "carla"], zone=BERLIN) == ["carla"]


def test_a_compound_service_is_never_split_across_stylists(catalog: Catalog) -> None:
    perm = catalog.service("Dauerwelle")
    # Ben could do A and B, Carla could do D: nobody can do all of it.
    free = open_all_day(
        catalog, "Dauerwelle", ben=[(at(11, 40), at(12))], carla=[(at(10), at(10, 15))]
    )
    assert free_stylists(perm, at(10), free, ["ben", "carla"], zone=BERLIN) == []


def test_the_processing_gap_does_not_occupy_the_stylist(catalog: Catalog) -> None:
    perm = catalog.service("Dauerwelle")  # gap C 11:15-11:35 at a 10:00 start
    free = open_all_day(catalog, "Dauerwelle", ben=[(at(11, 15), at(11, 35))])
    # Ben is free for it (his 20 minutes fall into the gap), after Carla who has less.
    assert free_stylists(perm, at(10), free, ["ben", "carla"], zone=BERLIN) == ["carla", "ben"]


def test_cal_coms_free_time_of_each_stylists_own_event_type_decides(catalog: Catalog) -> None:
    cut = catalog.service("Herrenhaarschnitt")
    free = FreeTime.build({1001: [(at(9), at(10))], 1101: [(at(9), at(18))]}, {})
    assert free_stylists(cut, at(10), free, ["anna", "carla"], zone=BERLIN) == ["carla"]


def test_alternatives_name_the_stylist_who_is_free_then(catalog: Catalog) -> None:
    cut = catalog.service("Herrenhaarschnitt")
    free = open_all_day(
        catalog,
        "Herrenhaarschnitt",
        anna=[(at(9), at(12))],
        carla=[(at(10), at(10, 30))],
    )
    found = nearest_free(
        cut,
        at(10),
        free,
        ["anna", "carla"],
        opening_hours=catalog.opening_hours,
        zone=BERLIN,
        not_before=at(0),
        limit=3,
        first_day=0,
        days_ahead=0,
        step_minutes=15,
    )
    assert found == [(at(9, 30), "carla"), (at(10, 30), "carla"), (at(9, 15), "carla")]
