"""Find the catalog service a caller means, from what the agent heard. Pure.

Callers do not say catalog names: they say "eine Dauerwelle bitte", "Faerben" or, through a
speech recogniser, "Dauerwele". Matching works on a folded form of both sides (case, accents,
umlauts spelled ``ae``/``oe``/``ue``, ``ß``/``ss`` and a silent ``h`` after a vowel all
collapse), drops filler words, then compares every short run of the remaining words with
every name and alias: exact first, then :mod:`difflib` similarity above
:data:`FUZZY_CUTOFF`. Short keys (under five letters, such as "Bart" or "Perm") must match
exactly, since one wrong letter there is a different word.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from domain.catalog import Catalog, Service

T = TypeVar("T")

# "Dauerwele" (0.95) and "Herenschnit" (0.92) pass; "Pizza" or "Frage" (~0.6) do not.
FUZZY_CUTOFF = 0.82
_SHORT_KEY = 5
_MAX_SPAN = 4

# Words that carry no service meaning in a booking request (folded at import).
_FILLER_WORDS = """
    ich wir hätte hätten möchte möchten würde würden will wollte wollen gern gerne bitte
    danke ein eine einen einem einer eines den die das der dem des termin termine für zum
    zur mal einmal machen lassen buchen bei ihnen euch uns mir mich auch noch so also äh
    ähm hm mh ja und nur gerade vielleicht brauche brauchen bekommen kriegen könnte können
    sie ist es da haben hab habe am
"""


@dataclass(frozen=True, slots=True)
class ServiceMatch:
    """A service found for a spoken request.

    Attributes:
        service: The catalog service.
        matched: The catalog name or alias that matched.
        score: 1.0 for an exact (folded) match, the difflib ratio otherwise.
    """

    service: Service
    matched: str
    score: float

    @property
    def exact(self) -> bool:
        return self.score >= 1.0


def fold(text: str) -> str:
    """Reduce a German word or phrase to a spelling-independent form.

    Lower case, ``ß`` -> ``ss``, ``ae``/``oe``/``ue`` and ``ä``/``ö``/``ü`` -> ``a``/``o``/``u``,
    other accents dropped, ``h`` after a vowel dropped ("Föhnen" = "Fönen" = "Foehnen"),
    punctuation becomes a space. Both catalog keys and spoken text are folded the same way,
    so the form only has to be consistent, not readable.

    Args:
        text: Any text.

    Returns:
        Space-separated folded words.
    """
    text = text.casefold().replace("ß", "ss")
    text = re.sub(r"([aou])e", r"\1", text)
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = re.sub(r"([aeiouy])h", r"\1", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


_FILLERS = frozenset(fold(_FILLER_WORDS).split())


def content_words(text: str, extra_fillers: frozenset[str] = frozenset()) -> list[str]:
    """The folded words of ``text`` that carry meaning (filler words dropped).

    Args:
        text: What the agent passed.
        extra_fillers: Further folded words to drop (e.g. "Friseurin" for stylist names).

    Returns:
        Folded words in spoken order.
    """
    return [w for w in fold(text).split() if w not in _FILLERS and w not in extra_fillers]


def _keys(spellings: Iterable[str]) -> list[tuple[str, str]]:
    """(folded key without spaces, original spelling) for each name or alias."""
    return [(_key(spelling), spelling) for spelling in spellings]


@functools.lru_cache(maxsize=4096)
def _key(spelling: str) -> str:
    """A catalog spelling's folded key (the same few names on every request: cached)."""
    words = content_words(spelling) or fold(spelling).split()
    return "".join(words)


def _spans(words: list[str]) -> list[str]:
    """Every run of up to _MAX_SPAN consecutive words, joined without spaces."""
    spans: list[str] = []
    for size in range(min(_MAX_SPAN, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            spans.append("".join(words[i : i + size]))
    return spans


def best_match(
    entries: Iterable[tuple[T, Iterable[str]]], words: list[str]
) -> tuple[T, str, float] | None:
    """The entry whose name or alias best matches the spoken ``words``.

    Matching is the same for every kind of name (services, stylists): exact on the folded
    form first, then difflib similarity above :data:`FUZZY_CUTOFF` (short keys exactly).
    Ties go to the longer key, then to the order of ``entries``.

    Args:
        entries: (item, its name and aliases) in catalog order.
        words: Spoken content words (:func:`content_words`).

    Returns:
        (item, the spelling that matched, score), or None when nothing is close enough.
    """
    if not words:
        return None
    spans = _spans(words)
    keyed = [(item, _keys(spellings)) for item, spellings in entries]
    # Exact first: a fuzzy ratio is 1.0 only for the same string, so when some key is
    # said exactly, no fuzzy score can rank above it and none need be computed.
    said = set(spans)
    exact = [(item, keys) for item, keys in keyed if any(k in said for k, _ in keys)]
    best: tuple[float, int, tuple[T, str, float]] | None = None
    for item, keys in exact or keyed:
        for key, spelling in keys:
            score = 1.0 if key in said else None if exact else _score(key, spans)
            if score is None:
                continue
            rank = (score, len(key))
            if best is None or rank > best[:2]:
                best = (score, len(key), (item, spelling, score))
    return best[2] if best else None


def match_service(catalog: Catalog, spoken: str) -> ServiceMatch | None:
    """The best-matching service for what the caller said, with how it matched.

    Ties go to the longer key ("Haarschnitt Herren" before "Herren"), then to catalog order.

    Args:
        catalog: The salon's catalog.
        spoken: The service as the agent passed it, filler words and all.

    Returns:
        The match, or None when nothing is close enough.
    """
    found = best_match(
        ((svc, (svc.name, *svc.aliases)) for svc in catalog.services), content_words(spoken)
    )
    return ServiceMatch(*found) if found else None


def _score(key: str, spans: list[str]) -> float | None:
    if key in spans:
        return 1.0
    if len(key) < _SHORT_KEY:
        return None
    ratio = max(difflib.SequenceMatcher(None, key, span).ratio() for span in spans)
    return ratio if ratio >= FUZZY_CUTOFF else None


def find_service(catalog: Catalog, spoken: str) -> Service | None:
    """The service the caller means, or None when it is not in the catalog.

    Args:
        catalog: The salon's catalog.
        spoken: The service as heard, e.g. "ich hätte gern einen Herrenhaarschnitt".

    Returns:
        The catalog service, or None.
    """
    match = match_service(catalog, spoken)
    return match.service if match else None


def service_names(catalog: Catalog) -> list[str]:
    """The catalog's service names in catalog order, for "we offer ..." answers."""
    return [service.name for service in catalog.services]
