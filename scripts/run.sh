#!/usr/bin/env bash
# README command 1: set everything up (idempotent) and serve API + UI on http://127.0.0.1:8000.
# Extra arguments go to `playground serve` (e.g. --port 9000 --model tiny).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec .venv/bin/playground serve "$@"
