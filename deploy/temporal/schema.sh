#!/bin/sh
# One-shot: creates or upgrades Temporal's two PostgreSQL databases (persistence and
# visibility) to the schema of this admin-tools version. Run by the `temporal-schema`
# service of docker-compose.yml before the server starts; idempotent (what the retired
# auto-setup image did on every start, following temporalio/samples-server compose/).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
: "${DB_PORT:=5432}"

SCHEMA=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" \
    -p "$DB_PORT" "$@"
}

for db in temporal temporal_visibility; do
  case $db in
    temporal) versioned=$SCHEMA/temporal/versioned ;;
    *) versioned=$SCHEMA/visibility/versioned ;;
  esac
  echo "temporal-schema: $db"
  # `create` fails when the database already exists: that is the normal case on restarts.
  sql_tool --db "$db" create || echo "temporal-schema: database $db exists"
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$versioned"
done
echo "temporal-schema: done"
