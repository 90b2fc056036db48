"""What the activities need, created once per worker process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from calcom.client import CalcomClient
from domain.catalog import Catalog


@dataclass(frozen=True)
class ActivityDeps:
    calcom: CalcomClient
    engine: AsyncEngine
    catalog: Catalog
