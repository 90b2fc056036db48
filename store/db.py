"""Engines for the store: one pooled async engine per process (psycopg 3)."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` too; we always drive psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_engine_for(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    """A pooled engine for ``url``.

    No ``pool_pre_ping``: it cost a round trip on every checkout, i.e. on every step of
    the caller's path (profile in docs/benchmarks.md). A connection the server dropped
    fails its statement instead; SQLAlchemy then discards it (and the pool's other
    connections of that age) and the activity's retry gets a fresh one. Connections are
    recycled after 30 minutes so none outlives a server-side idle timeout.
    """
    return create_async_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        # Claims are short transactions; never let a stuck one hold a row lock for long.
        connect_args={"options": "-c lock_timeout=5000 -c statement_timeout=10000"},
    )


_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def single_statements(engine: AsyncEngine) -> AsyncEngine:
    """The same pool for work that is one statement: in autocommit, so it costs one round
    trip instead of three (psycopg otherwise sends BEGIN before the statement and the pool
    a ROLLBACK when the connection comes back). Only for statements that are atomic on
    their own; several statements that must agree still use ``engine.begin()``.

    Made once per engine: ``execution_options`` builds a new engine object with its own
    event listeners each time (about 1 ms of the worker's CPU per check, py-spy)."""
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        found = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


async def rows_by_start(engine: AsyncEngine, table: Table, **equal: Any) -> list[dict[str, Any]]:
    """Every row of ``table`` (those whose columns equal the given values; None: any) in
    the order of their ``start_at``, as dicts (ops and tests read them)."""
    query = select(table).order_by(table.c.start_at)
    for column, value in equal.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    async with engine.connect() as conn:
        return [r._asdict() for r in await conn.execute(query)]
