"""Cal.com bookings made elsewhere (the salon's own calendar, the web), learned from
Cal.com's webhooks: their time is busy for everyone (``store.holds.busy_intervals`` reads
it beside the claims).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import rows_by_start
from store.models import outside_bookings


async def record_outside_booking(
    engine: AsyncEngine,
    *,
    calcom_uid: str,
    event_type_id: int | None,
    resource: str,
    start: datetime,
    end: datetime,
) -> None:
    """Upsert a Cal.com booking we learned about from a webhook (repeat deliveries too)."""
    async with engine.begin() as conn:
        stmt = pg_insert(outside_bookings).values(
            calcom_uid=calcom_uid,
            event_type_id=event_type_id,
            resource=resource,
            start_at=start,
            end_at=end,
            status="accepted",
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["calcom_uid"],
                set_={
                    "event_type_id": stmt.excluded.event_type_id,
                    "resource": stmt.excluded.resource,
                    "start_at": stmt.excluded.start_at,
                    "end_at": stmt.excluded.end_at,
                    "status": "accepted",
                    "updated_at": func.now(),
                },
            )
        )


async def cancel_outside_booking(engine: AsyncEngine, calcom_uid: str) -> bool:
    """Mark the booking cancelled (its time is free again); False if it is unknown."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(outside_bookings)
            .where(outside_bookings.c.calcom_uid == calcom_uid)
            .values(status="cancelled", updated_at=func.now())
        )
        return bool(result.rowcount)


async def list_outside_bookings(
    engine: AsyncEngine, *, resource: str | None = None
) -> list[dict[str, Any]]:
    """Every outside booking's row (on ``resource``, if given) in time order."""
    return await rows_by_start(engine, outside_bookings, resource=resource)


__all__ = ["cancel_outside_booking", "list_outside_bookings", "record_outside_booking"]
