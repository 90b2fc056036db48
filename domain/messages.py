"""The German sentence the agent says for every outcome of the interface. Pure.

One small function per outcome of ``shared/contracts/interface.md``, each returning one or
two sentences (plus the offer of alternatives where there are some). Names are repeated
exactly as given; dates and times are worded by :mod:`domain.wording`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from domain.wording import (
    MONTH_NAMES,
    WEEKDAY_NAMES,
    join_words,
    spoken_alternatives,
    spoken_date,
    spoken_datetime,
    spoken_day,
    spoken_duration,
    spoken_hours,
    spoken_time,
    with_article,
)

BookingStatusOutcome = Literal[
    "booked",
    "pending",
    "slot_taken",
    "hold_expired",
    "failed",
    "invalid_input",
    "no_booking",
    # reschedule_appointment says these with domain.appointment_messages
    "too_late",
    "not_found",
    "ambiguous",
]
HoldAction = Literal["book", "extend", "cancel"]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _with(stylist: str | None) -> str:
    """ " bei Anna" to follow a service, or nothing when the stylist has no name."""
    return f" bei {stylist}" if stylist else ""


def _then_offer(
    first: str,
    rest: Sequence[datetime],
    names: Sequence[str | None],
    zone: ZoneInfo,
    now: datetime | None,
) -> str:
    """``first`` (another stylist at the very time), then the other alternatives, if any."""
    if not rest:
        return first
    return f"{first} {msg_offer(rest, zone, now=now, stylists=names, lead='Sonst kann ich Ihnen')}"


def msg_offer(
    alternatives: Sequence[datetime],
    zone: ZoneInfo,
    *,
    now: datetime | None = None,
    stylists: Sequence[str | None] | None = None,
    lead: str = "Ich kann Ihnen stattdessen",
) -> str:
    """The offer of up to three alternatives, or the question for another day.

    Args:
        alternatives: Alternative starts, best first; only the first three are said.
        zone: The salon's time zone.
        now: The current moment, for "heute"/"morgen".
        stylists: Who each alternative is with (names), or None.
        lead: The words before the offer.

    Returns:
        "Ich kann Ihnen stattdessen ... anbieten." or, without alternatives, a question
        for another day or time.
    """
    if not alternatives:
        return "In den nächsten Tagen habe ich dafür leider nichts frei. Wann passt es Ihnen sonst?"
    names = list(stylists)[:3] if stylists is not None else None
    offered = spoken_alternatives(alternatives[:3], zone, now=now, stylists=names)
    return f"{lead} {offered} anbieten."


def msg_available(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    hold_seconds: int,
    now: datetime | None = None,
    stylist: str | None = None,
) -> str:
    """The slot is free and held: "Die Dauerwelle bei Ben ist am ... frei. Ich halte ..."."""
    when = spoken_datetime(start, zone, now=now)
    return (
        f"{_capitalized(with_article(service, 'der'))}{_with(stylist)} ist {when} frei. "
        f"Ich halte Ihnen den Termin für {spoken_duration(hold_seconds)}."
    )


def msg_slot_taken(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    alternatives: Sequence[datetime],
    now: datetime | None = None,
    *,
    stylists: Sequence[str | None] | None = None,
    asked: str | None = None,
) -> str:
    """The requested slot is taken; alternatives follow (or the question for another).

    Args:
        service: The service name.
        start: The start asked for.
        zone: The salon's time zone.
        alternatives: Alternative starts, best first.
        now: The current moment, for "heute"/"morgen".
        stylists: Who each alternative is with (names), or None.
        asked: The stylist the caller asked for, if any. When the first alternative is
            another stylist at the very time asked for, it is offered first: "Bei Anna
            ist morgen um 10 Uhr leider schon vergeben, aber Ben hätte um 10 Uhr Zeit."

    Returns:
        The German sentences.
    """
    when = spoken_datetime(start, zone, now=now)
    names = list(stylists) if stylists is not None else [None] * len(alternatives)
    if asked and alternatives and alternatives[0] == start and names[0] not in (None, asked):
        first = (
            f"Bei {asked} ist {when} leider schon vergeben, aber {names[0]} hätte um "
            f"{spoken_time(start, zone)} Zeit."
        )
        return _then_offer(first, alternatives[1:], names[1:], zone, now)
    if asked:
        return (
            f"Bei {asked} ist {when} für {with_article(service, 'den')} leider nichts mehr "
            f"frei. {msg_offer(alternatives, zone, now=now, stylists=names)}"
        )
    return (
        f"{_capitalized(when)} ist für {with_article(service, 'den')} leider nichts mehr frei. "
        + msg_offer(alternatives, zone, now=now, stylists=names)
    )


def msg_not_offered_by(
    service: str,
    asked: str,
    doers: Sequence[str],
    start: datetime,
    zone: ZoneInfo,
    alternatives: Sequence[datetime],
    now: datetime | None = None,
    *,
    stylists: Sequence[str | None] | None = None,
) -> str:
    """The stylist asked for does not do the service; who does, and their times."""
    who = join_words(list(doers), "und")
    verb = "machen" if len(doers) > 1 else "macht"
    names = list(stylists) if stylists is not None else [None] * len(alternatives)
    said = f"{_capitalized(with_article(service, 'den'))} {verb} bei uns {who}, nicht {asked}."
    if alternatives and alternatives[0] == start and names[0]:
        when = spoken_datetime(start, zone, now=now)
        first = f"{said} {names[0]} hätte {when} Zeit."
        return _then_offer(first, alternatives[1:], names[1:], zone, now)
    return f"{said} {msg_offer(alternatives, zone, now=now, stylists=names)}"


def msg_unknown_stylist(
    names: Sequence[str], service: str | None = None, doers: Sequence[str] = ()
) -> str:
    """Nobody of that name works here; who does (and who does the service, when not
    everyone), then the question."""
    if not names:
        return (
            "Eine bestimmte Person kann ich leider nicht für Sie einplanen. "
            "Soll ich einfach nachsehen, wann etwas frei ist?"
        )
    said = (
        f"Diesen Namen kenne ich leider nicht. Bei uns arbeiten {join_words(list(names), 'und')}."
    )
    if service and doers and list(doers) != list(names):
        verb = "machen" if len(doers) > 1 else "macht"
        said += (
            f" {_capitalized(with_article(service, 'den'))} {verb} "
            f"{join_words(list(doers), 'und')}."
        )
    return f"{said} Zu wem möchten Sie, oder ist es Ihnen egal?"


def msg_unknown_service(services: Sequence[str]) -> str:
    """The service is not offered; the catalog's services are listed."""
    return (
        "Diese Dienstleistung bieten wir leider nicht an. "
        f"Wir haben {join_words(list(services), 'und')}. Was davon darf es sein?"
    )


def msg_invalid_date(detail: str | None = None) -> str:
    """The date was not understood; ``detail`` is a parser's German explanation."""
    question = "An welchem Tag möchten Sie kommen?"
    if detail:
        return detail if detail.rstrip().endswith("?") else f"{detail} {question}"
    return f"Das Datum habe ich leider nicht verstanden. {question}"


def msg_invalid_time(detail: str | None = None) -> str:
    """The time was not understood; ``detail`` is a parser's German explanation."""
    question = "Um wie viel Uhr möchten Sie kommen?"
    if detail:
        return detail if detail.rstrip().endswith("?") else f"{detail} {question}"
    return f"Die Uhrzeit habe ich leider nicht verstanden. {question}"


def msg_in_the_past(start: datetime, zone: ZoneInfo, now: datetime) -> str:
    """The requested moment has passed: today's time, or an earlier day."""
    local, today = start.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return (
            f"{spoken_time(local)} ist heute leider schon vorbei. "
            "Welche andere Uhrzeit passt Ihnen?"
        )
    day = local.date()
    return (
        f"Der {day.day}. {MONTH_NAMES[day.month - 1]} {day.year} liegt in der Vergangenheit. "
        "An welchem Tag möchten Sie kommen?"
    )


def msg_too_far_ahead(last_day: date, today: date) -> str:
    """The requested day lies beyond the booking horizon; the last bookable day is said."""
    return (
        "So weit im Voraus kann ich leider noch keine Termine vergeben. "
        f"Buchen kann ich bis {spoken_date(last_day, today=today)}. "
        "An welchem Tag möchten Sie kommen?"
    )


def msg_closed_day(
    day: date,
    zone: ZoneInfo,
    alternatives: Sequence[datetime] = (),
    now: datetime | None = None,
) -> str:
    """The salon is closed that day: "Am Sonntag haben wir geschlossen." plus alternatives."""
    sentence = f"Am {WEEKDAY_NAMES[day.weekday()]} haben wir geschlossen."
    return f"{sentence} {msg_offer(alternatives, zone, now=now)}"


def msg_outside_opening_hours(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    opening: tuple[time, time] | None,
    alternatives: Sequence[datetime] = (),
    now: datetime | None = None,
) -> str:
    """The service would not fit that day's opening hours, which are said."""
    local = start.astimezone(zone)
    weekday = WEEKDAY_NAMES[local.weekday()]
    if opening is None:
        return msg_closed_day(local.date(), zone, alternatives, now)
    return (
        f"Am {weekday} haben wir {spoken_hours(opening)} geöffnet, "
        f"{with_article(service, 'den')} um {spoken_time(local)} schaffen wir da leider "
        f"nicht. {msg_offer(alternatives, zone, now=now)}"
    )


def msg_hold_extended(seconds_left: int) -> str:
    """The hold was extended."""
    return f"Kein Problem, ich halte Ihnen den Termin noch {spoken_duration(seconds_left)}."


def msg_extend_limit(seconds_left: int) -> str:
    """No more extensions; the hold runs on unchanged."""
    return (
        "Länger kann ich den Termin leider nicht halten. "
        f"Er ist noch {spoken_duration(seconds_left)} für Sie reserviert."
    )


def msg_hold_cancelled() -> str:
    """The caller's hold was released."""
    return "In Ordnung, ich habe den Termin wieder freigegeben."


def msg_hold_expired(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    now: datetime | None = None,
    stylist: str | None = None,
) -> str:
    """The hold ran out before the booking."""
    when = spoken_datetime(start, zone, now=now)
    return (
        f"Ihre Reservierung für {with_article(service, 'den')}{_with(stylist)} {when} ist "
        "abgelaufen. Soll ich noch einmal nachsehen, ob der Termin noch frei ist?"
    )


def msg_hold_lost(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    alternatives: Sequence[datetime],
    now: datetime | None = None,
    *,
    stylist: str | None = None,
    stylists: Sequence[str | None] | None = None,
) -> str:
    """Someone else booked the held slot in the meantime; alternatives follow."""
    when = spoken_datetime(start, zone, now=now)
    return (
        f"Der Termin{_with(stylist)} {when} ist leider gerade anderweitig vergeben worden. "
        + msg_offer(alternatives, zone, now=now, stylists=stylists)
    )


def msg_booked(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    customer_name: str,
    now: datetime | None = None,
    stylist: str | None = None,
) -> str:
    """The appointment is booked; service, date, time, stylist and the name are repeated."""
    when = spoken_datetime(start, zone, now=now)
    return (
        f"Ich habe {with_article(service, 'ihren')}{_with(stylist)} {when} für "
        f"{customer_name} gebucht. Wir freuen uns auf Ihren Besuch."
    )


def msg_pending() -> str:
    """The booking continues in the background."""
    return "Die Buchung läuft noch, einen Moment bitte."


def msg_booking_in_progress() -> str:
    """A message arrived while this call's booking runs: nothing was changed."""
    return (
        "Ich buche gerade noch Ihren Termin, einen Moment bitte. "
        "Danach kümmere ich mich gern um Ihren weiteren Wunsch."
    )


def msg_day_full(
    service: str,
    start: datetime,
    zone: ZoneInfo,
    alternatives: Sequence[datetime],
    now: datetime | None = None,
    *,
    stylists: Sequence[str | None] | None = None,
    asked: str | None = None,
) -> str:
    """The requested day has nothing free for the service at all (with ``asked``, the
    stylist the caller asked for); later days follow."""
    local = start.astimezone(zone)
    today = now.astimezone(zone).date() if now is not None else None
    day = spoken_day(local.date(), today=today).rstrip(",")
    offer = msg_offer(alternatives, zone, now=now, stylists=stylists)
    if asked:
        return (
            f"Bei {asked} ist {day} für {with_article(service, 'den')} leider gar nichts mehr "
            f"frei. {offer}"
        )
    return (
        f"{_capitalized(day)} ist für {with_article(service, 'den')} leider gar nichts mehr "
        f"frei. {offer}"
    )


def msg_failed() -> str:
    """Booking or checking failed for a technical reason; nothing is held or booked."""
    return (
        "Das hat leider gerade nicht geklappt, unser Kalender antwortet nicht. "
        "Darf ich es gleich noch einmal versuchen?"
    )


def msg_missing_name() -> str:
    """start_booking without a customer name."""
    return "Auf welchen Namen darf ich den Termin buchen?"


def msg_unusable_name(ask_phone: bool = False) -> str:
    """start_booking with a name that has no letter left (only digits, symbols or
    invisible characters); with ``ask_phone`` the given phone number was unusable too."""
    question = "Auf welchen Namen darf ich den Termin buchen?"
    if ask_phone:
        question = (
            "Auf welchen Namen darf ich den Termin buchen, "
            "und unter welcher Telefonnummer erreichen wir Sie?"
        )
    return f"Den Namen habe ich leider nicht verstanden. {question}"


def msg_no_hold(action: HoldAction) -> str:
    """Nothing is held that could be booked, extended or cancelled."""
    if action == "book":
        return (
            "Im Moment ist kein Termin für Sie reserviert. "
            "Welche Dienstleistung und welchen Termin möchten Sie?"
        )
    if action == "extend":
        return "Im Moment ist kein Termin für Sie reserviert, den ich verlängern könnte."
    return "Im Moment ist kein Termin für Sie reserviert."


def msg_no_booking() -> str:
    """booking_status before any booking was started."""
    return "Für dieses Gespräch gibt es noch keine Buchung."


def msg_booking_status(
    status: BookingStatusOutcome,
    *,
    zone: ZoneInfo,
    service: str | None = None,
    start: datetime | None = None,
    customer_name: str | None = None,
    alternatives: Sequence[datetime] = (),
    now: datetime | None = None,
    stylist: str | None = None,
    stylists: Sequence[str | None] | None = None,
) -> str:
    """The sentence for a start_booking or booking_status answer of any status.

    Args:
        status: The booking outcome.
        zone: The salon's time zone.
        service: The service name, when known.
        start: The appointment's start, when known.
        customer_name: The name as given, when known.
        alternatives: Alternative starts for ``slot_taken``.
        now: The current moment, for "heute"/"morgen".
        stylist: The stylist's name, when known.
        stylists: Who each alternative is with (names), or None.

    Returns:
        The German sentence(s).
    """
    known = service is not None and start is not None
    if status == "booked" and known and customer_name:
        assert service is not None and start is not None
        return msg_booked(service, start, zone, customer_name, now, stylist)
    if status == "booked":
        return "Ihr Termin ist gebucht. Wir freuen uns auf Ihren Besuch."
    if status == "pending":
        return msg_pending()
    if status == "slot_taken" and known:
        assert service is not None and start is not None
        return msg_hold_lost(
            service, start, zone, alternatives, now, stylist=stylist, stylists=stylists
        )
    if status == "slot_taken":
        offer = msg_offer(alternatives, zone, now=now, stylists=stylists)
        return f"Der Termin ist leider schon vergeben. {offer}"
    if status == "hold_expired" and known:
        assert service is not None and start is not None
        return msg_hold_expired(service, start, zone, now, stylist)
    if status == "hold_expired":
        return "Die Reservierung ist abgelaufen. Soll ich noch einmal nachsehen?"
    if status == "invalid_input":
        return msg_missing_name()
    if status == "no_booking":
        return msg_no_booking()
    return msg_failed()
