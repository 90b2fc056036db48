"""Spoken German clock times: "10:45", "10 Uhr 45", "halb elf", "viertel vor elf". Pure.

Number words are turned into digits by text2num ("zehn Uhr fünfundvierzig" -> "10 Uhr 45"),
then a handful of rules read the clock phrases Germans use:

- ``halb X`` is half an hour *before* X (``halb elf`` = 10:30);
- ``viertel nach X`` = X:15, ``viertel vor X`` and ``dreiviertel X`` = (X-1):45,
  ``viertel X`` = (X-1):15 (east and south German);
- ``N nach X``, ``N vor X``, ``N vor/nach halb X``.

Day-part words shift the hour: ``nachmittags``/``abends`` add twelve hours to 1-11,
``mittags`` turns 1-3 into 13-15, ``morgens``/``vormittags``/``früh`` keep the hour.
Without one, :func:`assume_business_hours` reads 1-7 as afternoon or evening, because a
salon is not open at 3 in the morning. A two-digit hour with a leading zero ("07:30") is
an explicit 24-hour time and is kept.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from text_to_num import alpha2digit

DayPart = Literal["morning", "noon", "afternoon", "evening", "night"]


class TimeParseError(ValueError):
    """The text is not a clock time; the message can be said to the caller."""


_DAY_PARTS: tuple[tuple[str, DayPart], ...] = (
    (r"(?:am |in der )?(?:vormittags?|morgens|früh|frueh|morgen früh|morgen frueh)", "morning"),
    (r"(?:am |zu )?nachmittags?", "afternoon"),
    (r"(?:am |zu |über )?mittags?", "noon"),
    (r"(?:am )?abends?", "evening"),
    (r"(?:in der )?nachts?", "night"),
)
_FILLER = re.compile(
    r"\b(?:so|um|gegen|ca\.?|circa|zirka|etwa|ungefähr|ungefaehr|rum|herum|genau|bitte|"
    r"so gegen|so um|punkt)\b"
)
_SMALL_NUMBERS = {"ein": 1, "eins": 1, "eine": 1, "einer": 1}
_HOUR_MINUTE = re.compile(r"^(\d{1,2})\s*(?::|\.|h|uhr)\s*(\d{2})(?::\d{2})?(?: uhr)?$")
_HOUR_UHR_MINUTE = re.compile(r"^(\d{1,2}) uhr (\d{1,2})$")
_HOUR_ONLY = re.compile(r"^(\d{1,2})(?: uhr)?$")


def _normalize(text: str) -> str:
    text = text.casefold().strip()
    text = re.sub(r"[,;!?]", " ", text)
    text = re.sub(r"(\d)\s*uhr\b", r"\1 uhr", text)
    text = text.replace("drei viertel", "dreiviertel").replace("dreivirtel", "dreiviertel")
    text = alpha2digit(text, "de", threshold=0)
    text = re.sub(r"\b3 viertel\b", "dreiviertel", text)
    words = [str(_SMALL_NUMBERS.get(w, w)) for w in text.split()]
    return " ".join(words)


def _take_day_part(text: str) -> tuple[str, DayPart | None]:
    for pattern, part in _DAY_PARTS:
        found = re.search(rf"\b{pattern}\b", text)
        if found:
            return (text[: found.start()] + " " + text[found.end() :]).strip(), part
    return text, None


def _clock_hour(h: int) -> int:
    """Hour words on the 12-hour dial: "halb eins" is 12:30, not 0:30."""
    return 12 if h % 12 == 0 else h % 12


def _dial(text: str) -> tuple[int, int] | None:
    """Read 'halb/viertel/N nach/vor X' phrases into (hour, minute) on the 12-hour dial."""
    rules: tuple[tuple[str, int, int], ...] = (
        # pattern, hour offset, minute (minute -1: taken from the first group)
        (r"^halb (\d{1,2})$", -1, 30),
        (r"^viertel nach (\d{1,2})$", 0, 15),
        (r"^viertel vor (\d{1,2})$", -1, 45),
        (r"^dreiviertel (\d{1,2})$", -1, 45),
        (r"^viertel (\d{1,2})$", -1, 15),
    )
    for pattern, offset, minute in rules:
        m = re.match(pattern, text)
        if m:
            return _clock_hour(int(m.group(1)) + offset), minute
    m = re.match(r"^(\d{1,2}) (?:minuten )?(nach|vor) (halb )?(\d{1,2})$", text)
    if not m:
        return None
    n, direction, half, hour = int(m.group(1)), m.group(2), m.group(3), int(m.group(4))
    if not 0 < n < 30 or hour > 12:
        return None
    base = (hour - 1) * 60 + 30 if half else hour * 60
    total = base + n if direction == "nach" else base - n
    return _clock_hour(total // 60), total % 60


def assume_business_hours(t: time) -> time:
    """Read an unqualified early hour as afternoon: a salon is not open at 3 at night.

    Hours 1 to 7 become 13 to 19 ("um drei" is 15:00, "halb acht" is 19:30); every other
    time is returned unchanged. :func:`parse_time` applies this only when the caller named no
    day part and did not write an explicit 24-hour time with a leading zero.

    Args:
        t: A clock time as heard.

    Returns:
        The time a salon caller means.
    """
    if 1 <= t.hour <= 7:
        return t.replace(hour=t.hour + 12)
    return t


def _shift(hour: int, part: DayPart | None) -> int:
    if part in ("afternoon", "evening") and 1 <= hour <= 11:
        return hour + 12
    if part == "noon" and 1 <= hour <= 3:
        return hour + 12
    if part == "night" and hour == 12:
        return 0
    return hour


def parse_time(text: str) -> time:
    """Parse a spoken or written German clock time.

    Args:
        text: E.g. "10:45", "10 Uhr 45", "halb elf", "viertel nach zehn", "14h30",
            "zehn Uhr dreißig", "um 3 Uhr nachmittags", "halb sechs abends", "mittags".

    Returns:
        The time of day (naive).

    Raises:
        TimeParseError: The text holds no recognisable time, or an impossible one.
    """
    original = text.strip()
    if not original:
        raise TimeParseError("Ich habe keine Uhrzeit verstanden.")
    cleaned, part = _take_day_part(_normalize(original))
    cleaned = " ".join(_FILLER.sub(" ", cleaned).split())
    explicit_24h = bool(re.match(r"^0\d", cleaned))
    if not cleaned and part == "noon":
        return time(12, 0)
    hour_minute = _read(cleaned)
    if hour_minute is None:
        raise TimeParseError(f"„{original}“ habe ich nicht als Uhrzeit verstanden.")
    hour, minute = hour_minute
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise TimeParseError(f"„{original}“ ist keine gültige Uhrzeit.")
    result = time(_shift(hour, part), minute)
    if part is None and not explicit_24h:
        result = assume_business_hours(result)
    return result


def _read(text: str) -> tuple[int, int] | None:
    for pattern in (_HOUR_MINUTE, _HOUR_UHR_MINUTE):
        m = pattern.match(text)
        if m:
            return int(m.group(1)), int(m.group(2))
    m = _HOUR_ONLY.match(text)
    if m:
        return int(m.group(1)), 0
    return _dial(text)
