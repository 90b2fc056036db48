"""The catalog's stylists: several per segment, each with their own Cal.com event type; the
one-resource form still works; mistakes are named by file, service, segment and stylist."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.catalog import CatalogError, parse_catalog
from domain.planning import plan_service

HOURS = {"mon": "09:00-18:00"}
STYLISTS = [
    {"key": "anna", "name": "Anna", "aliases": ["Anni"]},
    {"key": "ben", "name": "Ben"},
]


def staffed(key: str, minutes: int, **hosts: Any) -> dict[str, Any]:
    return {"key": key, "name": f"Schritt {key}", "minutes": minutes, **hosts}


def catalog_with(*services: dict[str, Any], stylists: Any = STYLISTS) -> Any:
    raw: dict[str, Any] = {"opening_hours": HOURS, "services": list(services)}
    if stylists is not None:
        raw["stylists"] = stylists
    return parse_catalog(raw, source="salon.toml")


def error_of(*services: dict[str, Any], stylists: Any = STYLISTS) -> str:
    with pytest.raises(CatalogError) as caught:
        catalog_with(*services, stylists=stylists)
    return str(caught.value)


CUT = {
    "name": "Herrenhaarschnitt",
    "segments": [staffed("A", 30, event_types={"anna": 3201, "ben": 3211})],
}
PERM = {
    "name": "Dauerwelle",
    "segments": [
        staffed("A", 45, event_types={"anna": 4201, "ben": 4211}),
        {"key": "C", "name": "Einwirkzeit", "minutes": 20, "staff": False},
        staffed("D", 35, event_types={"ben": 4214, "anna": 4204}),
    ],
}


def test_every_event_type_maps_to_its_stylist_for_the_simulator_and_the_guards():
    catalog = catalog_with(CUT, PERM)
    hosts = {et: host for et, (host, _, _) in catalog.event_types().items()}
    assert hosts == {
        3201: "anna",
        3211: "ben",
        4201: "anna",
        4211: "ben",
        4214: "ben",
        4204: "anna",
    }
    assert catalog.event_types()[4214] == ("ben", 35, "Dauerwelle D")


def test_a_service_is_planned_with_one_stylist_for_every_staffed_segment():
    catalog = catalog_with(PERM)
    perm = catalog.service("Dauerwelle")
    assert perm.stylists == ("anna", "ben")
    plan = plan_service(perm, datetime(2026, 11, 30, 10, tzinfo=ZoneInfo("Europe/Berlin")), "ben")
    assert [(s.key, s.resource, s.calcom_event_type_id) for s in plan.segments] == [
        ("A", "ben", 4211),
        ("C", None, None),
        ("D", "ben", 4214),
    ]
    with pytest.raises(ValueError):
        plan_service(perm, plan.start, "carla")


def test_the_services_stylists_are_those_named_in_every_staffed_segment():
    colour = {
        "name": "Färben",
        "segments": [
            staffed("A", 35, event_types={"anna": 5201, "ben": 5211}),
            staffed("D", 30, event_types={"anna": 5204}),
        ],
    }
    assert catalog_with(colour).service("Färben").stylists == ("anna",)


def test_the_one_resource_form_stays_valid_without_any_stylist():
    old = {
        "name": "Bartpflege",
        "segments": [staffed("A", 15, resource="stylist-1", calcom_event_type_id=1004)],
    }
    catalog = catalog_with(old, stylists=None)
    assert catalog.service("Bartpflege").stylists == ("stylist-1",)
    assert catalog.event_types() == {1004: ("stylist-1", 15, "Bartpflege A")}
    assert catalog.stylist_name("stylist-1") is None  # said without a name


def test_a_stylist_nobody_declared_is_named_with_service_and_segment():
    wrong = {"name": "Föhnen", "segments": [staffed("A", 30, event_types={"carl": 6201})]}
    message = error_of(wrong)
    assert message.startswith("salon.toml: ")
    assert 'service "Föhnen"' in message and 'segment "A"' in message
    assert '"carl"' in message and "anna, ben" in message


def test_no_stylist_for_every_segment_is_refused_naming_the_segments():
    split = {
        "name": "Dauerwelle",
        "segments": [
            staffed("A", 45, event_types={"anna": 4201}),
            staffed("D", 35, event_types={"ben": 4214}),
        ],
    }
    message = error_of(split)
    assert 'service "Dauerwelle"' in message
    assert "A: anna" in message and "D: ben" in message and "one stylist" in message


def test_one_event_type_for_two_stylists_is_refused():
    twice = {"name": "Föhnen", "segments": [staffed("A", 30, event_types={"anna": 7, "ben": 7})]}
    message = error_of(twice)
    assert "7" in message and '"anna"' in message and '"ben"' in message


@pytest.mark.parametrize(
    ("segment", "needle"),
    [
        (staffed("A", 30, event_types={"anna": 1}, resource="anna"), "not both"),
        (staffed("A", 30), "resource (or event_types)"),
        (staffed("A", 30, event_types={"anna": 0}), "event_types.anna"),
        (staffed("A", 30, event_types={"anna": "x"}), "event_types.anna"),
    ],
)
def test_segment_mistakes_name_service_segment_and_field(segment, needle):
    message = error_of({"name": "Föhnen", "segments": [segment]})
    assert 'service "Föhnen"' in message and 'segment "A"' in message and needle in message


@pytest.mark.parametrize(
    ("stylists", "needle"),
    [
        (
            [{"key": "anna", "name": "Anna"}, {"key": "anna", "name": "Anne"}],
            '"anna" is used twice',
        ),
        (
            [{"key": "anna", "name": "Anna"}, {"key": "ben", "name": "Ben", "aliases": ["anna"]}],
            "anna",
        ),
        ([{"key": "an na", "name": "Anna"}], 'stylist "an na", field key'),
        ([{"key": "anna"}], 'stylist "anna", field name'),
    ],
)
def test_stylist_mistakes_name_the_stylist(stylists, needle):
    cut = {
        "name": "Föhnen",
        "segments": [staffed("A", 30, resource="anna", calcom_event_type_id=1)],
    }
    assert needle in error_of(cut, stylists=stylists)
