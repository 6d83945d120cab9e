#!/usr/bin/env bash
# Pull the views repository and run duro-schedule once.
# A lock keeps two cron runs from overlapping.
set -euo pipefail

views="${DURO_VIEWS__PATH:-/srv/duro/views}"
lock="${DURO_LOCK:-/tmp/duro-schedule.lock}"

exec 9>"$lock"
if ! flock -n 9; then
    echo "previous run still in progress, skipping" >&2
    exit 0
fi

git -C "$views" pull --ff-only --quiet
exec duro-schedule --config "${DURO_CONFIG:-/etc/duro/duro.yaml}" --git
