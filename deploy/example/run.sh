#!/usr/bin/env bash
# The main job on views-example, end to end: build Duro, start a private PostgreSQL (unless
# DURO_WAREHOUSE__URL names a warehouse), load the example's source tables, check and schedule
# the views (duro-schedule), build every due table (duro-create --once), and show the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work="$root/target/example"
mkdir -p "$work"

cargo build --locked --quiet --bin duro-schedule --bin duro-create
schedule="$root/target/debug/duro-schedule"
create="$root/target/debug/duro-create"

if [ -z "${DURO_WAREHOUSE__URL:-}" ]; then
  cluster=$(mktemp -d /tmp/duro-example-pg.XXXXXX)
  trap 'deploy/example/postgres.sh stop "$cluster"' EXIT
  DURO_WAREHOUSE__URL=$(deploy/example/postgres.sh start "$cluster")
  echo "== Started a private PostgreSQL: $DURO_WAREHOUSE__URL =="
  export DURO_WAREHOUSE__URL
  export DURO_WAREHOUSE__TLS=disable
  # A fresh warehouse: start from a fresh state file too.
  rm -f "$work"/duro.db "$work"/duro.db-wal "$work"/duro.db-shm
fi
export DURO_WAREHOUSE__DIALECT=${DURO_WAREHOUSE__DIALECT:-postgres}

echo "== Loading the source tables (deploy/example/source-tables.sql) =="
psql "$DURO_WAREHOUSE__URL" -q -v ON_ERROR_STOP=1 -f deploy/example/source-tables.sql

echo
echo "== Catalog of views-example (duro-schedule --check) =="
"$schedule" --config duro.yaml --check --dot "$work/dependencies.dot"

echo
echo "== Scheduling (duro-schedule) =="
"$schedule" --config duro.yaml

echo
echo "== Building (duro-create --once) =="
"$create" --config duro.yaml --once

echo
echo "== first.people in the warehouse =="
psql "$DURO_WAREHOUSE__URL" -c "select * from first.people order by person_id limit 5"
echo "State file: $work/duro.db   Dependency graph: $work/dependencies.dot"
