#!/usr/bin/env bash
# The main job on views-example, driven by ./duro.yaml: build Duro, check the example repository
# and print its catalog, then schedule it into the state file and print what changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --quiet --bin duro-schedule
schedule=target/debug/duro-schedule
mkdir -p target/example

echo "== Catalog of views-example (duro-schedule --check) =="
"$schedule" --config duro.yaml --check --dot target/example/dependencies.dot

echo
echo "== Scheduling into the state file (duro-schedule) =="
"$schedule" --config duro.yaml
echo "Dependency graph: target/example/dependencies.dot"
