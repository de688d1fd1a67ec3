#!/usr/bin/env bash
# Regenerates the browser's typed API client from the backend's OpenAPI document:
#   frontend/openapi.json (dumped from create_app(), no server needed) and
#   frontend/src/client/schema.d.ts (openapi-typescript; used by openapi-fetch in src/lib/api.ts).
# Run it after any backend route or schema change; the output is committed, never edited by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/backend"
"$ROOT/.venv/bin/python" -c "import json; from app.main import create_app; print(json.dumps(create_app().openapi(), indent=1, sort_keys=True))" \
  > "$ROOT/frontend/openapi.json"
cd "$ROOT/frontend"
npx --no-install openapi-typescript openapi.json --default-non-nullable false -o src/client/schema.d.ts
echo "client regenerated: $(grep -c '"operationId"' openapi.json) operations"
