"""Names as the agent hears them: spelled, corrected, with salutations and odd casing."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.names import NAME_MAX_LENGTH, spoken_spelling, understand_name, visible_text

# heard -> (name, spelled, salutation, title)
NAMES: list[tuple[str, tuple[str, bool, str | None, str | None]]] = [
    # letters
    ("S C H M I D T", ("Schmidt", True, None, None)),
    ("s c h m i d t", ("Schmidt", True, None, None)),
    ("es ce ha em i de te", ("Schmidt", True, None, None)),
    ("j ü r g e n", ("Jürgen", True, None, None)),
    ("L I", ("Li", True, None, None)),
    ("M Ü Doppel L E R", ("Müller", True, None, None)),
    ("W E I scharfes S", ("Weiß", True, None, None)),
    ("M E Y E R Bindestrich L A N G", ("Meyer-Lang", True, None, None)),
    # corrections with "mit"
    ("Schmidt mit d t", ("Schmidt", True, None, None)),
    ("Schmitt mit d t", ("Schmidt", True, None, None)),
    ("Schmid mit d t", ("Schmidt", True, None, None)),
    ("Schmidt mit Doppel-T", ("Schmitt", True, None, None)),
    ("Müller mit ü", ("Müller", True, None, None)),
    ("Mueller mit ü", ("Müller", True, None, None)),
    ("Muller mit ü", ("Müller", True, None, None)),
    ("Maier mit a i", ("Maier", True, None, None)),
    ("Meier mit a i", ("Maier", True, None, None)),
    ("Mayer mit a i", ("Maier", True, None, None)),
    ("Meier mit Ypsilon", ("Meyer", True, None, None)),
    ("Strauß mit Doppel-S", ("Strauss", True, None, None)),
    ("Weiss mit scharfem S", ("Weiß", True, None, None)),
    ("Müller mit zwei l", ("Müller", True, None, None)),
    ("Filipp mit ph", ("Philipp", True, None, None)),
    # the traditional spelling alphabet
    ("Siegfried, Cäsar, Heinrich, Martha, Ida, Dora, Theodor", ("Schmidt", True, None, None)),
    ("Samuel Caesar Heinrich Marta Ida Dora Theodor", ("Schmidt", True, None, None)),
    ("Schule Martha Ida Dora Theodor", ("Schmidt", True, None, None)),
    ("Martha Übermut Ludwig Ludwig Emil Richard", ("Müller", True, None, None)),
    ("Wilhelm Emil Ida Eszett", ("Weiß", True, None, None)),
    (
        "S wie Siegfried, C wie Cäsar, H wie Heinrich, U wie Ulrich, L wie Ludwig, Z wie Zacharias",
        ("Schulz", True, None, None),
    ),
    ("Kaufmann Anton Nordpol Theodor", ("Kant", True, None, None)),
    ("Ida Dora Anton", ("Ida", True, None, None)),
    # the 2022 city alphabet
    (
        "Salzwedel Chemnitz Hamburg München Ingelheim Düsseldorf Tübingen",
        ("Schmidt", True, None, None),
    ),
    ("München, Umlaut Unna, Leipzig, Leipzig, Essen, Rostock", ("Müller", True, None, None)),
    ("Berlin Umlaut Aachen Rostock", ("Bär", True, None, None)),
    ("Köln Umlaut Offenbach Hamburg Leipzig Essen Rostock", ("Köhler", True, None, None)),
    ("Koeln Offenbach Chemnitz Hamburg", ("Koch", True, None, None)),
    # heard name, then its spelling: the spelling wins
    ("Jürgen Müller, M Ü L L E R", ("Jürgen Müller", True, None, None)),
    ("Meier, M A I E R", ("Maier", True, None, None)),
    ("Anna S C H U L Z E", ("Anna Schulze", True, None, None)),
    # salutations and titles
    ("Herr Schmidt", ("Schmidt", False, "Herr", None)),
    ("Herrn Schmidt", ("Schmidt", False, "Herr", None)),
    ("Frau Dr. Müller", ("Müller", False, "Frau", "Dr.")),
    ("Herr Doktor Weber", ("Weber", False, "Herr", "Dr.")),
    ("Frau Professor Doktor Klein", ("Klein", False, "Frau", "Prof. Dr.")),
    ("Herr Dr. Schmidt mit d t", ("Schmidt", True, "Herr", "Dr.")),
    ("mein Name ist Anna Schulz", ("Anna Schulz", False, None, None)),
    ("ich heiße Frau Becker", ("Becker", False, "Frau", None)),
    # casing and double names
    ("jürgen müller", ("Jürgen Müller", False, None, None)),
    ("JÜRGEN MÜLLER", ("Jürgen Müller", False, None, None)),
    ("VON DER LEYEN", ("von der Leyen", False, None, None)),
    ("ursula von der leyen", ("Ursula von der Leyen", False, None, None)),
    ("Anna Maria de la Cruz", ("Anna Maria de la Cruz", False, None, None)),
    ("o'brien", ("O'Brien", False, None, None)),
    ("McDonald", ("McDonald", False, None, None)),
    ("müller-lüdenscheidt", ("Müller-Lüdenscheidt", False, None, None)),
    ("Müller Bindestrich Lüdenscheidt", ("Müller-Lüdenscheidt", False, None, None)),
    ("Müller Lüdenscheidt mit Bindestrich", ("Müller-Lüdenscheidt", False, None, None)),
    ("karl-heinz rummenigge", ("Karl-Heinz Rummenigge", False, None, None)),
    ("Strauß", ("Strauß", False, None, None)),
    # first names that are also alphabet words stay names
    ("Otto Müller", ("Otto Müller", False, None, None)),
    ("Emil Otto", ("Emil Otto", False, None, None)),
    ("Paula Berlin", ("Paula Berlin", False, None, None)),
]


@pytest.mark.parametrize(("heard", "expected"), NAMES)
def test_names(heard: str, expected: tuple[str, bool, str | None, str | None]) -> None:
    result = understand_name(heard)
    assert (result.name, result.spelled, result.salutation, result.title) == expected


def test_nothing_usable_gives_an_empty_name() -> None:
    assert understand_name("").name == ""
    assert understand_name("Herr").name == ""
    assert understand_name("Herr").salutation == "Herr"


def test_addressed_uses_salutation_title_and_surname() -> None:
    assert understand_name("Herr Dr. Jürgen Schmidt").addressed == "Herr Dr. Schmidt"
    assert understand_name("Jürgen Schmidt").addressed == "Jürgen Schmidt"


def test_spoken_spelling_for_read_back() -> None:
    assert spoken_spelling("Müller") == "M, Ü, L, L, E, R"
    assert spoken_spelling("Jo Weiß") == "J, O – W, E, I, Eszett"
    assert spoken_spelling("Ley-Bär") == "L, E, Y, Bindestrich, B, Ä, R"
    assert spoken_spelling("Bär", alphabet="cities") == (
        "B wie Berlin, Ä wie Umlaut Aachen, R wie Rostock"
    )
    assert understand_name("Schmidt").spelling == "S, C, H, M, I, D, T"


def test_spelling_read_back_round_trips_through_the_city_alphabet() -> None:
    for name in ("Schmidt", "Müller", "Köhler", "Weiß", "Bär"):
        said = spoken_spelling(name, alphabet="cities")
        words = [part.split(" wie ")[1] if " wie " in part else part for part in said.split(", ")]
        assert understand_name(" ".join(words)).name == name


# ---------------------------------------------------------------- what is not a name
BIDI_AND_INVISIBLE = [
    *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides (LRE ... RLO)
    *(chr(c) for c in range(0x2066, 0x206A)),  # isolates (LRI, RLI, FSI, PDI)
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u061c",  # ARABIC LETTER MARK
    "\u200b",  # ZERO WIDTH SPACE
    "\u2060",  # WORD JOINER
    "\ufeff",  # BOM
    "\U000e0041",  # TAG LATIN CAPITAL LETTER A
    "\ue000",  # private use
    "\ud800",  # a lone surrogate
    "\u3164",  # HANGUL FILLER: a "letter" that shows nothing
]


@pytest.mark.parametrize("char", BIDI_AND_INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_characters_are_removed_from_names(char: str) -> None:
    assert understand_name(f"{char}Anna{char} Schmidt{char}").name == "Anna Schmidt"


def test_control_characters_separate_words() -> None:
    assert understand_name("Max\u0000Muster").name == "Max Muster"
    assert understand_name("Max\nMuster\t").name == "Max Muster"
    assert understand_name("Max\u2028Muster").name == "Max Muster"


def test_a_reversed_name_stays_in_its_reading_order_without_the_override() -> None:
    # "\u202e" would show "Müller" as "rellüM"; the characters themselves stay in order.
    assert understand_name("\u202eMüller\u202c").name == "Müller"


def test_names_are_composed_to_nfc() -> None:
    assert understand_name("Mu\u0308ller").name == "Müller"


@pytest.mark.parametrize(
    "heard", ["\u0000", "\u0000\u202e\u200b\u0007", "12345", "🙂 🙂", "...", "\u0301", "\u3164"]
)
def test_text_without_a_letter_is_no_name(heard: str) -> None:
    assert understand_name(heard).name == ""


def test_a_long_name_is_cut_at_a_word_to_the_bound() -> None:
    long_name = " ".join(["Maximilian"] * 20)
    name = understand_name(long_name).name
    assert len(name) <= NAME_MAX_LENGTH and name.split() == ["Maximilian"] * 9
    assert len(understand_name("A" * 300).name) == NAME_MAX_LENGTH


@given(st.text(max_size=300))
def test_any_text_gives_a_visible_bounded_name_or_none(text: str) -> None:
    name = understand_name(text).name
    assert len(name) <= NAME_MAX_LENGTH
    assert name == "" or any(unicodedata.category(c).startswith("L") for c in name)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn") for c in name)
    assert name == name.strip() and "  " not in name
    assert visible_text(name) == name
