"""Phone numbers as callers say them, made fit for Cal.com (E.164). Pure.

Cal.com wants an attendee's phone in international format and refuses the booking
otherwise, so every number that reaches a booking passes :func:`to_e164` first. Callers
say national numbers ("0151 12345678", "+49 (0)151-1234 5678", "030/123456"); Retell's
``from_number`` is usually E.164 already but may be "anonymous" for a withheld number.
National numbers are read in the salon's country, derived from its time zone
(:func:`region_for_timezone`: ``Europe/Berlin`` -> ``DE``).

A number that is not a valid number of its country (too short, letters only, a withheld
caller) gives ``None``: an unusable number is dropped, never an error.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import phonenumbers

__all__ = ["masked", "national_digits", "region_for_timezone", "to_e164"]

# Longer than any phone number said with spaces and an extension; longer input is noise.
_MAX_INPUT = 64


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO 3166 country, from the tz database's ``zone.tab`` (one country
    per zone, shipped in the ``tzdata`` package)."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    countries: dict[str, str] = {}
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            countries[fields[2]] = fields[0]
    return countries


def region_for_timezone(timezone: str) -> str | None:
    """The country whose national numbers a salon in ``timezone`` hears.

    Args:
        timezone: An IANA zone, e.g. ``Europe/Berlin`` (the salon's ``SALON_TIMEZONE``).

    Returns:
        The ISO 3166 alpha-2 code ("DE"), or None for a zone of no single country
        ("UTC", "Etc/GMT+1"): then only numbers in international format are usable.
    """
    return _zone_countries().get(timezone)


def to_e164(raw: str | None, region: str | None) -> str | None:
    """A spoken or typed phone number in E.164, or None when it is not a usable number.

    Args:
        raw: The number as given: "0151 12345678", "+49 151 12345678",
            "+49 (0)151-1234 5678", "0049 30 123456", "anonymous", None.
        region: The country national numbers belong to ("DE"), see
            :func:`region_for_timezone`; None accepts international numbers only.

    Returns:
        "+4915112345678", or None for an empty, withheld, too long, impossible or invalid
        number (validity by libphonenumber's metadata, as Cal.com checks it). An
        extension is dropped: E.164 has none.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text or len(text) > _MAX_INPUT:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> str:
    """The national significant number's digits (``+491712345678`` -> ``1712345678``):
    every way of writing the number ends with them."""
    return str(phonenumbers.parse(e164).national_number)


def masked(e164: str) -> str:
    """A number shown without revealing it (``+49**********78``) for confirmations."""
    return e164[:3] + "*" * (len(e164) - 5) + e164[-2:]
