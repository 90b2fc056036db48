"""Spoken German dates and times, read the way a salon caller means them.

Reference moment: Tuesday, 24 November 2026, 09:00 in Berlin, unless a case says otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.german_dates import DateParseError, parse_date, parse_datetime, split_date_time
from domain.german_times import TimeParseError, assume_business_hours, parse_time

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)  # a Tuesday

DATES: list[tuple[str, date]] = [
    ("heute", date(2026, 11, 24)),
    ("Heute", date(2026, 11, 24)),
    ("morgen", date(2026, 11, 25)),
    ("übermorgen", date(2026, 11, 26)),
    ("uebermorgen", date(2026, 11, 26)),
    ("Mittwoch", date(2026, 11, 25)),
    ("am Mittwoch", date(2026, 11, 25)),
    ("am Samstag", date(2026, 11, 28)),
    ("Sonnabend", date(2026, 11, 28)),
    ("Montag", date(2026, 11, 30)),
    # a bare weekday equal to today means next week: today is "heute"
    ("Dienstag", date(2026, 12, 1)),
    ("am Dienstag", date(2026, 12, 1)),
    ("nächsten Dienstag", date(2026, 12, 1)),
    ("naechsten Dienstag", date(2026, 12, 1)),
    ("nächsten Donnerstag", date(2026, 11, 26)),
    ("kommenden Freitag", date(2026, 11, 27)),
    ("diesen Freitag", date(2026, 11, 27)),
    ("diesen Dienstag", date(2026, 11, 24)),
    ("Freitag diese Woche", date(2026, 11, 27)),
    ("übernächsten Mittwoch", date(2026, 12, 2)),
    ("Mittwoch nächste Woche", date(2026, 12, 2)),
    ("Montag nächste Woche", date(2026, 11, 30)),
    ("26.11.", date(2026, 11, 26)),
    ("26.11", date(2026, 11, 26)),
    ("26.11.2026", date(2026, 11, 26)),
    ("26.11.26", date(2026, 11, 26)),
    ("26. November", date(2026, 11, 26)),
    ("26. Nov.", date(2026, 11, 26)),
    ("am 26. November", date(2026, 11, 26)),
    ("den 26.11.", date(2026, 11, 26)),
    ("Donnerstag, den 26. November", date(2026, 11, 26)),
    ("Donnerstag, 26.11.", date(2026, 11, 26)),
    ("am sechsundzwanzigsten November", date(2026, 11, 26)),
    ("der erste Dezember", date(2026, 12, 1)),
    ("2026-11-26", date(2026, 11, 26)),
    ("in zwei Tagen", date(2026, 11, 26)),
    ("in 3 Tagen", date(2026, 11, 27)),
    ("in einer Woche", date(2026, 12, 1)),
    ("in zwei Wochen", date(2026, 12, 8)),
    ("heute in einer Woche", date(2026, 12, 1)),
    ("am 30.", date(2026, 11, 30)),
    ("am 3.", date(2026, 12, 3)),
    # no year, already past this year: next year
    ("3.1.", date(2027, 1, 3)),
    ("23.11.", date(2027, 11, 23)),
    ("24.11.", date(2026, 11, 24)),
    ("5. Januar", date(2027, 1, 5)),
    ("12. März", date(2027, 3, 12)),
    ("12. Maerz", date(2027, 3, 12)),
    ("am 12. Mai 2027", date(2027, 5, 12)),
    # an explicit year is kept, even in the past (the API answers in_the_past)
    ("26.11.2025", date(2025, 11, 26)),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, now=NOW, zone=BERLIN) == expected


def test_today_follows_the_salon_zone_not_utc() -> None:
    # 23:30 UTC on the 24th is already the 25th in Berlin.
    late = datetime(2026, 11, 24, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert parse_date("heute", now=late, zone=BERLIN) == date(2026, 11, 25)
    assert parse_date("morgen", now=late, zone=BERLIN) == date(2026, 11, 26)


def test_year_end_rolls_over() -> None:
    silvester = datetime(2026, 12, 31, 10, 0, tzinfo=BERLIN)
    assert parse_date("morgen", now=silvester, zone=BERLIN) == date(2027, 1, 1)
    assert parse_date("2.1.", now=silvester, zone=BERLIN) == date(2027, 1, 2)
    assert parse_date("Freitag", now=silvester, zone=BERLIN) == date(2027, 1, 1)
    assert parse_date("am 5.", now=silvester, zone=BERLIN) == date(2027, 1, 5)


DATE_ERRORS: list[tuple[str, str]] = [
    ("", "kein Datum"),
    ("Pizza", "nicht als Datum"),
    ("Weihnachten", "nicht als Datum"),
    ("31.02.", "gibt es im Kalender nicht"),
    ("2026-02-30", "gibt es im Kalender nicht"),
    ("nächste Woche", "An welchem Tag"),
    ("Mittwoch, 26.11.", "ist ein Donnerstag, kein Mittwoch"),
]


@pytest.mark.parametrize(("text", "says"), DATE_ERRORS)
def test_date_errors_say_what_went_wrong_in_german(text: str, says: str) -> None:
    with pytest.raises(DateParseError, match=says):
        parse_date(text, now=NOW, zone=BERLIN)


TIMES: list[tuple[str, time]] = [
    ("10:45", time(10, 45)),
    ("10.45", time(10, 45)),
    ("10:45 Uhr", time(10, 45)),
    ("10 Uhr 45", time(10, 45)),
    ("10 Uhr", time(10, 0)),
    ("10", time(10, 0)),
    ("14 Uhr 30", time(14, 30)),
    ("14h30", time(14, 30)),
    ("9:00 Uhr", time(9, 0)),
    ("10:45:00", time(10, 45)),
    ("halb elf", time(10, 30)),
    ("halb eins", time(12, 30)),
    ("viertel nach zehn", time(10, 15)),
    ("Viertel nach 2", time(14, 15)),
    ("viertel vor elf", time(10, 45)),
    ("viertel vor eins", time(12, 45)),
    ("dreiviertel elf", time(10, 45)),
    ("drei viertel elf", time(10, 45)),
    ("viertel elf", time(10, 15)),
    ("zehn nach zehn", time(10, 10)),
    ("zwanzig vor zwölf", time(11, 40)),
    ("fünf vor halb elf", time(10, 25)),
    ("fünf nach halb elf", time(10, 35)),
    ("zehn Uhr dreißig", time(10, 30)),
    ("zehn Uhr fünfundvierzig", time(10, 45)),
    ("elf", time(11, 0)),
    ("zwölf Uhr", time(12, 0)),
    ("vierzehn Uhr fünfzehn", time(14, 15)),
    ("sechzehn Uhr", time(16, 0)),
    ("um 10", time(10, 0)),
    ("gegen 10 Uhr", time(10, 0)),
    ("so gegen halb drei", time(14, 30)),
    ("Punkt 12", time(12, 0)),
    ("3 Uhr nachmittags", time(15, 0)),
    ("am Nachmittag um 4", time(16, 0)),
    ("halb sechs abends", time(17, 30)),
    ("um 10 Uhr am Abend", time(22, 0)),
    ("um 9 Uhr vormittags", time(9, 0)),
    ("7 Uhr morgens", time(7, 0)),
    ("mittags", time(12, 0)),
    ("12 Uhr mittags", time(12, 0)),
    ("ein Uhr mittags", time(13, 0)),
    # the salon heuristic: 1 to 7 without a day part is afternoon
    ("um drei", time(15, 0)),
    ("um eins", time(13, 0)),
    ("halb acht", time(19, 30)),
    ("5:30", time(17, 30)),
    # a leading zero is an explicit 24-hour time
    ("07:30", time(7, 30)),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "um", "Pizza", "25 Uhr", "10:75", "irgendwann"])
def test_time_errors(text: str) -> None:
    with pytest.raises(TimeParseError, match="Uhrzeit"):
        parse_time(text)


@pytest.mark.parametrize(
    ("heard", "meant"),
    [(time(3), time(15)), (time(1, 30), time(13, 30)), (time(7, 45), time(19, 45))]
    + [(time(h), time(h)) for h in (0, 8, 9, 12, 13, 19)],
)
def test_assume_business_hours(heard: time, meant: time) -> None:
    assert assume_business_hours(heard) == meant


DATETIMES: list[tuple[str, str, datetime]] = [
    ("morgen", "halb elf", datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)),
    ("morgen um halb elf", "", datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)),
    ("Mittwoch nachmittag um drei", "", datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)),
    ("heute morgen um 9", "", datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)),
    ("morgen früh um sieben", "", datetime(2026, 11, 25, 7, 0, tzinfo=BERLIN)),
    ("26.11. 14:30", "", datetime(2026, 11, 26, 14, 30, tzinfo=BERLIN)),
    ("morgen zehn Uhr dreißig", "", datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)),
    ("am Donnerstag gegen viertel nach zehn", "", datetime(2026, 11, 26, 10, 15, tzinfo=BERLIN)),
    ("2026-11-26T10:45:00+01:00", "", datetime(2026, 11, 26, 10, 45, tzinfo=BERLIN)),
    ("2026-11-26T09:45:00Z", "", datetime(2026, 11, 26, 10, 45, tzinfo=BERLIN)),
    ("2026-11-26T10:45", "", datetime(2026, 11, 26, 10, 45, tzinfo=BERLIN)),
]


@pytest.mark.parametrize(("date_text", "time_text", "expected"), DATETIMES)
def test_datetimes(date_text: str, time_text: str, expected: datetime) -> None:
    parsed = parse_datetime(date_text, time_text, now=NOW, zone=BERLIN)
    assert parsed == expected
    assert parsed.tzinfo is BERLIN


def test_summer_time_starts_between_the_days() -> None:
    # Clocks go forward on Sunday 28 March 2027: CET (+1) before, CEST (+2) after.
    before = parse_datetime("27.03.", "10 Uhr", now=NOW, zone=BERLIN)
    after = parse_datetime("29.03.", "10 Uhr", now=NOW, zone=BERLIN)
    assert before.utcoffset() == timedelta(hours=1)
    assert after.utcoffset() == timedelta(hours=2)
    elapsed = after.astimezone(UTC) - before.astimezone(UTC)
    assert elapsed.total_seconds() == 2 * 24 * 3600 - 3600


def test_time_in_the_spring_forward_gap_moves_past_it() -> None:
    parsed = parse_datetime("28.03.2027", "02:30", now=NOW, zone=BERLIN)
    assert (parsed.hour, parsed.minute) == (3, 30)


def test_tomorrow_across_the_end_of_summer_time() -> None:
    # Saturday 24 October 2026, evening in summer time; Sunday is in winter time.
    saturday = datetime(2026, 10, 24, 20, 0, tzinfo=BERLIN)
    parsed = parse_datetime("morgen", "10 Uhr", now=saturday, zone=BERLIN)
    assert parsed == datetime(2026, 10, 25, 10, 0, tzinfo=BERLIN)
    assert parsed.utcoffset() == timedelta(hours=1)
    assert parse_date("übermorgen", now=saturday, zone=BERLIN) == date(2026, 10, 26)


def test_date_without_time_asks_for_the_time() -> None:
    with pytest.raises(TimeParseError, match="Uhrzeit"):
        parse_datetime("morgen", "", now=NOW, zone=BERLIN)


def test_bad_date_part_of_a_combined_phrase_is_a_date_error() -> None:
    with pytest.raises(DateParseError):
        parse_datetime("Pizza um 10", "", now=NOW, zone=BERLIN)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("morgen um halb elf", ("morgen", "um halb 11")),
        ("heute früh um 8", ("heute", "morgens um 8")),
        ("Mittwoch", ("mittwoch", "")),
    ],
)
def test_split_date_time(text: str, parts: tuple[str, str]) -> None:
    assert split_date_time(text) == parts
