"""Understand a customer's name as the agent heard it, spelled or not. Pure.

Callers spell German names in several ways, often mixed with the name itself:
letters ("S C H M I D T", "es ce ha ..."), the traditional spelling alphabet
("Siegfried, Cäsar, Heinrich, ..."), the 2022 DIN 5009 city alphabet ("Salzwedel, Chemnitz,
Hamburg, ..."), "S wie Siegfried", or a correction of one part ("Schmidt mit d t",
"Maier mit a i", "Strauß mit Doppel-S", "Müller Lüdenscheidt mit Bindestrich").
"Herr"/"Frau" and "Doktor"/"Professor" are kept apart from the name; casing follows German
conventions ("VON DER LEYEN" -> "von der Leyen").

How the words are read:

- A run of at least two spelled letters (three when they are all alphabet words, since
  "Otto" or "Paula" are also first names) is a spelled word. If it spells, roughly, the
  word just before it, it replaces that word ("Meier, M A I E R" -> "Maier"); otherwise it is
  a word of its own.
- "mit" followed by letters corrects the word before it: the letters are put in place of
  the spelling variant they stand for (dt/tt/t, ai/ei/ay/ey, ü/ue/u, ß/ss, ph/f, ...).

What is not text is not read at all (:func:`visible_text`): control characters (NUL, tab,
newline, ...) separate words, invisible characters are removed (Unicode categories Cf, Co,
Cs and Cn: bidi overrides and isolates U+202A-U+202E, U+2066-U+2069, marks U+200E/U+200F
and U+061C, zero-width spaces and joiners, BOMs, tags, private use, lone surrogates,
unassigned code points), so "Max\u0000Muster" is "Max Muster" and a name can neither turn
itself around on a screen nor break the database. A name is at most
:data:`NAME_MAX_LENGTH` characters (cut at a word) and has at least one letter.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Salutation = Literal["Herr", "Frau"]

# Letter names as spoken ("es", "zett") and the letters themselves.
LETTER_NAMES: dict[str, str] = {
    **{c: c for c in "abcdefghijklmnopqrstuvwxyzäöüß"},
    "be": "b", "ce": "c", "zeh": "c", "tse": "c", "de": "d", "dee": "d", "eh": "e", "ef": "f",
    "eff": "f", "ge": "g", "geh": "g", "ha": "h", "ih": "i", "jot": "j", "ka": "k", "el": "l",
    "ell": "l", "em": "m", "emm": "m", "en": "n", "pe": "p", "peh": "p", "ku": "q", "kuh": "q",
    "er": "r", "err": "r", "es": "s", "ess": "s", "te": "t", "teh": "t", "uh": "u", "vau": "v",
    "fau": "v", "we": "w", "weh": "w", "ix": "x", "ypsilon": "y", "üpsilon": "y", "zett": "z",
    "zet": "z", "eszett": "ß", "esszett": "ß",
}  # fmt: skip
# DIN 5009: the traditional words (1950-2022, with common older variants) ...
TRADITIONAL_ALPHABET: dict[str, str] = {
    "anton": "a", "ärger": "ä", "berta": "b", "bertha": "b", "cäsar": "c", "charlotte": "ch",
    "dora": "d", "emil": "e", "friedrich": "f", "gustav": "g", "heinrich": "h", "ida": "i",
    "julius": "j", "kaufmann": "k", "konrad": "k", "ludwig": "l", "martha": "m",
    "marta": "m", "nordpol": "n", "otto": "o", "ökonom": "ö", "paula": "p", "quelle": "q",
    "richard": "r", "samuel": "s", "siegfried": "s", "schule": "sch", "theodor": "t",
    "ulrich": "u", "übermut": "ü", "übel": "ü", "viktor": "v", "wilhelm": "w",
    "xanthippe": "x", "ypsilon": "y", "zacharias": "z", "zeppelin": "z", "eszett": "ß",
}  # fmt: skip
# ... and the 2022 city alphabet ("Umlaut Aachen" is Ä).
CITY_ALPHABET: dict[str, str] = {
    "aachen": "a", "berlin": "b", "chemnitz": "c", "düsseldorf": "d", "essen": "e",
    "frankfurt": "f", "goslar": "g", "hamburg": "h", "ingelheim": "i", "jena": "j",
    "köln": "k", "leipzig": "l", "münchen": "m", "nürnberg": "n", "offenbach": "o",
    "potsdam": "p", "quickborn": "q", "rostock": "r", "salzwedel": "s", "tübingen": "t",
    "unna": "u", "völklingen": "v", "wuppertal": "w", "xanten": "x", "zwickau": "z",
}  # fmt: skip
UMLAUTS = {"a": "ä", "o": "ö", "u": "ü"}
# The longest name booked (Cal.com and the appointment record); longer is cut at a word.
NAME_MAX_LENGTH = 100
# What is read of a heard name at most: enough to spell a long double name word by word.
SPOKEN_MAX_LENGTH = 1000
# Unicode categories that are never visible text: format (bidi controls, zero-width
# characters), private use, surrogates, unassigned. Control characters (Cc) and line or
# paragraph separators become spaces instead: they stood between words.
_INVISIBLE = frozenset({"Cf", "Co", "Cs", "Cn"})
_SEPARATING = frozenset({"Cc", "Zl", "Zp"})
# Letters by category that render as nothing (Hangul fillers), a known way to fake a name.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def _with_ascii_umlauts(table: dict[str, str]) -> dict[str, str]:
    out = dict(table)
    for word, letter in table.items():
        out.setdefault(word.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue"), letter)
    return out


CODE_WORDS = _with_ascii_umlauts({**TRADITIONAL_ALPHABET, **CITY_ALPHABET, "caesar": "c"})
_CITY_FOR = {letter: word.capitalize() for word, letter in CITY_ALPHABET.items()}
_CITY_FOR |= {u: f"Umlaut {_CITY_FOR[b]}" for b, u in UMLAUTS.items()} | {"ß": "Eszett"}
_CITY_FOR["y"] = "Ypsilon"

_INTRO = re.compile(
    r"^(?:(?:also|ja|ähm?|äh)\s+)*(?:mein name ist|mein name lautet|ich heiße|ich heisse|"
    r"ich bin|hier ist|hier spricht|auf den namen|der name ist|name)\s+",
    re.IGNORECASE,
)
_SALUTATIONS: dict[str, Salutation] = {"herr": "Herr", "herrn": "Herr", "frau": "Frau"}
_TITLES = {"dr": "Dr.", "doktor": "Dr.", "doctor": "Dr.", "prof": "Prof.", "professor": "Prof."}
_PARTICLES = frozenset(
    "von van der den de zu vom zum zur di da du la le ten ter dos del dem".split()
)
# Interchangeable spellings a "mit ..." correction picks from, longest first.
_VARIANTS = (
    ("dt", "tt", "th", "t", "d"),
    ("ai", "ei", "ay", "ey"),
    ("ä", "ae", "e"),
    ("ö", "oe", "o"),
    ("ü", "ue", "u", "y"),
    ("y", "i"),
    ("ß", "ss", "s"),
    ("ph", "f", "v"),
    ("ck", "kk", "k", "c"),
    ("ie", "i"),
    ("tz", "z", "ts"),
    ("chs", "ks", "x"),
    ("ll", "l"),
    ("mm", "m"),
    ("nn", "n"),
    ("rr", "r"),
)


@dataclass(frozen=True, slots=True)
class NameResult:
    """A name as understood, ready to be repeated once for confirmation.

    Attributes:
        name: The name with German casing, without salutation or title.
        spelled: True when any part came from spelling.
        salutation: "Herr" or "Frau" when the caller said it.
        title: "Dr.", "Prof." or "Prof. Dr." when the caller said it.
    """

    name: str
    spelled: bool = False
    salutation: Salutation | None = None
    title: str | None = None

    @property
    def addressed(self) -> str:
        """How the agent addresses the caller: "Herr Dr. Schmidt", or the name."""
        if self.salutation is None:
            return self.name
        surname = self.name.split()[-1] if self.name else ""
        return " ".join(p for p in (self.salutation, self.title, surname) if p)

    @property
    def spelling(self) -> str:
        """The name letter by letter, for the agent to read back."""
        return spoken_spelling(self.name)


@dataclass
class _Word:
    text: str
    spelled: bool = False


def _unit(tokens: list[str], i: int) -> tuple[str, int, bool] | None:
    """The spelled letter(s) at tokens[i]: (letters, tokens used, is an alphabet word)."""
    tok = tokens[i].casefold().strip(".")
    nxt = tokens[i + 1].casefold().strip(".") if i + 1 < len(tokens) else ""
    after = tokens[i + 2].casefold().strip(".") if i + 2 < len(tokens) else ""
    if tok == "umlaut" and nxt in CODE_WORDS and CODE_WORDS[nxt] in UMLAUTS:
        return UMLAUTS[CODE_WORDS[nxt]], 2, True
    if tok in ("doppel", "doppeltes", "doppel-", "zwei") and nxt in LETTER_NAMES:
        return LETTER_NAMES[nxt] * 2, 2, False
    if m := re.fullmatch(r"doppel-(\w+)", tok):
        letter = LETTER_NAMES.get(m.group(1))
        return (letter * 2, 1, False) if letter else None
    if tok in ("scharfes", "scharfem") and nxt == "s":
        return "ß", 2, False
    if tok == "bindestrich":
        return "-", 1, False
    if tok in LETTER_NAMES:
        letter = LETTER_NAMES[tok]
        if nxt == "umlaut" and letter in UMLAUTS:
            return UMLAUTS[letter], 2, False
        if nxt == "wie" and after in CODE_WORDS:  # "S wie Siegfried"
            return CODE_WORDS[after], 3, True
        return letter, 1, False
    if tok in CODE_WORDS:
        return CODE_WORDS[tok], 1, True
    return None


def _read_words(tokens: list[str]) -> tuple[list[_Word], list[str]]:
    """Split tokens into name words and the 'mit ...' corrections that follow them."""
    words: list[_Word] = []
    corrections: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i].casefold() == "mit":
            letters, j = _run(tokens, i + 1)
            if not letters and j < len(tokens) and re.fullmatch(r"[a-zäöü]{2,3}", tokens[j]):
                letters, j = [tokens[j]], j + 1  # "mit ph", "mit dt" said as one word
            if letters:
                corrections.append("".join(letters))
            i = j
            continue
        letters, j = _run(tokens, i)
        units = len(letters)
        if units >= 3 or (units == 2 and "-" not in letters and _has_single(tokens, i, j)):
            _add_spelled(words, "".join(letters))
            i = j
        elif tokens[i].casefold() == "bindestrich":
            words.append(_Word("-"))
            i += 1
        else:
            words.append(_Word(tokens[i]))
            i += 1
    return words, corrections


def _has_single(tokens: list[str], start: int, end: int) -> bool:
    """A two-unit run counts as spelling only if a bare letter or letter name is in it."""
    return any(tokens[k].casefold().strip(".") in LETTER_NAMES for k in range(start, end))


def _run(tokens: list[str], i: int) -> tuple[list[str], int]:
    letters: list[str] = []
    while i < len(tokens):
        found = _unit(tokens, i)
        if found is None:
            break
        letters.append(found[0])
        i += found[1]
    return letters, i


def _add_spelled(words: list[_Word], spelled: str) -> None:
    """A spelled word replaces the heard word it spells, or is a new word."""
    parts = [p for p in spelled.split("-") if p]
    candidate = "-".join(parts)
    if words and not words[-1].spelled:
        heard = words[-1].text.casefold()
        if difflib.SequenceMatcher(None, heard, candidate.casefold()).ratio() >= 0.6:
            words[-1] = _Word(candidate, spelled=True)
            return
    words.append(_Word(candidate, spelled=True))


def _correct(word: str, fragment: str) -> str:
    """Put the spelled ``fragment`` in place of the variant of it found in ``word``."""
    lowered = word.lower()  # not casefold: that turns "ß" into "ss"
    if fragment == "-":
        return word
    if fragment in lowered:
        return word
    for group in _VARIANTS:
        if fragment not in group:
            continue
        for variant in sorted((v for v in group if v != fragment), key=len, reverse=True):
            at = lowered.rfind(variant)
            if at >= 0:
                return lowered[:at] + fragment + lowered[at + len(variant) :]
    return word


def _case(word: str, *, first: bool) -> str:
    """German name casing for words heard all lower or all upper; mixed case is kept."""
    if word != word.lower() and word != word.upper():
        return word
    lowered = word.lower()
    if lowered in _PARTICLES and not first:
        return lowered
    return "-".join(
        "'".join(p[:1].upper() + p[1:] for p in part.split("'")) for part in lowered.split("-")
    )


def spoken_spelling(name: str, *, alphabet: Literal["letters", "cities"] = "letters") -> str:
    """A name letter by letter, for the agent to read back before booking.

    Args:
        name: The name.
        alphabet: "letters" ("M, Ü, L, L, E, R") or "cities", the 2022 DIN 5009 words
            ("M wie München, Ü wie Umlaut Unna, ...").

    Returns:
        The spelling; words are separated by " – ", a hyphen is said as "Bindestrich".
    """
    spelled_words = []
    for word in name.split():
        letters = []
        for char in word:
            if char == "-":
                letters.append("Bindestrich")
            elif char == "ß":
                letters.append("Eszett")
            elif alphabet == "cities" and char.casefold() in _CITY_FOR:
                letters.append(f"{char.upper()} wie {_CITY_FOR[char.casefold()]}")
            else:
                letters.append(char.upper())
        spelled_words.append(", ".join(letters))
    return " – ".join(spelled_words)


def visible_text(text: str, *, max_length: int = SPOKEN_MAX_LENGTH) -> str:
    """The text as a person would read it, safe to store and to show.

    Args:
        text: Any text, e.g. a name as the agent passed it.
        max_length: How much of ``text`` is read at most.

    Returns:
        ``text`` with control characters (category Cc, and line/paragraph separators)
        turned into spaces, invisible characters (Cf, Co, Cs, Cn) removed, whitespace runs
        folded to one space, trimmed, in Unicode NFC ("Mu\u0308ller" -> "Müller").
    """
    kept = []
    for char in text[:max_length]:
        category = unicodedata.category(char)
        if category in _SEPARATING:
            kept.append(" ")
        elif category not in _INVISIBLE and char not in _BLANK_LETTERS:
            kept.append(char)
    return unicodedata.normalize("NFC", " ".join("".join(kept).split()))


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(char).startswith("L") for char in text)


def _bounded(name: str, limit: int = NAME_MAX_LENGTH) -> str:
    """``name`` cut to ``limit`` characters at the last word that fits."""
    if len(name) <= limit:
        return name
    head = name[: limit + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else name[:limit]
    return cut[:limit].rstrip(" -")


def understand_name(spoken: str) -> NameResult:
    """Turn a heard (and maybe spelled) name into the name to book under.

    Args:
        spoken: The name as the agent passed it, e.g. "Herr Schmidt mit d t",
            "Siegfried Cäsar Heinrich Martha Ida Dora Theodor", "VON DER LEYEN".

    Returns:
        The understood name with salutation and title apart, from visible characters only
        (:func:`visible_text`), at most :data:`NAME_MAX_LENGTH` characters. An empty name
        means nothing usable was heard: nothing, or nothing with a letter in it.
    """
    text = _INTRO.sub("", visible_text(spoken))
    tokens = [t for t in re.split(r"[\s,;:/]+|(?<=\w)\.(?=\s|$)", text) if t]
    salutation: Salutation | None = None
    titles: list[str] = []
    while tokens:
        key = tokens[0].casefold().rstrip(".")
        if key in _SALUTATIONS and salutation is None:
            salutation = _SALUTATIONS[key]
        elif key in _TITLES and _TITLES[key] not in titles:
            titles.append(_TITLES[key])
        else:
            break
        tokens.pop(0)
    words, corrections = _read_words(tokens)
    for fragment in corrections:
        if fragment == "-" and len(words) >= 2:
            last = words.pop()
            words[-1] = _Word(f"{words[-1].text}-{last.text}", words[-1].spelled or last.spelled)
        elif words:
            words[-1] = _Word(_correct(words[-1].text, fragment), spelled=True)
    joined = " ".join(w.text for w in words).replace(" - ", "-")
    parts = joined.split()
    name = " ".join(_case(p, first=i == 0 and len(parts) == 1) for i, p in enumerate(parts))
    name = _bounded(name) if _has_letter(name) else ""
    return NameResult(
        name=name,
        spelled=any(w.spelled for w in words),
        salutation=salutation,
        title=" ".join(titles) or None,
    )
