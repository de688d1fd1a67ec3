#!/usr/bin/env bash
# Sets up Mistral Playground from nothing, idempotently (fast when already done):
#   .venv with the pinned Python dependencies and the backend installed as `playground`,
#   the frontend built into frontend/dist, and the tiny demo model when no model exists.
# Usage: scripts/setup.sh [--dev] [--no-frontend] [--no-model]
#   --dev  also test tools, Debian's chromium for browser tests, and frontend dev deps.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEV=0; FRONTEND=1; MODEL=1
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    --no-frontend) FRONTEND=0 ;;
    --no-model) MODEL=0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- Python -------------------------------------------------------------------------------------
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
[ -n "$PYTHON" ] || { echo "Python 3.11 is required" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"

REQS=requirements-cpu.txt
[ "$DEV" = 1 ] && REQS=requirements-dev.txt
STAMP=".venv/.setup-$(basename "$REQS" .txt)"
WANT="$(cat requirements-cpu.txt requirements-dev.txt requirements-extras.txt backend/pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  log "installing Python dependencies ($REQS)"
  "$VPY" -m pip install --quiet --upgrade pip
  # llama-cpp-python builds from source (no wheel on PyPI): skip the parts we do not use.
  # pip keeps the built wheel in its cache, so later installs take seconds.
  export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF}"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
  "$VPY" -m pip install --quiet -r "$REQS"
  # Optional engines the tests exercise (ctransformers); plain installs skip them.
  if [ "$DEV" = 1 ]; then "$VPY" -m pip install --quiet -r requirements-extras.txt; fi
  "$VPY" -m pip install --quiet --no-deps -e backend
  echo "$WANT" > "$STAMP"
else
  log "Python dependencies up to date"
fi

# --- browser for end-to-end tests ---------------------------------------------------------------
if [ "$DEV" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium for browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# --- frontend ------------------------------------------------------------------------------------
if [ "$FRONTEND" = 1 ] && [ -f frontend/package.json ]; then
  command -v npm >/dev/null 2>&1 || { echo "Node 20 and npm are required for the UI" >&2; exit 1; }
  LOCKSUM="$(sha256sum frontend/package-lock.json | cut -c1-16)"
  if [ "$(cat frontend/node_modules/.setup-stamp 2>/dev/null)" != "$LOCKSUM" ]; then
    log "installing frontend dependencies"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCKSUM" > frontend/node_modules/.setup-stamp
  fi
  SRCSUM="$(cd frontend && find src public index.html package-lock.json vite.config.* tailwind.config.* \
            -type f 2>/dev/null | sort | xargs cat | sha256sum | cut -c1-16)"
  if [ "$(cat frontend/dist/.build-stamp 2>/dev/null)" != "$SRCSUM" ]; then
    log "building the UI"
    (cd frontend && npm run build --silent)
    echo "$SRCSUM" > frontend/dist/.build-stamp
  fi
fi

# --- a model to talk to --------------------------------------------------------------------------
MODELS_DIR="${MP_MODELS_DIR:-$ROOT/models}"
if [ "$MODEL" = 1 ] && [ -z "$(find "$MODELS_DIR" -mindepth 1 -maxdepth 1 \( -name '*.gguf' -o -type d \) ! -name '.*' 2>/dev/null)" ]; then
  log "no model in $MODELS_DIR: building the tiny demo model (about 2 minutes)"
  .venv/bin/playground make-test-models --only tiny
fi
log "ready"
