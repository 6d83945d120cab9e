#!/usr/bin/env bash
# The test command: every unit, integration, CLI and browser test of the workspace. The
# integration tests start their own private PostgreSQL server (a temporary cluster on a free
# loopback port) and, for replication sources, a private MariaDB server; the browser test
# drives Debian's headless Chromium with playwright-core. This script installs what is missing:
# the PostgreSQL and MariaDB servers, Chromium and a system Python (apt-get), and
# playwright-core (npm ci, from tests/browser/package-lock.json; no browser download).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v git >/dev/null || { echo "tests/run.sh: git is required (apt-get install -y git)" >&2; exit 2; }
command -v node >/dev/null || { echo "tests/run.sh: Node.js is required for the browser test (apt-get install -y nodejs npm)" >&2; exit 2; }
packages=()
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  packages+=(postgresql)
fi
[ -x /usr/bin/chromium ] || packages+=(chromium)
# A private MariaDB server is the MySQL replication source of the tests.
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || packages+=(mariadb-server)
# A system Python, which processor scripts run as another user (processors.run_as) can execute.
[ -x /usr/bin/python3 ] || packages+=(python3)
if [ ${#packages[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${packages[*]} (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ] \
  || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  echo "tests/run.sh: installing playwright-core (npm ci)" >&2
  npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
cargo test --workspace --locked "$@"
if [ -n "${DURO_TEST_REDSHIFT_URL:-}" ]; then
  echo "tests/run.sh: the Redshift suite against \$DURO_TEST_REDSHIFT_URL" >&2
  cargo test -p duro-create --features redshift-suite --test redshift --locked "$@"
else
  echo "Redshift suite: not run (DURO_TEST_REDSHIFT_URL unset)"
fi
