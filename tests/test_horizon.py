"""The booking horizon (BOOKING_HORIZON_DAYS): calendar days in the salon's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.horizon import beyond_horizon, last_bookable_day
from domain.messages import msg_too_far_ahead

ZONE = ZoneInfo("Europe/Berlin")
# 23:30 UTC on 1 December is already 2 December in Berlin.
LATE_EVENING = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def test_the_last_bookable_day_counts_from_the_salons_today() -> None:
    assert last_bookable_day(LATE_EVENING, ZONE, 90) == date(2027, 3, 2)
    assert last_bookable_day(datetime(2026, 12, 1, 8, tzinfo=UTC), ZONE, 90) == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("start", "beyond"),
    [
        (datetime(2027, 3, 2, 19, 59, tzinfo=ZONE), False),  # the last day, any hour
        (datetime(2027, 3, 3, 9, 0, tzinfo=ZONE), True),
        (datetime(2027, 3, 2, 23, 30, tzinfo=UTC), True),  # 00:30 on 3 March in Berlin
        (datetime(9999, 1, 1, 10, 0, tzinfo=ZONE), True),
        (datetime(2099, 6, 1, 10, 0, tzinfo=ZONE), True),
        (datetime(2026, 12, 3, 10, 0, tzinfo=ZONE), False),
    ],
)
def test_beyond_the_horizon(start: datetime, beyond: bool) -> None:
    assert beyond_horizon(start, now=LATE_EVENING, zone=ZONE, horizon_days=90) is beyond


def test_the_answer_says_until_when_the_salon_books() -> None:
    message = msg_too_far_ahead(date(2027, 3, 2), date(2026, 12, 2))
    assert "So weit im Voraus" in message
    assert "bis Dienstag, den 2. März" in message and message.endswith("?")
