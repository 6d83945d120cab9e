#!/usr/bin/env bash
# The main job on views-example, end to end: build Duro, start a private PostgreSQL (unless
# DURO_WAREHOUSE__URL names a warehouse), load the example's source tables, check and schedule
# the views (duro-schedule), probe the warehouse (duro-create --check-warehouse), build every
# due table (duro-create --once), show the result, and
# ask the web UI (duro-server) about it. With DURO_EXAMPLE_SERVE=1 the web UI then keeps running
# on http://127.0.0.1:8080/ until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work="$root/target/example"
mkdir -p "$work"

cargo build --locked --quiet --bin duro-schedule --bin duro-create --bin duro-server
schedule="$root/target/debug/duro-schedule"
create="$root/target/debug/duro-create"
server="$root/target/debug/duro-server"

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
echo "== Checking the warehouse (duro-create --check-warehouse) =="
"$create" --config duro.yaml --check-warehouse

echo
echo "== Building (duro-create --once) =="
"$create" --config duro.yaml --once

echo
echo "== first.people in the warehouse =="
psql "$DURO_WAREHOUSE__URL" -c "select * from first.people order by person_id limit 5"
echo "State file: $work/duro.db   Dependency graph: $work/dependencies.dot"

echo
echo "== The web UI's view of it (duro-server, /api/stats and /api/tables) =="
DURO_LOG=${DURO_LOG:-warn} "$server" --config duro.yaml --bind 127.0.0.1:0 > "$work/server.out" &
server_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o "http://[^ ]*" "$work/server.out" | head -n 1)
python3 - "$url" <<'PY'
import json, sys, urllib.request
base = sys.argv[1].rstrip("/")
stats = json.load(urllib.request.urlopen(base + "/api/stats"))
print(f"last 24 h: {stats['tables']} tables built, {stats['builds']} builds, {stats['failures']} failures")
for row in json.load(urllib.request.urlopen(base + "/api/tables?sort=name")):
    print(f"  {row['name']:24} {row['status']:8} last built {row['last_success_at'] or 'never'}")
PY
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
if [ -n "${DURO_EXAMPLE_SERVE:-}" ]; then
  echo
  echo "== Web UI on http://127.0.0.1:8080/ (Ctrl-C stops it and the private PostgreSQL) =="
  "$server" --config duro.yaml --bind 127.0.0.1:8080
fi
