#!/usr/bin/env bash
# The test command: every unit, integration and CLI test of the workspace.
# Needs only the Rust toolchain and git (both on a fresh machine of this image).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v git >/dev/null || { echo "tests/run.sh: git is required (apt-get install -y git)" >&2; exit 2; }
cargo test --workspace --locked "$@"
