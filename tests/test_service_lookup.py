"""Finding the service a caller means in the demo catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.catalog import Catalog, load_catalog, parse_catalog
from domain.service_lookup import find_service, fold, match_service, service_names

DEMO = Path(__file__).resolve().parent.parent / "domain" / "demo_catalog.toml"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEMO)


@pytest.mark.parametrize(
    ("spoken", "service"),
    [
        ("Dauerwelle", "Dauerwelle"),
        ("dauerwelle", "Dauerwelle"),
        ("DAUERWELLE", "Dauerwelle"),
        ("eine Dauerwelle bitte", "Dauerwelle"),
        ("ich hätte gern einen Herrenhaarschnitt", "Herrenhaarschnitt"),
        ("Ich möchte gerne einen Termin zum Färben", "Färben"),
        ("Termin für Färben", "Färben"),
        ("Faerben", "Färben"),
        ("farben", "Färben"),
        ("Haare färben", "Färben"),
        ("Toenen", "Färben"),
        ("Fönen", "Föhnen"),
        ("Föhnen", "Föhnen"),
        ("Foehnen", "Föhnen"),
        ("Herren Haarschnitt", "Herrenhaarschnitt"),
        ("Haarschnitt Herren", "Herrenhaarschnitt"),
        ("Maennerhaarschnitt", "Herrenhaarschnitt"),
        ("Damen", "Damenhaarschnitt"),
        ("Bart trimmen", "Bartpflege"),
        ("perm", "Dauerwelle"),
        ("Locken machen lassen", "Dauerwelle"),
        # small misspellings, as a speech recogniser makes them
        ("Dauerwele", "Dauerwelle"),
        ("Dauawelle", "Dauerwelle"),
        ("Herenschnit", "Herrenhaarschnitt"),
        ("Bartschnit", "Bartpflege"),
    ],
)
def test_finds_the_service_meant(catalog: Catalog, spoken: str, service: str) -> None:
    found = find_service(catalog, spoken)
    assert found is not None, spoken
    assert found.name == service


@pytest.mark.parametrize(
    "spoken",
    ["Pizza", "Maniküre", "Frage", "Bad", "Schnitt", "", "ähm bitte", "einen Termin"],
)
def test_unknown_services_find_nothing(catalog: Catalog, spoken: str) -> None:
    assert find_service(catalog, spoken) is None


def test_exact_and_fuzzy_matches_are_told_apart(catalog: Catalog) -> None:
    exact = match_service(catalog, "Herrenschnitt")
    fuzzy = match_service(catalog, "Dauerwele")
    assert exact is not None and exact.exact and exact.matched == "Herrenschnitt"
    assert fuzzy is not None and not fuzzy.exact and 0.8 < fuzzy.score < 1


def test_short_aliases_must_match_exactly(catalog: Catalog) -> None:
    assert find_service(catalog, "Bart") is not None
    assert find_service(catalog, "Bert") is None  # one letter off a four-letter alias


def test_sharp_s_and_ss_spellings_are_the_same() -> None:
    assert fold("Straße") == fold("Strasse") == fold("STRASSE")
    catalog = parse_catalog(
        {
            "opening_hours": {"mon": "09:00-18:00"},
            "services": [
                {
                    "name": "Fußpflege",
                    "segments": [
                        {
                            "key": "A",
                            "name": "Pflege",
                            "minutes": 30,
                            "resource": "r",
                            "calcom_event_type_id": 1,
                        }
                    ],
                }
            ],
        }
    )
    for spoken in ("Fusspflege", "FUSSPFLEGE", "eine Fußpflege bitte"):
        found = find_service(catalog, spoken)
        assert found is not None and found.name == "Fußpflege"


def test_service_names_for_the_unknown_service_answer(catalog: Catalog) -> None:
    assert service_names(catalog) == [
        "Herrenhaarschnitt",
        "Damenhaarschnitt",
        "Föhnen",
        "Bartpflege",
        "Dauerwelle",
        "Färben",
    ]
