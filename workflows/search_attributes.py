"""Typed search attribute keys; registered by `booking dev` and by the test fixtures."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

CALL_ID = SearchAttributeKey.for_keyword("CallId")
BOOKING_STATUS = SearchAttributeKey.for_keyword("BookingStatus")
SERVICE_NAME = SearchAttributeKey.for_keyword("ServiceName")
SLOT_START = SearchAttributeKey.for_datetime("SlotStart")
# The stylist's catalog key (``[[stylists]] key``, e.g. "anna"): search attributes are not
# encrypted, so a salon that wants no staff names in Temporal's index picks neutral keys.
STYLIST = SearchAttributeKey.for_keyword("Stylist")

ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    CALL_ID,
    BOOKING_STATUS,
    SERVICE_NAME,
    SLOT_START,
    STYLIST,
)


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    names = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    out: list[str] = []
    for key in ALL_KEYS:
        out += ["--search-attribute", f"{key.name}={names[key.indexed_value_type.name]}"]
    return out
