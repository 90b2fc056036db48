"""Spoken German dates relative to "now" in the salon's zone, and date plus time. Pure.

Deterministic rules read the forms callers use (below); :mod:`dateparser` (German, future
dates preferred, day and month required) is only a fallback for anything else.

Which day a weekday means:

- ``Mittwoch`` / ``am Mittwoch`` / ``nächsten`` / ``kommenden Mittwoch``: the next Wednesday
  *after* today. Said on a Wednesday it means the one in seven days; a caller who means
  today says "heute".
- ``diesen Mittwoch`` / ``Mittwoch diese Woche``: the next Wednesday from today on,
  today included.
- ``übernächsten Mittwoch``: one week after ``nächsten Mittwoch``;
  ``Mittwoch nächste Woche``: the Wednesday of next calendar week (Monday to Sunday).

A day and month without a year that has already passed this year means next year
("3.1." said in November is next January). A date with an explicit year is returned as it
is, even when in the past: the caller gets an ``in_the_past`` answer rather than a date
they did not say.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser
from text_to_num import alpha2digit

from domain.german_times import TimeParseError, parse_time

__all__ = [
    "DateParseError",
    "TimeParseError",
    "parse_date",
    "parse_datetime",
    "parse_time",
    "split_date_time",
]

WEEKDAYS = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag")
_WEEKDAY_ALIASES = {"sonnabend": 5, "mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6}
MONTHS = {
    "januar": 1, "jan": 1, "jänner": 1, "februar": 2, "feb": 2, "märz": 3, "mär": 3, "maerz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11,
    "nov": 11, "dezember": 12, "dez": 12,
}  # fmt: skip
_ONE = {"einen": 1, "einem": 1, "einer": 1, "eine": 1, "ein": 1}


class DateParseError(ValueError):
    """The text is not a date; the message can be said to the caller."""


def _normalize(text: str) -> str:
    text = text.casefold().strip()
    text = re.sub(r"\bue", "ü", text)  # "uebermorgen", "uebernaechsten"
    text = text.replace("naechst", "nächst").replace("maerz", "märz")
    text = re.sub(r"[,;!?]", " ", text)
    text = alpha2digit(text, "de", threshold=0)
    text = re.sub(r"(\d)\s*(?:te[nrs]?|ten)\b", r"\1.", text)  # "26ten" -> "26."
    return " ".join(text.split())


def _weekday_index(word: str) -> int | None:
    word = word.rstrip(".")
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    return _WEEKDAY_ALIASES.get(word)


def _next_weekday(today: date, weekday: int, *, include_today: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _weekday_date(text: str, today: date) -> date | None:
    m = re.fullmatch(
        r"(?:am |den |an dem )?(?P<qual>(?:über)?nächste[nmr]?|kommende[nmr]?|diese[nmr]?)?\s*"
        r"(?P<day>[a-zä]+)\.?(?P<week> (?:in der |)(?:diese|nächste|kommende) woche)?",
        text,
    )
    if not m:
        return None
    weekday = _weekday_index(m.group("day"))
    if weekday is None:
        return None
    qual, week = m.group("qual") or "", m.group("week") or ""
    if "diese" in week or qual.startswith("diese"):
        return _next_weekday(today, weekday, include_today=True)
    if week:  # "Mittwoch nächste Woche": that weekday in next calendar week
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=weekday)
    found = _next_weekday(today, weekday, include_today=False)
    return found + timedelta(days=7) if qual.startswith("über") else found


def _relative_date(text: str, today: date) -> date | None:
    words = {"heute": 0, "morgen": 1, "übermorgen": 2}
    if text in words:
        return today + timedelta(days=words[text])
    m = re.fullmatch(r"(?:heute )?in (\d+|einer|einem|eine|einen) (tag|tagen|woche|wochen)", text)
    if m:
        count = _ONE.get(m.group(1)) or int(m.group(1))
        return today + timedelta(days=count * (7 if m.group(2).startswith("woche") else 1))
    return None


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = int(raw)
    return 2000 + value if len(raw) == 2 else value


def _calendar_date(text: str, today: date) -> date | None:
    text = re.sub(r"^(?:am|den|der|dem|zum)\s+", "", text)
    month_names = "|".join(sorted(MONTHS, key=len, reverse=True))
    patterns = (
        r"(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.?(?:\s?(?P<y>\d{4}|\d{2}))?",
        rf"(?P<d>\d{{1,2}})\.?\s?(?P<name>{month_names})\.?(?:\s(?P<y>\d{{4}}))?",
        r"(?P<d>\d{1,2})\.",
    )
    for pattern in patterns:
        m = re.fullmatch(pattern, text)
        if not m:
            continue
        groups = m.groupdict()
        day = int(groups["d"])
        if groups.get("m"):
            month = int(groups["m"])
        elif groups.get("name"):
            month = MONTHS[groups["name"]]
        else:  # "am 3.": this month, or next month when the 3rd has passed
            month = today.month if day >= today.day else today.month % 12 + 1
        year = _year(groups.get("y"))
        return _build_date(day, month, year, today, original=text)
    return None


def _named_calendar_date(text: str, today: date) -> date | None:
    """ "Donnerstag, den 26. November": the date decides, a wrong weekday is an error."""
    m = re.fullmatch(r"(?:am )?([a-zä]+)\.? (?:den )?(\d.*)", text)
    if not m or _weekday_index(m.group(1)) is None:
        return None
    found = _calendar_date(m.group(2), today)
    if found is None:
        return None
    said = _weekday_index(m.group(1))
    if found.weekday() != said:
        raise DateParseError(
            f"Der {found.day}.{found.month}. ist ein {WEEKDAYS[found.weekday()].capitalize()}, "
            f"kein {WEEKDAYS[said or 0].capitalize()}. Welchen Tag meinen Sie?"
        )
    return found


def _build_date(day: int, month: int, year: int | None, today: date, *, original: str) -> date:
    candidates = [year] if year is not None else [today.year, today.year + 1]
    for y in candidates:
        try:
            found = date(y, month, day)
        except ValueError:
            continue
        if year is not None or found >= today:
            return found
    raise DateParseError(f"Den {original} gibt es im Kalender nicht.")


def _dateparser_date(text: str, now_local: datetime) -> date | None:
    found = dateparser.parse(
        text,
        languages=["de"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now_local.replace(tzinfo=None),
            "REQUIRE_PARTS": ["day", "month"],
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return found.date() if found else None


def parse_date(text: str, *, now: datetime, zone: ZoneInfo) -> date:
    """Parse a spoken German date relative to ``now`` in ``zone``.

    Args:
        text: E.g. "morgen", "übermorgen", "am Mittwoch", "nächsten Dienstag", "26.11.",
            "26.11.2026", "26. November", "2026-11-26", "in zwei Tagen".
        now: The current moment (aware).
        zone: The salon's time zone; "today" is today there.

    Returns:
        The calendar day meant.

    Raises:
        DateParseError: No date recognised, or an impossible one such as "31.02.".
    """
    original = text.strip()
    if not original:
        raise DateParseError("Ich habe kein Datum verstanden.")
    now_local = now.astimezone(zone)
    today = now_local.date()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", original):
        try:
            return date.fromisoformat(original)
        except ValueError:
            raise DateParseError(f"Den {original} gibt es im Kalender nicht.") from None
    cleaned = _normalize(original)
    if re.fullmatch(r"(?:die |in der )?(?:über)?(?:nächste|kommende|diese)n? woche", cleaned):
        raise DateParseError("An welchem Tag in dieser Woche passt es Ihnen?"
                             if "diese" in cleaned else
                             "An welchem Tag in der Woche passt es Ihnen?")  # fmt: skip
    named = _named_calendar_date(cleaned, today)
    if named is not None:
        return named
    for rule in (_relative_date, _weekday_date, _calendar_date):
        found = rule(cleaned, today)
        if found is not None:
            return found
    found = _dateparser_date(cleaned, now_local)
    if found is None:
        raise DateParseError(f"„{original}“ habe ich nicht als Datum verstanden.")
    return found


_TIME_START = re.compile(
    r"\b(?:um|gegen|so gegen|halb|viertel|dreiviertel|\d{1,2}[:h]\d{2}|\d{1,2} uhr|"
    r"\d{1,2}\s(?:vor|nach)\b|mittags?|nachmittags?|vormittags?|abends?|morgens|früh)"
)


def split_date_time(text: str) -> tuple[str, str]:
    """Split "morgen um halb elf" into its date part and its time part.

    "heute morgen" and "morgen früh" are day parts, not tomorrow-plus-nothing: they become
    a date and a morning qualifier for the time.

    Args:
        text: A date followed by a time, as one phrase.

    Returns:
        (date text, time text); the time text is empty when there is none.
    """
    lowered = alpha2digit(" ".join(text.casefold().replace(",", " ").split()), "de", threshold=0)
    lowered = re.sub(r"\bheute (?:morgen|früh|frueh)\b", "heute morgens", lowered)
    lowered = re.sub(r"\bmorgen (?:früh|frueh)\b", "morgen morgens", lowered)
    m = _TIME_START.search(lowered)
    if not m:
        return lowered, ""
    date_part = lowered[: m.start()].strip()
    time_part = lowered[m.start() :].strip()
    # "Mittwoch nachmittags um 3" keeps the day part with the time, the date before it.
    return date_part, time_part


def parse_datetime(date_text: str, time_text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """Parse a spoken date and time into an aware datetime in ``zone``.

    An ISO datetime in ``date_text`` is taken as it is (a naive one is read in ``zone``).
    With an empty ``time_text`` the date text may carry the time too ("morgen um halb elf").
    A wall-clock time that does not exist on a spring-forward day is moved forward by the
    gap, as the clocks are.

    Args:
        date_text: The date, or date and time together.
        time_text: The time, or "".
        now: The current moment (aware).
        zone: The salon's time zone.

    Returns:
        The moment meant, aware, in ``zone``.

    Raises:
        DateParseError: The date part is not a date.
        TimeParseError: The time part is missing or not a time.
    """
    stripped = date_text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", stripped):
        try:
            moment = datetime.fromisoformat(stripped)
        except ValueError:
            raise DateParseError(f"„{stripped}“ habe ich nicht als Datum verstanden.") from None
        if moment.tzinfo is None:
            return _in_zone(moment.date(), moment.time(), zone)
        return moment.astimezone(zone)
    if not time_text.strip():
        date_text, time_text = split_date_time(date_text)
        if not time_text:
            raise TimeParseError("Zu welcher Uhrzeit möchten Sie kommen?")
    day = parse_date(date_text, now=now, zone=zone)
    return _in_zone(day, parse_time(time_text), zone)


def _in_zone(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Attach ``zone``; a time inside the spring-forward gap comes out shifted past it."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)
