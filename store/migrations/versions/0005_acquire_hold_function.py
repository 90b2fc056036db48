"""acquire_hold(): claiming a hold in one round trip (store/holds.py, issue 17).

The claim was a transaction of five round trips (BEGIN, the stylists' advisory locks, the
sweep of expired claims, the insert, COMMIT); on the caller's path each one waits for the
worker's busy event loop. The function does the same steps in the same order, in one
statement: it takes the locks, sweeps, inserts, and answers what came of it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# p_claims: [{"segment_key", "resource", "event_type", "start", "end"}, ...].
# Answers 'acquired', 'conflict' (the exclusion constraint refused: nothing was written)
# or 'placed' (this hold's claims exist already: a retry).
ACQUIRE_HOLD = """
CREATE OR REPLACE FUNCTION acquire_hold(
    p_hold_id text, p_call_id text, p_claims jsonb, p_expires_at timestamptz,
    p_now timestamptz
) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    -- One lock per stylist, in sorted order (see store/holds.py, _LOCK_RESOURCES).
    PERFORM pg_advisory_xact_lock(hashtextextended(r, 0))
    FROM (
        SELECT DISTINCT c->>'resource' AS r FROM jsonb_array_elements(p_claims) c
    ) wanted
    ORDER BY r;
    UPDATE claims SET status = 'expired', updated_at = now()
    WHERE status = 'held' AND expires_at <= p_now
      AND EXISTS (
        SELECT 1 FROM jsonb_array_elements(p_claims) c
        WHERE claims.resource = c->>'resource'
          AND claims.start_at < (c->>'end')::timestamptz
          AND claims.end_at > (c->>'start')::timestamptz
      );
    INSERT INTO claims (
        hold_id, call_id, segment_key, resource, calcom_event_type_id,
        start_at, end_at, status, expires_at
    )
    SELECT p_hold_id, p_call_id, c->>'segment_key', c->>'resource',
           (c->>'event_type')::integer, (c->>'start')::timestamptz,
           (c->>'end')::timestamptz, 'held', p_expires_at
    FROM jsonb_array_elements(p_claims) c
    ORDER BY c->>'resource', (c->>'start')::timestamptz;
    RETURN 'acquired';
EXCEPTION
    WHEN exclusion_violation THEN RETURN 'conflict';
    WHEN unique_violation THEN RETURN 'placed';
END
$$
"""


def upgrade() -> None:
    op.execute(ACQUIRE_HOLD)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS acquire_hold(text, text, jsonb, timestamptz, timestamptz)")
