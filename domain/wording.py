"""How dates, times, lists and services are said in German. Pure.

The agent reads these words aloud, so they follow spoken German, not ISO:
"am Donnerstag, den 26. November, um 10:45 Uhr", "10 Uhr" for a full hour. With ``now``,
today and tomorrow are said as "heute um 10:45 Uhr" and
"morgen, Donnerstag, den 26. November, um 10:45 Uhr" (tomorrow keeps its date, so the
caller hears it once more before confirming). The year is only said when the date is in the
past or about a year away. The sentences built from these live in :mod:`domain.messages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTH_NAMES = (
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
)  # fmt: skip
_SAY_YEAR_AFTER = timedelta(days=300)

Gender = Literal["m", "f", "n"]


def clock(t: time) -> str:
    """A clock time as written for speech: "10 Uhr", "10:45 Uhr", "9:05 Uhr"."""
    return f"{t.hour} Uhr" if t.minute == 0 else f"{t.hour}:{t.minute:02d} Uhr"


def spoken_time(dt: datetime, zone: ZoneInfo | None = None) -> str:
    """The time of ``dt`` as spoken: "10:45 Uhr", or "10 Uhr" for a full hour.

    Args:
        dt: The moment; converted to ``zone`` first when one is given.
        zone: The salon's time zone, or None to use ``dt`` as it is.

    Returns:
        The spoken time.
    """
    local = dt.astimezone(zone) if zone is not None else dt
    return clock(local.time())


def spoken_date(day: date, *, today: date | None = None) -> str:
    """A day as spoken after "am": "Donnerstag, den 26. November".

    Args:
        day: The calendar day.
        today: The salon's today; the year is added when ``day`` is in the past or about a
            year ahead of it.

    Returns:
        Weekday, "den", day and month (and year when needed).
    """
    text = f"{WEEKDAY_NAMES[day.weekday()]}, den {day.day}. {MONTH_NAMES[day.month - 1]}"
    if today is not None and (day < today or day - today > _SAY_YEAR_AFTER):
        text += f" {day.year}"
    return text


def spoken_day(day: date, *, today: date | None = None) -> str:
    """The day as an adverbial: "heute", "morgen, Donnerstag, den 26. November", or
    "am Donnerstag, den 26. November"."""
    if today is not None and day == today:
        return "heute"
    if today is not None and day == today + timedelta(days=1):
        return f"morgen, {spoken_date(day, today=today)},"
    return f"am {spoken_date(day, today=today)},"


def spoken_datetime(dt: datetime, zone: ZoneInfo, *, now: datetime | None = None) -> str:
    """A moment as spoken in a sentence: "am Donnerstag, den 26. November, um 10:45 Uhr".

    Args:
        dt: The moment (aware).
        zone: The salon's time zone.
        now: The current moment; enables "heute um ..." and "morgen, ...".

    Returns:
        The phrase, without a trailing comma, ready to stand after a verb.
    """
    local = dt.astimezone(zone)
    today = now.astimezone(zone).date() if now is not None else None
    return f"{spoken_day(local.date(), today=today)} um {clock(local.time())}"


def alternative_label(dt: datetime, zone: ZoneInfo) -> str:
    """The short label of an alternative: "Mittwoch, 26. November, 11:30 Uhr".

    Args:
        dt: The alternative's start (aware).
        zone: The salon's time zone.

    Returns:
        Weekday, day and month, time.
    """
    local = dt.astimezone(zone)
    day = local.date()
    return (
        f"{WEEKDAY_NAMES[day.weekday()]}, {day.day}. {MONTH_NAMES[day.month - 1]}, "
        f"{clock(local.time())}"
    )


def short_label(dt: datetime, zone: ZoneInfo) -> str:
    """The shortest label of a moment, for ops screens: "Do 10:45".

    Args:
        dt: The moment (aware).
        zone: The salon's time zone.

    Returns:
        Two-letter weekday and the time in 24-hour form.
    """
    local = dt.astimezone(zone)
    return f"{WEEKDAY_NAMES[local.weekday()][:2]} {local:%H:%M}"


def join_words(items: Sequence[str], conjunction: str = "und") -> str:
    """Join a list the German way: "A", "A und B", "A, B und C".

    Args:
        items: The parts, in order.
        conjunction: "und" or "oder".

    Returns:
        The joined phrase ("" for no items).
    """
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def spoken_alternatives(
    starts: Sequence[datetime],
    zone: ZoneInfo,
    *,
    now: datetime | None = None,
    stylists: Sequence[str | None] | None = None,
) -> str:
    """Alternatives grouped by day: "am Mittwoch, den 26. November, um 11:30 Uhr oder
    12 Uhr oder am Freitag, den 28. November, um 9 Uhr".

    With ``stylists`` (one name per start, None for none) the names are said too: once in
    front when all are with the same stylist ("bei Anna am Mittwoch ..."), else after each
    time ("um 11:30 Uhr bei Anna oder 12 Uhr bei Ben").

    Args:
        starts: The alternative starts, in the order to offer them.
        zone: The salon's time zone.
        now: The current moment, for "heute"/"morgen".
        stylists: Who each alternative is with, or None.

    Returns:
        The phrase ("" when there is none).
    """
    today = now.astimezone(zone).date() if now is not None else None
    names = list(stylists) if stylists is not None else [None] * len(starts)
    shared = names[0] if names and all(n == names[0] for n in names) else None
    groups: dict[date, list[str]] = {}
    for start, name in zip(starts, names, strict=True):
        local = start.astimezone(zone)
        said = clock(local.time())
        if name and not shared:
            said += f" bei {name}"
        groups.setdefault(local.date(), []).append(said)
    phrases = [
        f"{spoken_day(day, today=today)} um {join_words(times, 'oder')}"
        for day, times in groups.items()
    ]
    offered = join_words(phrases, "oder")
    return f"bei {shared} {offered}" if shared and offered else offered


def spoken_hours(opening: tuple[time, time]) -> str:
    """Opening hours as spoken: "von 9 bis 18 Uhr", "von 9:30 bis 18:30 Uhr"."""
    start, end = opening
    first = str(start.hour) if start.minute == 0 else f"{start.hour}:{start.minute:02d}"
    return f"von {first} bis {clock(end)}"


def spoken_duration(seconds: int) -> str:
    """A short hold time as spoken: "90 Sekunden", "2 Minuten", "eine Minute"."""
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds // 60} Minuten"
    if seconds == 60:
        return "eine Minute"
    return "eine Sekunde" if seconds == 1 else f"{seconds} Sekunden"


def service_gender(name: str) -> Gender:
    """Grammatical gender of a service name, from its last word's ending.

    Compound nouns take the gender of their last part, and service names follow a few
    patterns: verbs used as nouns ("Föhnen", "Färben") and "-chen", "-ing", "-ment" are
    neuter; "-ung", "-e" ("Dauerwelle", "Bartpflege"), "-ion", "-ur", "-heit", "-keit",
    "-schaft", "-tät", "-ei" are feminine; everything else ("Herrenhaarschnitt") masculine.

    Args:
        name: The catalog name.

    Returns:
        "m", "f" or "n".
    """
    word = name.strip().split()[-1].casefold() if name.strip() else ""
    if word.endswith(("chen", "lein", "ing", "ment", "en")):
        return "n"
    if word.endswith(("ung", "heit", "keit", "schaft", "ion", "tät", "ur", "ei", "e")):
        return "f"
    return "m"


_ARTICLES: dict[str, dict[Gender, str]] = {
    "der": {"m": "der", "f": "die", "n": "das"},  # nominative, definite
    "ihren": {"m": "Ihren", "f": "Ihre", "n": "Ihr"},  # accusative, "your"
    "einen": {"m": "einen", "f": "eine", "n": "ein"},  # accusative, indefinite
    "den": {"m": "den", "f": "die", "n": "das"},  # accusative, definite
}


def with_article(name: str, article: Literal["der", "ihren", "einen", "den"]) -> str:
    """The service name behind the right article: ("Dauerwelle", "ihren") -> "Ihre Dauerwelle".

    Args:
        name: The catalog name.
        article: Which article, named by its masculine form.

    Returns:
        Article and name.
    """
    return f"{_ARTICLES[article][service_gender(name)]} {name}"
