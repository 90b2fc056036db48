"""How a salon reaches a customer: the phone and e-mail a booking carries. Pure.

A booking never fails for contact details. Cal.com needs an attendee e-mail or an
international phone number and refuses anything else, so:

- At the API, what the caller said is cleaned into a :class:`CustomerContact`: the phone
  they gave, else the number they call from (Retell's ``from_number``), in E.164; an
  e-mail only if it is one. Whatever is unusable is dropped.
- At the booking, :func:`attendee_contact` adds the salon's fallback address
  (``BOOKING_FALLBACK_EMAIL``) when neither is left, so the attendee is always reachable
  for Cal.com's purposes.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from domain.phones import to_e164

__all__ = [
    "AttendeeContact",
    "CustomerContact",
    "attendee_contact",
    "customer_contact",
    "usable_email",
]

_MAX_EMAIL_INPUT = 320  # RFC 5321: 64 + 1 + 255


def usable_email(raw: str | None) -> str | None:
    """An e-mail address by its syntax (no DNS look-up), normalised, or None.

    Args:
        raw: The address as given ("Max.Muster@Example.COM", "max at gmail dot com").

    Returns:
        "Max.Muster@example.com", or None when it is not an address a mail server would
        accept (no "@", no domain with a dot, spaces, control characters, reserved
        domains such as ``.invalid``).
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text or len(text) > _MAX_EMAIL_INPUT:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@dataclass(frozen=True, slots=True)
class CustomerContact:
    """The customer's contact details, clean.

    Attributes:
        phone: E.164, from what the caller said or else from the number they call from.
        email: A syntactically valid address, or None.
        phone_dropped: The caller gave a number that could not be used.
    """

    phone: str | None
    email: str | None
    phone_dropped: bool = False

    @property
    def reachable(self) -> bool:
        """The salon has a way to reach the customer (a phone or an e-mail)."""
        return bool(self.phone or self.email)


def customer_contact(
    said_phone: str | None,
    said_email: str | None,
    from_number: str | None,
    *,
    region: str | None,
) -> CustomerContact:
    """Clean what the caller said, falling back to the number they call from.

    Args:
        said_phone: ``customer_phone`` as the agent passed it, or None.
        said_email: ``customer_email`` as the agent passed it, or None.
        from_number: The call's ``from_number`` (may be "anonymous").
        region: The salon's country for national numbers ("DE").

    Returns:
        The contact to book with; both fields may be None.
    """
    given = to_e164(said_phone, region)
    dropped = bool(said_phone and said_phone.strip()) and given is None
    return CustomerContact(
        phone=given or to_e164(from_number, region),
        email=usable_email(said_email),
        phone_dropped=dropped,
    )


@dataclass(frozen=True, slots=True)
class AttendeeContact:
    """What a Cal.com attendee carries: at least one of the two is set."""

    email: str | None
    phone_number: str | None


def attendee_contact(
    phone: str | None,
    email: str | None,
    *,
    region: str | None,
    fallback_email: str,
) -> AttendeeContact:
    """The attendee's e-mail and phone for Cal.com; never neither.

    The values are cleaned again here (a workflow started before the API cleaned them may
    still carry a raw number), and the salon's ``fallback_email`` is used when no usable
    phone or e-mail is left.

    Args:
        phone: The customer's phone (E.164 from the API, or anything older).
        email: The customer's e-mail.
        region: The salon's country for national numbers.
        fallback_email: The salon's own contact address (``BOOKING_FALLBACK_EMAIL``).

    Returns:
        The attendee's contact details.
    """
    number = to_e164(phone, region)
    address = usable_email(email)
    if number is None and address is None:
        address = fallback_email
    return AttendeeContact(email=address, phone_number=number)
