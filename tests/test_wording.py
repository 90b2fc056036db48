"""German the agent can say aloud: dates, times, alternatives and one sentence per outcome."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain import messages as m
from domain.wording import (
    alternative_label,
    join_words,
    service_gender,
    spoken_datetime,
    spoken_duration,
    spoken_hours,
    spoken_time,
    with_article,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)  # Tuesday
START = datetime(2026, 11, 26, 10, 45, tzinfo=BERLIN)  # Thursday
ALTERNATIVES = [
    datetime(2026, 11, 26, 11, 30, tzinfo=BERLIN),
    datetime(2026, 11, 26, 12, 0, tzinfo=BERLIN),
    datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN),
    datetime(2026, 11, 27, 9, 15, tzinfo=BERLIN),
]
ENGLISH = re.compile(
    r"\b(the|and|or|at|on|is|available|booked|slot|hold|error|pending|failed|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|january|february|march|may|june|july|"
    r"october|december)\b",
)


def test_spoken_datetime() -> None:
    assert spoken_datetime(START, BERLIN) == "am Donnerstag, den 26. November, um 10:45 Uhr"
    # UTC input is said in the salon's zone
    assert spoken_datetime(START.astimezone(UTC), BERLIN) == spoken_datetime(START, BERLIN)


def test_spoken_datetime_says_today_and_tomorrow() -> None:
    today = datetime(2026, 11, 24, 15, 0, tzinfo=BERLIN)
    tomorrow = datetime(2026, 11, 25, 9, 30, tzinfo=BERLIN)
    assert spoken_datetime(today, BERLIN, now=NOW) == "heute um 15 Uhr"
    assert spoken_datetime(tomorrow, BERLIN, now=NOW) == (
        "morgen, Mittwoch, den 25. November, um 9:30 Uhr"
    )
    assert (
        spoken_datetime(START, BERLIN, now=NOW) == "am Donnerstag, den 26. November, um 10:45 Uhr"
    )


def test_year_is_said_only_when_it_matters() -> None:
    next_january = datetime(2027, 1, 8, 10, 0, tzinfo=BERLIN)
    far = datetime(2027, 11, 2, 10, 0, tzinfo=BERLIN)
    assert spoken_datetime(next_january, BERLIN, now=NOW) == (
        "am Freitag, den 8. Januar, um 10 Uhr"
    )
    assert "2027" in spoken_datetime(far, BERLIN, now=NOW)


@pytest.mark.parametrize(
    ("clock", "said"),
    [
        (time(10, 45), "10:45 Uhr"),
        (time(10, 0), "10 Uhr"),
        (time(9, 5), "9:05 Uhr"),
        (time(0, 0), "0 Uhr"),
    ],
)
def test_spoken_time(clock: time, said: str) -> None:
    assert spoken_time(datetime.combine(date(2026, 11, 26), clock, tzinfo=BERLIN)) == said


def test_spoken_time_converts_to_the_zone_when_given() -> None:
    assert spoken_time(START.astimezone(UTC), BERLIN) == "10:45 Uhr"


def test_alternative_label_has_the_contract_form() -> None:
    wednesday = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # 11:30 in Berlin
    assert alternative_label(wednesday, BERLIN) == "Mittwoch, 25. November, 11:30 Uhr"
    assert alternative_label(datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN), BERLIN) == (
        "Montag, 2. März, 9 Uhr"
    )


def test_lists_hours_and_durations() -> None:
    assert join_words(["A"]) == "A"
    assert join_words(["A", "B"], "oder") == "A oder B"
    assert join_words(["A", "B", "C"]) == "A, B und C"
    assert spoken_hours((time(9), time(18))) == "von 9 bis 18 Uhr"
    assert spoken_hours((time(9, 30), time(18, 30))) == "von 9:30 bis 18:30 Uhr"
    assert spoken_duration(90) == "90 Sekunden"
    assert spoken_duration(60) == "eine Minute"
    assert spoken_duration(300) == "5 Minuten"


@pytest.mark.parametrize(
    ("service", "gender", "yours"),
    [
        ("Dauerwelle", "f", "Ihre Dauerwelle"),
        ("Bartpflege", "f", "Ihre Bartpflege"),
        ("Coloration", "f", "Ihre Coloration"),
        ("Herrenhaarschnitt", "m", "Ihren Herrenhaarschnitt"),
        ("Färben", "n", "Ihr Färben"),
        ("Föhnen", "n", "Ihr Föhnen"),
        ("Styling", "n", "Ihr Styling"),
    ],
)
def test_articles_follow_the_service_gender(service: str, gender: str, yours: str) -> None:
    assert service_gender(service) == gender
    assert with_article(service, "ihren") == yours


def test_available_with_hold() -> None:
    assert m.msg_available("Dauerwelle", START, BERLIN, 90) == (
        "Die Dauerwelle ist am Donnerstag, den 26. November, um 10:45 Uhr frei. "
        "Ich halte Ihnen den Termin für 90 Sekunden."
    )


def test_slot_taken_offers_three_alternatives_grouped_by_day() -> None:
    said = m.msg_slot_taken("Herrenhaarschnitt", START, BERLIN, ALTERNATIVES)
    assert said == (
        "Am Donnerstag, den 26. November, um 10:45 Uhr ist für den Herrenhaarschnitt leider "
        "nichts mehr frei. Ich kann Ihnen stattdessen am Donnerstag, den 26. November, um "
        "11:30 Uhr oder 12 Uhr oder am Freitag, den 27. November, um 9 Uhr anbieten."
    )
    assert "9:15" not in said  # only three are offered


def test_no_alternatives_asks_for_another_time() -> None:
    said = m.msg_slot_taken("Färben", START, BERLIN, [])
    assert "nichts frei" in said and said.endswith("?")


def test_booked_repeats_service_date_time_and_name() -> None:
    assert m.msg_booked("Dauerwelle", START, BERLIN, "Jürgen Müller") == (
        "Ich habe Ihre Dauerwelle am Donnerstag, den 26. November, um 10:45 Uhr für "
        "Jürgen Müller gebucht. Wir freuen uns auf Ihren Besuch."
    )


def test_outside_opening_hours_says_that_days_hours() -> None:
    late = datetime(2026, 11, 25, 17, 30, tzinfo=BERLIN)
    said = m.msg_outside_opening_hours(
        "Dauerwelle", late, BERLIN, (time(9), time(18)), ALTERNATIVES[:1]
    )
    assert said.startswith("Am Mittwoch haben wir von 9 bis 18 Uhr geöffnet")
    assert "17:30 Uhr" in said and "11:30 Uhr" in said


def test_closed_day() -> None:
    assert m.msg_closed_day(date(2026, 11, 29), BERLIN, ALTERNATIVES[2:3]).startswith(
        "Am Sonntag haben wir geschlossen. Ich kann Ihnen stattdessen am Freitag"
    )
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=BERLIN)
    assert m.msg_outside_opening_hours("Föhnen", sunday, BERLIN, None).startswith(
        "Am Sonntag haben wir geschlossen."
    )


def test_in_the_past() -> None:
    assert m.msg_in_the_past(datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN), BERLIN, NOW) == (
        "8 Uhr ist heute leider schon vorbei. Welche andere Uhrzeit passt Ihnen?"
    )
    assert m.msg_in_the_past(datetime(2025, 11, 26, 8, 0, tzinfo=BERLIN), BERLIN, NOW).startswith(
        "Der 26. November 2025 liegt in der Vergangenheit."
    )


def test_parser_details_are_used_for_invalid_date_and_time() -> None:
    assert m.msg_invalid_date("Den 31.02. gibt es im Kalender nicht.") == (
        "Den 31.02. gibt es im Kalender nicht. An welchem Tag möchten Sie kommen?"
    )
    assert m.msg_invalid_time("Zu welcher Uhrzeit möchten Sie kommen?") == (
        "Zu welcher Uhrzeit möchten Sie kommen?"
    )


def test_unknown_service_lists_the_services() -> None:
    assert m.msg_unknown_service(["Herrenhaarschnitt", "Föhnen", "Färben"]) == (
        "Diese Dienstleistung bieten wir leider nicht an. "
        "Wir haben Herrenhaarschnitt, Föhnen und Färben. Was davon darf es sein?"
    )


def test_hold_lost_says_so_and_offers_alternatives() -> None:
    said = m.msg_hold_lost("Dauerwelle", START, BERLIN, ALTERNATIVES[:1])
    assert "anderweitig vergeben" in said and "um 11:30 Uhr anbieten" in said


def _every_message(name: str) -> list[str]:
    opening = (time(9), time(18))
    said = [
        m.msg_available("Dauerwelle", START, BERLIN, 90, NOW),
        m.msg_slot_taken("Bartpflege", START, BERLIN, ALTERNATIVES, NOW),
        m.msg_slot_taken("Bartpflege", START, BERLIN, []),
        m.msg_unknown_service(["Herrenhaarschnitt", "Färben"]),
        m.msg_invalid_date(),
        m.msg_invalid_time(),
        m.msg_in_the_past(datetime(2025, 5, 1, 10, tzinfo=BERLIN), BERLIN, NOW),
        m.msg_outside_opening_hours("Färben", START, BERLIN, opening, ALTERNATIVES, NOW),
        m.msg_closed_day(date(2026, 11, 29), BERLIN, ALTERNATIVES),
        m.msg_hold_extended(90),
        m.msg_extend_limit(30),
        m.msg_hold_cancelled(),
        m.msg_hold_expired("Föhnen", START, BERLIN, NOW),
        m.msg_hold_lost("Dauerwelle", START, BERLIN, ALTERNATIVES),
        m.msg_booked("Dauerwelle", START, BERLIN, name, NOW),
        m.msg_pending(),
        m.msg_failed(),
        m.msg_missing_name(),
        m.msg_no_booking(),
        *(m.msg_no_hold(action) for action in ("book", "extend", "cancel")),
    ]
    statuses: tuple[m.BookingStatusOutcome, ...] = (
        "booked",
        "pending",
        "slot_taken",
        "hold_expired",
        "failed",
        "invalid_input",
        "no_booking",
    )
    for status in statuses:
        said.append(m.msg_booking_status(status, zone=BERLIN))
        said.append(
            m.msg_booking_status(
                status,
                zone=BERLIN,
                service="Dauerwelle",
                start=START,
                customer_name=name,
                alternatives=ALTERNATIVES,
                now=NOW,
            )
        )
    return said


@pytest.mark.parametrize("name", ["Jürgen Müller", "von der Leyen", "Anna-Lena O'Brien"])
def test_every_message_is_sayable_german(name: str) -> None:
    for said in _every_message(name):
        assert said and said[0].isupper() and said.rstrip()[-1] in ".?", said
        assert not re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:\d{2}|\+\d{2}:\d{2}|UTC", said), said
        assert not ENGLISH.search(said.casefold().replace(name.casefold(), "")), said
        assert len(said) < 400, said


def test_month_and_weekday_names_are_german_and_names_unchanged() -> None:
    said = " ".join(_every_message("Jürgen Müller"))
    for word in ("Donnerstag", "Freitag", "Sonntag", "November", "Mai"):
        assert word in said
    booked = m.msg_booking_status(
        "booked", zone=BERLIN, service="Färben", start=START, customer_name="ZOË de Vries"
    )
    assert "für ZOË de Vries gebucht" in booked


def test_a_full_day_is_said_as_such_before_the_next_days_are_offered() -> None:
    friday = [datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)]
    said = m.msg_day_full("Dauerwelle", START, BERLIN, friday, NOW)
    assert said.startswith("Am Donnerstag, den 26. November ist für die Dauerwelle leider gar")
    assert "Freitag" in said and "9 Uhr" in said


def test_a_message_during_a_booking_says_the_booking_runs() -> None:
    said = m.msg_booking_in_progress()
    assert "buche gerade" in said and said.endswith(".")
