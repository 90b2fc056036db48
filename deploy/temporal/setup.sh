#!/bin/sh
# One-shot set-up of the Temporal cluster for the booking system. Run by the
# `temporal-setup` service of docker-compose.yml (temporalio/admin-tools image, which has
# the `temporal` CLI) and by tests/test_deploy.py against a real dev server.
# Idempotent, so it runs on every `docker compose up`:
#   1. waits until the frontend answers `temporal operator cluster health`;
#   2. creates the namespace unless it exists (the temporalio/server image creates none);
#   3. registers the search attributes the workflows upsert. An unregistered one does not
#      fail loudly: the workflow task retries forever. Re-registering a name with the same
#      type is a no-op; with another type the server refuses and this script fails.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required, e.g. temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${TEMPORAL_NAMESPACE_RETENTION:=30d}"
# "Name=Type" pairs separated by spaces, e.g. "CallId=Keyword SlotStart=Datetime".
: "${SEARCH_ATTRIBUTES:?SEARCH_ATTRIBUTES is required, e.g. CallId=Keyword}"
: "${SETUP_ATTEMPTS:=90}"
: "${SETUP_SLEEP_SECONDS:=2}"

ADDRESS="--address $TEMPORAL_ADDRESS"

# wait_for <what> <command...>: retry the command until it succeeds; show its last error.
wait_for() {
  what=$1
  shift
  attempt=1
  while ! out=$("$@" 2>&1); do
    if [ "$attempt" -ge "$SETUP_ATTEMPTS" ]; then
      echo "temporal-setup: gave up waiting for $what after $attempt attempts:" >&2
      echo "$out" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep "$SETUP_SLEEP_SECONDS"
  done
}

echo "temporal-setup: waiting for the cluster at $TEMPORAL_ADDRESS"
# shellcheck disable=SC2086  # ADDRESS is two words on purpose
wait_for "cluster health" temporal operator cluster health $ADDRESS

# shellcheck disable=SC2086
if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" $ADDRESS >/dev/null 2>&1; then
  echo "temporal-setup: namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
    --retention "$TEMPORAL_NAMESPACE_RETENTION" $ADDRESS
fi

# A new namespace reaches the frontend's namespace cache a few seconds after creation.
# shellcheck disable=SC2086
wait_for "namespace $TEMPORAL_NAMESPACE" \
  temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" $ADDRESS

set --
for pair in $SEARCH_ATTRIBUTES; do
  set -- "$@" --name "${pair%%=*}" --type "${pair#*=}"
done
# shellcheck disable=SC2086
temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" "$@" $ADDRESS
echo "temporal-setup: namespace $TEMPORAL_NAMESPACE ready with search attributes: $SEARCH_ATTRIBUTES"
