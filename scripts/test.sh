#!/usr/bin/env bash
# README command 2: set up (with test tools and chromium), lint and type-check (scripts/lint.sh:
# ruff, mypy, hadolint, ESLint, tsc; a failure stops the run before any test), then run every
# test suite: backend (pytest: API, engines, RAG, downloads, ...), frontend unit (Vitest),
# browser e2e (Playwright on Debian's chromium against the real app with the bundled SmolLM2
# as default). The tiny demo model is built here, not by README command 1 (setup.sh): only
# tests need it.
# Extra arguments go to pytest (e.g. -k chat).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --dev
.venv/bin/playground make-test-models --only tiny

echo "== lint and types"
bash scripts/lint.sh

echo "== backend tests"
# One process by default. PYTEST_WORKERS=2 runs two pytest-xdist workers, each taking whole
# test files (about 1.5x faster here, but two of three such runs had a failure a serial run does
# not have: a load-sensitive thread count, and once a port drawn by both workers; see
# docs/performance.md). Tests marked `alone` (a server's threads or memory after a load round)
# run afterwards on their own; "no tests selected" (5) is fine there when "$@" filters them out.
.venv/bin/python -m pytest backend/tests -n "${PYTEST_WORKERS:-0}" --dist loadfile -m "not alone" "$@"
.venv/bin/python -m pytest backend/tests -m alone "$@" || [ $? -eq 5 ]

if [ -f frontend/package.json ]; then
  echo "== frontend unit tests"
  (cd frontend && npm run test --silent)
  echo "== browser end-to-end tests"
  (cd frontend && npm run e2e --silent)
fi
