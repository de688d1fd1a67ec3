#!/usr/bin/env bash
# Lints and type-checks everything: ruff (check and format --check) and mypy on the backend,
# hadolint on the Dockerfiles, ESLint and tsc --noEmit on the UI. Runs them all, then exits
# non-zero if any failed. scripts/test.sh runs it before the test suites. Needs
# `scripts/setup.sh --dev`. Configs: backend/pyproject.toml ([tool.ruff], [tool.mypy]),
# frontend/eslint.config.js, frontend/tsconfig.json.
# Usage: scripts/lint.sh [--fix]   (--fix lets ruff repair and format what it can)
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
if [ "${#FIX[@]}" -gt 0 ]; then
  check ruff-format .venv/bin/ruff format backend
else
  check ruff-format .venv/bin/ruff format --check backend
fi
# mypy reads [tool.mypy] in backend/pyproject.toml (files = app); its cache makes reruns fast.
check mypy bash -c "cd backend && ../.venv/bin/mypy"
check hadolint .venv/bin/hadolint backend/Dockerfile backend/Dockerfile.gpu
if [ -f frontend/package.json ]; then
  check eslint bash -c "cd frontend && npm run --silent lint"
  check tsc bash -c "cd frontend && npm run --silent typecheck"
fi

if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "lint: failed: ${FAILED[*]}" >&2
  exit 1
fi
echo "lint: clean"
