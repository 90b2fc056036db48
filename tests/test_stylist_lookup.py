"""Who the caller asks for: names and aliases as services are matched, "egal" is anyone."""

from __future__ import annotations

import pytest

from domain.catalog import Catalog, load_catalog
from domain.stylist_lookup import find_stylist, stylist_names, understand_stylist


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from config.settings import DEMO_CATALOG_PATH

    return load_catalog(DEMO_CATALOG_PATH)


@pytest.mark.parametrize(
    ("spoken", "key"),
    [
        ("Anna", "anna"),
        ("anna", "anna"),
        ("bei Anna", "anna"),
        ("die Anni", "anna"),
        ("am liebsten zu Frau Anna", "anna"),
        ("Ben bitte", "ben"),
        ("beim Benni", "ben"),
        ("Karla", "carla"),
        ("Carla", "carla"),
        ("bei der Friseurin Carla", "carla"),
        ("Carlaa", "carla"),  # a recogniser slip on a longer name
        ("egal, gern die Anna", "anna"),  # a name wins over indifference
    ],
)
def test_names_aliases_and_filler_words(catalog: Catalog, spoken: str, key: str) -> None:
    wish = understand_stylist(catalog, spoken)
    assert not wish.unknown and wish.key == key


@pytest.mark.parametrize(
    "spoken", [None, "egal", "ist mir egal", "beliebig", "wer gerade frei ist", "keine Präferenz"]
)
def test_no_preference_means_anyone(catalog: Catalog, spoken: str | None) -> None:
    wish = understand_stylist(catalog, spoken)
    assert wish.stylist is None and not wish.unknown


@pytest.mark.parametrize("spoken", ["Bernd", "Frau Schmidt", "Anja", "Bea"])
def test_a_name_nobody_here_has_is_unknown(catalog: Catalog, spoken: str) -> None:
    assert understand_stylist(catalog, spoken).unknown
    assert find_stylist(catalog, spoken) is None


def test_short_names_match_exactly(catalog: Catalog) -> None:
    assert find_stylist(catalog, "Bem") is None  # one letter off "Ben"
    assert find_stylist(catalog, "Ana") is None


def test_names_for_the_answer_are_in_catalog_order(catalog: Catalog) -> None:
    assert stylist_names(catalog) == ["Anna", "Ben", "Carla"]
    assert stylist_names(catalog, catalog.service("Dauerwelle").stylists) == ["Ben", "Carla"]
