"""The German sentences about a caller's existing appointments: found, cancelled, moved,
and why not. Pure; dates and times are worded by :mod:`domain.wording`, the offer of
alternatives by :func:`domain.messages.msg_offer`.

Nothing here names a customer: the agent only ever hears the caller's own appointments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from domain.messages import msg_offer
from domain.wording import join_words, spoken_datetime, with_article

Action = Literal["cancel", "move"]
_VERB = {"cancel": "absagen", "move": "verschieben"}


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _one(service: str, start: datetime, zone: ZoneInfo, now: datetime | None) -> str:
    """ "die Dauerwelle am Donnerstag, den 26. November, um 10:45 Uhr"."""
    return f"{with_article(service, 'den')} {spoken_datetime(start, zone, now=now)}"


def msg_appointments_found(
    found: Sequence[tuple[str, datetime]], zone: ZoneInfo, now: datetime | None = None
) -> str:
    """The caller's upcoming appointments, said back.

    Args:
        found: (service, start) of each appointment, in time order; at least one.
        zone: The salon's time zone.
        now: The current moment, for "heute"/"morgen".

    Returns:
        "Ich sehe Ihren Termin für die Dauerwelle am ..." or, for several, the list and
        the question which one is meant.
    """
    if len(found) == 1:
        service, start = found[0]
        return f"Ich sehe Ihren Termin für {_one(service, start, zone, now)}."
    listed = join_words([_one(s, t, zone, now) for s, t in found], "und")
    return f"Ich sehe {len(found)} Termine: {listed}. Um welchen geht es?"


def msg_no_appointment(*, by_name: bool) -> str:
    """Nothing found: by the caller's number, or by the name and day they gave. The
    sentence neither confirms nor denies anything else (no other day, no other name)."""
    if by_name:
        return (
            "Unter diesem Namen finde ich an dem Tag leider keinen Termin. "
            "Haben Sie vielleicht unter einem anderen Namen gebucht?"
        )
    return (
        "Unter der Nummer, von der Sie anrufen, finde ich keinen anstehenden Termin. "
        "Auf welchen Namen und für welchen Tag ist der Termin gebucht?"
    )


def msg_which_appointment(
    found: Sequence[tuple[str, datetime]],
    action: Action,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> str:
    """Several appointments: which one to cancel or move."""
    listed = join_words([_one(s, t, zone, now) for s, t in found], "und")
    return f"Sie haben mehrere Termine: {listed}. Welchen möchten Sie {_VERB[action]}?"


def msg_cancelled(
    service: str, start: datetime, zone: ZoneInfo, now: datetime | None = None
) -> str:
    """The appointment is cancelled (also when it was cancelled before)."""
    return (
        f"Ich habe Ihren Termin für {_one(service, start, zone, now)} abgesagt. "
        "Die Zeit ist wieder frei."
    )


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} Minuten"
    if hours == 1:
        return "eine Stunde"
    return f"{hours:g} Stunden"


def msg_too_late(notice_hours: float, action: Action) -> str:
    """The appointment starts too soon to be cancelled or moved by phone
    (``CANCELLATION_NOTICE_HOURS``): the caller is asked to call the salon."""
    return (
        f"So kurzfristig kann ich den Termin leider nicht mehr {_VERB[action]}: "
        f"Das geht am Telefon nur bis {_hours(notice_hours)} vor Beginn. "
        "Bitte rufen Sie dafür direkt im Salon an, dann hilft Ihnen jemand aus dem Team."
    )


def msg_change_pending() -> str:
    """The change goes on in the background; asking again gives its result."""
    return "Ich ändere Ihren Termin gerade, einen Moment bitte."


def msg_change_failed() -> str:
    """A technical failure; the appointment is as it was."""
    return (
        "Das hat leider gerade nicht geklappt, Ihr Termin ist unverändert. "
        "Darf ich es gleich noch einmal versuchen?"
    )


def msg_new_time_needed() -> str:
    """A move without a new time (and no held one)."""
    return "Auf welchen Tag und welche Uhrzeit möchten Sie den Termin verschieben?"


def msg_moved(
    service: str,
    old_start: datetime,
    new_start: datetime,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> str:
    """The new time is booked and the old one cancelled."""
    new = spoken_datetime(new_start, zone, now=now)
    old = spoken_datetime(old_start, zone, now=now)
    return (
        f"Ich habe Ihren Termin verschoben: {_capitalized(with_article(service, 'der'))} ist "
        f"jetzt {new} statt {old}. Der alte Termin ist abgesagt."
    )


def msg_move_failed(
    service: str,
    old_start: datetime,
    alternatives: Sequence[datetime],
    zone: ZoneInfo,
    now: datetime | None = None,
) -> str:
    """The new time could not be booked; the old appointment stays exactly as it was."""
    old = spoken_datetime(old_start, zone, now=now)
    return (
        f"Der neue Termin ist leider nicht mehr frei. Ihr bisheriger Termin für "
        f"{with_article(service, 'den')} {old} bleibt bestehen. "
        + msg_offer(alternatives, zone, now=now)
    )
