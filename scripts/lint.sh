#!/usr/bin/env bash
# Lints everything that has a linter: ruff on the backend, hadolint on the Dockerfiles,
# TypeScript (and ESLint once the frontend has a config) on the UI. Runs them all, then exits
# non-zero if any failed. Needs `scripts/setup.sh --dev`.
# Usage: scripts/lint.sh [--fix]   (--fix lets ruff repair what it can)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FIX=()
[ "${1:-}" = "--fix" ] && FIX=(--fix)
FAILED=()

check() {  # check NAME COMMAND...: run one linter, remember a failure
  local name="$1"; shift
  echo "== $name"
  "$@" || FAILED+=("$name")
}

check ruff .venv/bin/ruff check "${FIX[@]}" backend
check hadolint .venv/bin/hadolint backend/Dockerfile backend/Dockerfile.gpu
if [ -f frontend/package.json ]; then
  check tsc bash -c "cd frontend && npx --no-install tsc -p tsconfig.json --noEmit"
  if ls frontend/eslint.config.* frontend/.eslintrc* >/dev/null 2>&1; then
    check eslint bash -c "cd frontend && npx --no-install eslint ."
  fi
fi

if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "lint: failed: ${FAILED[*]}" >&2
  exit 1
fi
echo "lint: clean"
