"""What the activities need, created once per worker process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from calcom.client import CalcomClient
from config.settings import DEFAULT_FALLBACK_EMAIL
from domain.catalog import Catalog


@dataclass(frozen=True)
class ActivityDeps:
    calcom: CalcomClient
    engine: AsyncEngine
    catalog: Catalog
    # The attendee e-mail when a customer left no usable phone or e-mail
    # (BOOKING_FALLBACK_EMAIL): Cal.com needs one of the two.
    fallback_email: str = DEFAULT_FALLBACK_EMAIL
