"""Alembic environment: online migrations only, serialized by an advisory lock so a
worker, the API and ``booking migrate`` starting together cannot race each other."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from store.db import normalize_url
from store.models import metadata

MIGRATION_LOCK = 7_205_311  # arbitrary, constant: pg_advisory_lock key for migrations

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL given to the migrations")

engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
with engine.connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    connection.commit()
    try:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
engine.dispose()
