"""The shared Cal.com request budget in PostgreSQL: one row per API key (its SHA-256, never
the key), every process takes from it in one statement.

The row holds the bucket's theoretical arrival time (GCRA, unix seconds): the bucket is
full when it lies in the past; each request moves it ``cost`` seconds on; a request is
allowed while it stays within ``allowance`` seconds ahead of now. One statement takes for
a batch of requests as many tokens as fit (``calcom.budget.take_from`` is the same rule),
or all of them for requests already sent (``force``), and says how many are left.
``UPDATE ... FROM (SELECT ... FOR UPDATE)`` locks the row, so concurrent processes take
turns, and returns the decision in the same round trip.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from calcom.budget import Take
from store.db import single_statements

_TAKE = text(
    """
    UPDATE calcom_rate_budget AS b
    SET tat = GREATEST(o.tat, o.t) + n.taken * :cost,
        updated_at = now()
    FROM (
        SELECT key_hash, tat,
               COALESCE(CAST(:now AS double precision),
                        EXTRACT(EPOCH FROM clock_timestamp())::double precision)
                 - CAST(:age AS double precision) AS t
        FROM calcom_rate_budget WHERE key_hash = :key FOR UPDATE
    ) AS o
    CROSS JOIN LATERAL (
        SELECT CASE WHEN CAST(:force AS boolean) THEN CAST(:count AS integer)
                    ELSE GREATEST(0, LEAST(CAST(:count AS integer), FLOOR(
                        (:allowance - (GREATEST(o.tat, o.t) - o.t)) / :cost + 1e-9)::integer))
               END AS taken
    ) AS n
    WHERE b.key_hash = o.key_hash
    RETURNING n.taken,
              GREATEST(o.tat, o.t) + (n.taken + 1) * :cost - o.t - :allowance AS wait,
              (:allowance - (GREATEST(o.tat, o.t) + n.taken * :cost - o.t)) / :cost AS left
    """
)
_CREATE = text(
    "INSERT INTO calcom_rate_budget (key_hash, tat) VALUES (:key, 0) "
    "ON CONFLICT (key_hash) DO NOTHING"
)


def key_hash(api_key: str) -> str:
    """The row's key: SHA-256 of the API key (hex)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class PostgresBucket:
    """A :class:`calcom.budget.BucketStore` in PostgreSQL, shared by every process that
    uses the same database and API key.

    Args:
        engine: the store's engine (one pool per process).
        api_key: the Cal.com API key whose budget this is.
    """

    def __init__(self, engine: AsyncEngine, api_key: str) -> None:
        self._engine = engine
        self._key = key_hash(api_key)
        self._created = False

    async def try_take(
        self,
        cost: float,
        allowance: float,
        now: float | None,
        count: int = 1,
        force: bool = False,
        age: float = 0.0,
    ) -> Take:
        params = {
            "age": age,
            "key": self._key,
            "cost": cost,
            "allowance": allowance,
            "now": now,
            "count": count,
            "force": force,
        }
        # Each statement is atomic on its own: no transaction around them (one round trip).
        async with single_statements(self._engine).connect() as conn:
            if not self._created:
                await conn.execute(_CREATE, {"key": self._key})
                self._created = True
            row = (await conn.execute(_TAKE, params)).one_or_none()
        if row is None:  # the row went away (a restore): create it again next time
            self._created = False
            return Take(0, cost, 0.0)
        return Take(int(row.taken), float(row.wait), float(row.left))
