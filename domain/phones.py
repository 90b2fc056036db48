"""Phone numbers compared as numbers, not strings: ``0171 2345678``, ``+49 171 2345678``
and ``+491712345678`` are one customer in a German salon."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import phonenumbers


@lru_cache(maxsize=64)
def region_for_timezone(zone: str) -> str | None:
    """The country of an IANA time zone (``Europe/Berlin`` -> ``DE``), from tzdata's
    ``zone.tab`` (one country per zone); None for zones of no single country (``UTC``)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    for line in table.splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and fields[2] == zone:
            return fields[0]
    return None


def normalise_phone(text: str | None, region: str | None) -> str | None:
    """``text`` in E.164 (``+491712345678``), national numbers read in ``region``.

    Args:
        text: a phone number as spoken, typed or sent by the telephony provider.
        region: ISO 3166 country for numbers without a country code (``DE``).

    Returns:
        The E.164 form, or None when ``text`` is not a phone number.
    """
    if not text or not text.strip():
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> str:
    """The national significant number's digits (``+491712345678`` -> ``1712345678``):
    every way of writing the number ends with them."""
    return str(phonenumbers.parse(e164).national_number)


def masked(e164: str) -> str:
    """A number shown without revealing it (``+49**********78``) for confirmations."""
    return e164[:3] + "*" * (len(e164) - 5) + e164[-2:]
