"""Find the stylist a caller asks for, from what the agent heard. Pure.

Callers say "bei Anna", "die Anni", "zu Frau Carla" or, through a speech recogniser,
"Karla". Names and aliases are matched exactly as services are
(:func:`domain.service_lookup.best_match`: case, accents, filler words, short names exactly,
longer ones also with a slip of the recogniser). "egal", "beliebig", "wer frei ist" or
nothing at all means any stylist who does the service.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.catalog import Catalog, Stylist
from domain.service_lookup import best_match, content_words, fold

# Words around a name that say nothing about who ("am liebsten zu Frau Anna").
_STYLIST_FILLERS = frozenset(
    fold(
        """
    frau herr herrn friseur friseurin friseure frisör frisörin friseuse stylist stylistin
    kollege kollegin zu von mit beim liebsten am wieder immer wie letztes letzte mal gleichen
    selben person
    """
    ).split()
)

# Words that mean "whoever is free" (folded).
_ANY_WORDS = frozenset(
    fold(
        """
    egal beliebig beliebige beliebiger irgendwer irgendwen irgendjemand irgendjemanden jemand
    jeder jede jeden wer frei gleich keine keinen kein präferenz vorliebe wunsch wurscht
    wumpe wurst any anyone whoever
    """
    ).split()
)


@dataclass(frozen=True, slots=True)
class StylistWish:
    """What the caller asked for.

    Attributes:
        stylist: The stylist asked for; None for any stylist who does the service.
        unknown: A name was said, but nobody at the salon is called that.
    """

    stylist: Stylist | None = None
    unknown: bool = False

    @property
    def key(self) -> str | None:
        return self.stylist.key if self.stylist is not None else None


def find_stylist(catalog: Catalog, spoken: str) -> Stylist | None:
    """The stylist whose name or alias the caller said, or None.

    Args:
        catalog: The salon's catalog.
        spoken: The stylist as the agent passed it, e.g. "bei der Anni".

    Returns:
        The catalog stylist, or None when no name is close enough.
    """
    words = content_words(spoken, _STYLIST_FILLERS)
    found = best_match(((s, (s.name, *s.aliases)) for s in catalog.stylists), words)
    return found[0] if found else None


def understand_stylist(catalog: Catalog, spoken: str | None) -> StylistWish:
    """Who the caller wants: a stylist, anyone (nothing said, "egal", "beliebig"), or a
    name nobody here has.

    A name wins over words of indifference ("egal, gern die Anna" is Anna).

    Args:
        catalog: The salon's catalog.
        spoken: The ``stylist`` argument as the agent passed it, or None.

    Returns:
        The wish.
    """
    if spoken is None:
        return StylistWish()
    found = find_stylist(catalog, spoken)
    if found is not None:
        return StylistWish(found)
    words = content_words(spoken, _STYLIST_FILLERS)
    if not words or any(w in _ANY_WORDS for w in words):
        return StylistWish()
    return StylistWish(unknown=True)


def stylist_names(catalog: Catalog, keys: tuple[str, ...] | None = None) -> list[str]:
    """Names of the stylists (all, or those of ``keys``) in catalog order, for "bei uns
    arbeiten ..." answers."""
    return [s.name for s in catalog.stylists if keys is None or s.key in keys]
