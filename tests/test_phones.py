"""Phone numbers as callers say them, turned into what Cal.com accepts (E.164)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.phones import region_for_timezone, to_e164

MOBILE = "+4915112345678"


@pytest.mark.parametrize(
    "said",
    [
        "0151 12345678",
        "+49 151 12345678",
        "+49 (0)151-1234 5678",
        "0049 151 12345678",
        "0151/12345678",
        "(0151) 12345678",
        "+4915112345678",
        "  0151-12345678  ",
        "tel:+49-151-12345678",
        "Meine Nummer ist 0151 12345678",
    ],
)
def test_german_forms_of_one_mobile_number_become_one_e164_number(said: str) -> None:
    assert to_e164(said, "DE") == MOBILE


def test_a_landline_and_a_foreign_number() -> None:
    assert to_e164("030 123456", "DE") == "+4930123456"
    assert to_e164("+43 664 1234567", "DE") == "+436641234567"
    assert to_e164("+1 202 555 0143", "DE") == "+12025550143"


@pytest.mark.parametrize(
    "said",
    [
        None,
        "",
        "   ",
        "anonymous",
        "unknown",
        "weiß ich nicht",
        "0151 123",  # too short
        "+49 151 1234567",  # one digit missing for a 0151 number
        "112",  # an emergency number is no customer's number
        "0151\x0012345678",
        "0151 12345678 und 030 123456",
        "0" * 200,
    ],
)
def test_unusable_numbers_are_dropped_not_errors(said: str | None) -> None:
    assert to_e164(said, "DE") is None


def test_without_a_region_only_international_numbers_are_usable() -> None:
    assert to_e164("0151 12345678", None) is None
    assert to_e164("+49 151 12345678", None) == MOBILE


def test_the_region_follows_the_salon_time_zone() -> None:
    assert region_for_timezone("Europe/Berlin") == "DE"
    assert region_for_timezone("Europe/Vienna") == "AT"
    assert region_for_timezone("Europe/Zurich") == "CH"
    assert region_for_timezone("UTC") is None
    assert region_for_timezone("Nowhere/Atlantis") is None
    # An Austrian salon reads "0664 ..." as an Austrian mobile number.
    assert to_e164("0664 1234567", region_for_timezone("Europe/Vienna")) == "+436641234567"


@given(st.text(max_size=80))
def test_any_text_gives_e164_or_none(text: str) -> None:
    result = to_e164(text, "DE")
    assert result is None or (result.startswith("+") and result[1:].isdigit())
