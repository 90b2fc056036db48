"""The customer's contact details: what the caller said, the number they call from, and
the salon's fallback address, so that a booking never fails for contact details."""

from __future__ import annotations

import pytest

from domain.contact import attendee_contact, customer_contact, usable_email

MOBILE = "+4915112345678"
CALLER = "+4930123456"
FALLBACK = "kein-kontakt@salon.invalid"


def test_the_number_the_caller_gives_wins_over_the_one_they_call_from() -> None:
    contact = customer_contact("0151 12345678", None, CALLER, region="DE")
    assert contact.phone == MOBILE and not contact.phone_dropped


def test_an_unusable_number_falls_back_to_the_callers_number() -> None:
    contact = customer_contact("weiß ich nicht", None, CALLER, region="DE")
    assert contact.phone == CALLER and contact.phone_dropped


def test_a_withheld_caller_without_a_number_has_no_phone() -> None:
    contact = customer_contact(None, None, "anonymous", region="DE")
    assert contact.phone is None and not contact.phone_dropped and not contact.reachable


def test_the_callers_national_number_is_read_in_the_salons_country() -> None:
    assert customer_contact(None, None, "030 123456", region="DE").phone == CALLER


@pytest.mark.parametrize(
    ("said", "usable"),
    [
        ("Max.Muster@Example.COM", "Max.Muster@example.com"),
        ("  anna@web.de ", "anna@web.de"),
        ("max at gmail dot com", None),
        ("max@gmail", None),
        ("max@web.de\x00", None),
        ("", None),
        (None, None),
    ],
)
def test_emails_are_kept_only_when_they_are_addresses(said: str | None, usable: str) -> None:
    assert usable_email(said) == usable
    assert customer_contact(None, said, CALLER, region="DE").email == usable


def test_the_attendee_always_carries_an_email_or_a_phone() -> None:
    both = attendee_contact(MOBILE, "anna@web.de", region="DE", fallback_email=FALLBACK)
    assert (both.phone_number, both.email) == (MOBILE, "anna@web.de")
    phone_only = attendee_contact(MOBILE, None, region="DE", fallback_email=FALLBACK)
    assert (phone_only.phone_number, phone_only.email) == (MOBILE, None)
    nothing = attendee_contact(None, None, region="DE", fallback_email=FALLBACK)
    assert (nothing.phone_number, nothing.email) == (None, FALLBACK)


def test_the_attendee_is_cleaned_again_for_workflows_started_before_the_api_cleaned() -> None:
    raw = attendee_contact("anonymous", "nicht vorhanden", region="DE", fallback_email=FALLBACK)
    assert (raw.phone_number, raw.email) == (None, FALLBACK)
    national = attendee_contact("0151 12345678", None, region="DE", fallback_email=FALLBACK)
    assert national.phone_number == MOBILE and national.email is None
