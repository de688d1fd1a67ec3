#!/usr/bin/env bash
# Lints everything that has a linter: ruff on the backend, TypeScript (and ESLint once the
# frontend has a config) on the UI, hadolint on the Dockerfiles. Needs `scripts/setup.sh --dev`.
# Usage: scripts/lint.sh [--fix]   (--fix lets ruff repair what it can)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FIX=()
[ "${1:-}" = "--fix" ] && FIX=(--fix)

echo "== ruff (backend)"
.venv/bin/ruff check "${FIX[@]}" backend

echo "== hadolint (Dockerfiles)"
.venv/bin/hadolint backend/Dockerfile backend/Dockerfile.gpu

if [ -f frontend/package.json ]; then
  echo "== tsc (frontend)"
  (cd frontend && npx --no-install tsc -p tsconfig.json --noEmit)
  if ls frontend/eslint.config.* frontend/.eslintrc* >/dev/null 2>&1; then
    echo "== eslint (frontend)"
    (cd frontend && npx --no-install eslint .)
  fi
fi
echo "lint: clean"
