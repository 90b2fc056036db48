"""The agent's eight tools as Retell custom-tool definitions (five to book, three for
callers who already have an appointment), and the URLs Retell needs.

Retell posts each call to ``<base>/retell/functions`` with the full envelope
(``{"name", "args", "call"}``); the API needs ``call.call_id``, so ``args_at_root`` is
pinned to ``False``. Descriptions are German because the LLM speaks German with the
caller and decides from them when to call a tool.

Timeouts sit well above the API's response budgets (check 2.5 s, booking 6 s): the API
answers within its budget (``pending`` when Cal.com is slow), so Retell's timeout only
fires when the network or the server is truly broken, never on a slow Cal.com.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

CHECK_AVAILABILITY: Final = "check_availability"
START_BOOKING: Final = "start_booking"
EXTEND_HOLD: Final = "extend_hold"
CANCEL_HOLD: Final = "cancel_hold"
BOOKING_STATUS: Final = "booking_status"
FIND_APPOINTMENTS: Final = "find_appointments"
CANCEL_APPOINTMENT: Final = "cancel_appointment"
RESCHEDULE_APPOINTMENT: Final = "reschedule_appointment"
TOOL_NAMES: Final[tuple[str, ...]] = (
    CHECK_AVAILABILITY,
    START_BOOKING,
    EXTEND_HOLD,
    CANCEL_HOLD,
    BOOKING_STATUS,
    FIND_APPOINTMENTS,
    CANCEL_APPOINTMENT,
    RESCHEDULE_APPOINTMENT,
)

# Twice the default response budgets (Settings.check_budget_seconds = 2.5,
# Settings.booking_budget_seconds = 6.0). Retell accepts 1,000 to 600,000 ms.
CHECK_TIMEOUT_MS: Final = 5_000
BOOKING_TIMEOUT_MS: Final = 12_000
RETELL_MIN_TIMEOUT_MS: Final = 1_000
RETELL_MAX_TIMEOUT_MS: Final = 600_000


@dataclass(frozen=True)
class ToolTimeouts:
    """Retell's per-attempt tool timeouts in milliseconds."""

    check_ms: int = CHECK_TIMEOUT_MS
    booking_ms: int = BOOKING_TIMEOUT_MS

    @classmethod
    def from_budgets(
        cls, check_budget_seconds: float, booking_budget_seconds: float
    ) -> ToolTimeouts:
        """Timeouts for the API's configured response budgets.

        Args:
            check_budget_seconds: ``Settings.check_budget_seconds``.
            booking_budget_seconds: ``Settings.booking_budget_seconds``.

        Returns:
            Twice each budget, never below the defaults, never above Retell's maximum.
        """

        def twice(budget: float, floor: int) -> int:
            return min(RETELL_MAX_TIMEOUT_MS, max(floor, math.ceil(budget * 2000)))

        return cls(
            check_ms=twice(check_budget_seconds, CHECK_TIMEOUT_MS),
            booking_ms=twice(booking_budget_seconds, BOOKING_TIMEOUT_MS),
        )


FUNCTIONS_PATH: Final = "/retell/functions"
WEBHOOK_PATH: Final = "/retell/webhook"
INBOUND_WEBHOOK_PATH: Final = "/retell/inbound"
CALCOM_WEBHOOK_PATH: Final = "/calcom/webhook"

_SERVICE = {
    "type": "string",
    "description": (
        "Die gewünschte Dienstleistung, so wie der Anrufer sie nennt, "
        'z. B. "Herrenhaarschnitt", "Damenschnitt", "Dauerwelle", "Färben".'
    ),
}
_DATE = {
    "type": "string",
    "description": (
        "Der gewünschte Tag, wörtlich wie gesagt; nicht selbst umrechnen. "
        'Beispiele: "morgen", "übermorgen", "Mittwoch", "nächsten Dienstag", '
        '"26.11.", "26.11.2026".'
    ),
}
_TIME = {
    "type": "string",
    "description": (
        "Die gewünschte Uhrzeit, wörtlich wie gesagt. "
        'Beispiele: "10:45", "10 Uhr 45", "halb elf", "viertel nach zehn", "14 Uhr".'
    ),
}
_STYLIST = {
    "type": "string",
    "description": (
        "Nur wenn der Anrufer jemanden Bestimmtes möchte: der Name, wie gesagt, "
        'z. B. "Anna", "bei der Anni", "wie letztes Mal bei Ben". Weglassen (oder "egal"), '
        "wenn es ihm gleich ist; dann nimmt der Salon, wer frei ist. Wählt der Anrufer eine "
        "Alternative, deren stylist genannt ist, diesen Namen übergeben."
    ),
}


_APPOINTMENT_ID = {
    "type": "string",
    "description": (
        "Die appointment_id des bestehenden Termins aus find_appointments oder aus "
        'next_appointment_id, z. B. "apt_3f9c2a7b1d0e4c5a". Weglassen, wenn der Anrufer '
        "genau einen Termin hat."
    ),
}


def _no_parameters() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


def _check_parameters() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "service": {
                **_SERVICE,
                "description": str(_SERVICE["description"])
                + " Beim Verschieben nicht nötig: der Termin behält seine Dienstleistung.",
            },
            "date": dict(_DATE),
            "time": dict(_TIME),
            "stylist": dict(_STYLIST),
            "appointment_id": {
                **_APPOINTMENT_ID,
                "description": (
                    "Nur beim Verschieben eines bestehenden Termins: dessen appointment_id, "
                    'z. B. "apt_3f9c2a7b1d0e4c5a". Der bisherige Termin blockiert die neue '
                    "Zeit dann nicht."
                ),
            },
        },
        "required": ["date", "time"],
    }


def _find_parameters() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "customer_name": {
                "type": "string",
                "description": (
                    "Nur wenn der Anrufer von einer anderen Nummer anruft als der, mit der er "
                    'gebucht hat: der Name, unter dem gebucht wurde, z. B. "Jana Müller". '
                    "Nur zusammen mit date."
                ),
            },
            "date": {
                **_DATE,
                "description": "Nur zusammen mit customer_name: der Tag des Termins. "
                + str(_DATE["description"]),
            },
        },
    }


def _cancel_parameters() -> dict[str, Any]:
    return {"type": "object", "properties": {"appointment_id": dict(_APPOINTMENT_ID)}}


def _reschedule_parameters() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "appointment_id": dict(_APPOINTMENT_ID),
            "date": {
                **_DATE,
                "description": "Der neue Tag; weglassen, wenn check_availability mit "
                "appointment_id den neuen Termin schon hält. " + str(_DATE["description"]),
            },
            "time": {
                **_TIME,
                "description": "Die neue Uhrzeit (wie date). " + str(_TIME["description"]),
            },
            "stylist": dict(_STYLIST),
        },
    }


def _booking_parameters() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "customer_name": {
                "type": "string",
                "description": (
                    "Vor- und Nachname des Kunden, so wie verstanden. Hat der Anrufer "
                    "buchstabiert, die Buchstabierung wörtlich übergeben, z. B. "
                    '"Jürgen Schmidt mit d t", "Müller mit ü", "S C H M I D T" oder '
                    '"Siegfried Cäsar Heinrich Martha Ida Dora Theodor"; '
                    '"Herr"/"Frau" darf mitkommen.'
                ),
            },
            "customer_phone": {
                "type": "string",
                "description": (
                    "Rückrufnummer, nur wenn der Anrufer eine andere als die Nummer nennt, "
                    'von der er anruft, z. B. "0151 12345678".'
                ),
            },
            "customer_email": {
                "type": "string",
                "description": (
                    'E-Mail-Adresse, nur wenn der Anrufer sie nennt, z. B. "jana@example.de".'
                ),
            },
            "service": {
                **_SERVICE,
                "description": "Nur ohne vorherige Prüfung: " + str(_SERVICE["description"]),
            },
            "date": {
                **_DATE,
                "description": "Nur ohne vorherige Prüfung: " + str(_DATE["description"]),
            },
            "time": {
                **_TIME,
                "description": "Nur ohne vorherige Prüfung: " + str(_TIME["description"]),
            },
            "stylist": {
                **_STYLIST,
                "description": "Nur ohne vorherige Prüfung: " + str(_STYLIST["description"]),
            },
        },
        "required": ["customer_name"],
    }


def _custom_tool(
    name: str,
    description: str,
    parameters: dict[str, Any],
    *,
    url: str,
    timeout_ms: int,
    filler: str | None = None,
) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "type": "custom",
        "name": name,
        "description": description,
        "url": url,
        "method": "POST",
        "args_at_root": False,
        "parameter_type": "json",
        "parameters": parameters,
        "timeout_ms": timeout_ms,
        "speak_after_execution": True,
        "speak_during_execution": filler is not None,
    }
    if filler is not None:
        tool["execution_message_description"] = filler
        tool["execution_message_type"] = "static_text"
    return tool


def functions_url(base_url: str) -> str:
    """The URL Retell posts tool calls to.

    Args:
        base_url: Public base URL of the API, e.g. ``https://salon.example.com``; a
            trailing slash is ignored.

    Returns:
        ``<base_url>/retell/functions``.
    """
    return base_url.rstrip("/") + FUNCTIONS_PATH


def webhook_url(base_url: str) -> str:
    """The URL Retell posts call events (``call_ended`` and friends) to.

    Args:
        base_url: Public base URL of the API; a trailing slash is ignored.

    Returns:
        ``<base_url>/retell/webhook``.
    """
    return base_url.rstrip("/") + WEBHOOK_PATH


def inbound_webhook_url(base_url: str) -> str:
    """The URL Retell asks, per phone number, who is calling before a call connects.

    Args:
        base_url: Public base URL of the API; a trailing slash is ignored.

    Returns:
        ``<base_url>/retell/inbound``.
    """
    return base_url.rstrip("/") + INBOUND_WEBHOOK_PATH


def calcom_webhook_url(base_url: str) -> str:
    """The URL to register as Cal.com webhook subscriber.

    Args:
        base_url: Public base URL of the API; a trailing slash is ignored.

    Returns:
        ``<base_url>/calcom/webhook``.
    """
    return base_url.rstrip("/") + CALCOM_WEBHOOK_PATH


def tool_definitions(
    base_url: str,
    *,
    check_timeout_ms: int = CHECK_TIMEOUT_MS,
    booking_timeout_ms: int = BOOKING_TIMEOUT_MS,
) -> list[dict[str, Any]]:
    """The eight tools as Retell custom-tool dicts (``general_tools`` entries).

    Args:
        base_url: Public base URL of the API; every tool posts to
            ``<base_url>/retell/functions``.
        check_timeout_ms: Per-attempt timeout of ``check_availability`` and the quick
            tools (``extend_hold``, ``cancel_hold``, ``booking_status``,
            ``find_appointments``).
        booking_timeout_ms: Per-attempt timeout of ``start_booking`` and of the changes
            of an existing appointment (``cancel_appointment``, ``reschedule_appointment``).

    Returns:
        Fresh dicts in the order of :data:`TOOL_NAMES`, in Retell's API field names.

    Raises:
        ValueError: A timeout lies outside Retell's accepted 1,000-600,000 ms.
    """
    for label, value in (
        ("check_timeout_ms", check_timeout_ms),
        ("booking_timeout_ms", booking_timeout_ms),
    ):
        if not RETELL_MIN_TIMEOUT_MS <= value <= RETELL_MAX_TIMEOUT_MS:
            raise ValueError(
                f"{label}={value} is outside Retell's range "
                f"{RETELL_MIN_TIMEOUT_MS}-{RETELL_MAX_TIMEOUT_MS} ms"
            )
    url = functions_url(base_url)
    return [
        _custom_tool(
            CHECK_AVAILABILITY,
            "Prüft, ob die gewünschte Dienstleistung am genannten Tag zur genannten Uhrzeit "
            "frei ist (beim gewünschten Friseur, sonst bei jedem, der sie macht), und hält "
            "den Termin bei Erfolg kurz für den Anrufer fest. Aufrufen, sobald "
            "Dienstleistung, Tag und Uhrzeit bekannt sind, und jedes Mal, wenn der Anrufer "
            "einen anderen Termin oder Friseur möchte. Ist der Termin nicht frei, nennt die "
            "Antwort Alternativen, jede mit ihrem Friseur (stylist). Die Antwort enthält "
            "einen Satz (message) zum Vorlesen.",
            _check_parameters(),
            url=url,
            timeout_ms=check_timeout_ms,
            filler="Einen Moment, ich schaue kurz nach.",
        ),
        _custom_tool(
            START_BOOKING,
            "Bucht den zuletzt geprüften und gehaltenen Termin verbindlich für den Kunden. "
            "Aufrufen, sobald der Anrufer den Termin möchte und seinen Namen genannt hat. "
            "Ohne vorherige Prüfung können Dienstleistung, Tag und Uhrzeit mitgegeben "
            "werden; dann wird in einem Schritt geprüft und gebucht. Die Antwort wiederholt "
            'den verstandenen Namen. Bei Status "pending" später booking_status aufrufen.',
            _booking_parameters(),
            url=url,
            timeout_ms=booking_timeout_ms,
            filler="Einen Moment, ich trage den Termin ein.",
        ),
        _custom_tool(
            EXTEND_HOLD,
            "Hält den gerade reservierten Termin länger fest. Aufrufen, wenn der Anrufer "
            "Zeit braucht, bevor gebucht werden kann (Namen buchstabieren, nachdenken, "
            "im Kalender nachsehen), spätestens nach etwa einer Minute Gespräch.",
            _no_parameters(),
            url=url,
            timeout_ms=check_timeout_ms,
        ),
        _custom_tool(
            CANCEL_HOLD,
            "Gibt den gehaltenen Termin wieder frei. Aufrufen, wenn der Anrufer den "
            "angebotenen Termin doch nicht möchte oder das Gespräch ohne Buchung endet.",
            _no_parameters(),
            url=url,
            timeout_ms=check_timeout_ms,
        ),
        _custom_tool(
            BOOKING_STATUS,
            'Fragt das Ergebnis einer Buchung ab. Aufrufen, wenn start_booking "pending" '
            "geantwortet hat, oder wenn der Anrufer wissen möchte, ob sein Termin steht.",
            _no_parameters(),
            url=url,
            timeout_ms=check_timeout_ms,
        ),
        _custom_tool(
            FIND_APPOINTMENTS,
            "Sucht die anstehenden Termine des Anrufers (über die Nummer, von der er anruft). "
            "Aufrufen, wenn der Anrufer nach seinem Termin fragt oder ihn absagen oder "
            "verschieben möchte. Findet die Nummer nichts und ruft er von einer anderen "
            "Nummer an, mit customer_name und date erneut aufrufen.",
            _find_parameters(),
            url=url,
            timeout_ms=check_timeout_ms,
        ),
        _custom_tool(
            CANCEL_APPOINTMENT,
            "Sagt einen bestehenden Termin des Anrufers verbindlich ab. Erst aufrufen, wenn "
            "der Anrufer die Absage des genannten Termins bestätigt hat. Alle Teile des "
            "Termins werden abgesagt, die Zeit ist sofort wieder frei.",
            _cancel_parameters(),
            url=url,
            timeout_ms=booking_timeout_ms,
            filler="Einen Moment, ich sage den Termin ab.",
        ),
        _custom_tool(
            RESCHEDULE_APPOINTMENT,
            "Verschiebt einen bestehenden Termin: bucht den neuen Termin (dieselbe "
            "Dienstleistung) und sagt danach den alten ab. Klappt der neue nicht, bleibt der "
            "alte unverändert. Vorher den neuen Termin mit check_availability und "
            "appointment_id prüfen und vom Anrufer bestätigen lassen. Bei Status "
            '"pending" später booking_status aufrufen.',
            _reschedule_parameters(),
            url=url,
            timeout_ms=booking_timeout_ms,
            filler="Einen Moment, ich verschiebe den Termin.",
        ),
    ]
