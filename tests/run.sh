#!/usr/bin/env bash
# The test command: every unit, integration and CLI test of the workspace. The integration tests
# start their own private PostgreSQL server (a temporary cluster on a free loopback port), so the
# PostgreSQL server binaries must be installed; this script installs them when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v git >/dev/null || { echo "tests/run.sh: git is required (apt-get install -y git)" >&2; exit 2; }
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "tests/run.sh: installing the PostgreSQL server (apt-get install postgresql)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
cargo test --workspace --locked "$@"
