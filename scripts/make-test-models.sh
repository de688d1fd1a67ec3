#!/usr/bin/env bash
# Builds the project's own test models into MP_MODELS_DIR (default models/): `tiny` (demo and
# tests) and `bench-0.5b` (benchmarks). Extra arguments go to the command, e.g. --only tiny.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$ROOT/.venv/bin/playground" make-test-models "$@"
