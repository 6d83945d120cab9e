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

as_postgres() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }

if [ -z "${DURO_WAREHOUSE__URL:-}" ]; then
  if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "== Installing PostgreSQL (apt-get install postgresql) =="
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort | tail -n 1 || command -v initdb)")
  cluster=$(mktemp -d /tmp/duro-example-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$cluster"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "== Starting a private PostgreSQL on 127.0.0.1:$port =="
  as_postgres "$bin/initdb" -D "$cluster/data" -U duro --auth=trust -E UTF8 --no-sync >/dev/null
  as_postgres "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -c fsync=off -c unix_socket_directories=$cluster" start >/dev/null
  trap 'as_postgres "$bin/pg_ctl" -D "$cluster/data" -m fast stop >/dev/null; rm -rf "$cluster"' EXIT
  export DURO_WAREHOUSE__URL="postgres://duro@127.0.0.1:$port/postgres"
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
