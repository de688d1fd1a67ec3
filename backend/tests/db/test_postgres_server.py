"""The real server on PostgreSQL (``MP_DATABASE_URL``): flows over HTTP that write each kind of
row, a restart that finds them again, and the faults: PostgreSQL down at start-up (refused with
one line naming the redacted URL) and stopped while serving (503 + Retry-After on routes that
need it, generation without it unaffected, recovery without a restart)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers.postgres import PASSWORD, PostgresServer, running_postgres
from tests.helpers.server import REPO_ROOT, ServerProcess, free_port
from tests.rag.client import create_collection, ingest

FAST = {"max_tokens": 8, "temperature": 0.0}
GUIDE = (
    "# Orchard guide\n\nThe Quartz Valley orchard grows the Bellweather apple. "
    "Harvest starts in the second week of October and lasts nine days.\n" * 3
).encode()


def _env(models_dir: Path, data: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        "MP_MODELS_DIR": str(models_dir),
        "MP_DATA_DIR": str(data),
        "MP_DEFAULT_MODEL": "tiny",
        "MP_THREADS": "1",
        "MP_DATABASE_URL": url,
        **extra,
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_flows_survive_a_restart(postgres: PostgresServer, models_dir: Path, tmp_path: Path):
    url = postgres.create_database("server")
    env = _env(models_dir, tmp_path, url, MP_AUTH_ENABLED="true")
    # The first admin key comes from the CLI, on the same PostgreSQL database.
    made = _cli(env, "keys", "create", "--name", "root", "--admin")
    assert made.returncode == 0, made.stderr
    admin_key = next(ln[5:] for ln in made.stdout.splitlines() if ln.startswith("key: "))
    headers = {"Authorization": f"Bearer {admin_key}"}
    server = ServerProcess(env, log_path=tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            created = client.post("/api/v1/auth/keys", json={"name": "alice"})
            assert created.status_code == 201, created.text
            user_key = created.json()["key"]
            keys = client.get("/api/v1/auth/keys").json()
            assert [k["name"] for k in keys] == ["root", "alice"]

            conv = client.post("/api/v1/conversations", json={}).json()
            answer = client.post(
                f"/api/v1/conversations/{conv['id']}/messages",
                json={"content": "def add(a, b):", "stream": False, **FAST},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["figures"]["completion_tokens"] > 0

            create_collection(client, "orchard")
            doc_id = ingest(client, "orchard", [("guide.md", GUIDE, "text/markdown")])["guide.md"]
            doc = client.get(f"/api/v1/rag/documents/{doc_id}").json()
            assert doc["status"] == "ready" and doc["chunks"] > 0
            before = client.get(f"/api/v1/conversations/{conv['id']}").json()

        server.stop()
        server.start()

        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            assert client.get(f"/api/v1/conversations/{conv['id']}").json() == before
            assert client.get(f"/api/v1/rag/documents/{doc_id}").json() == doc
            hits = client.post(
                "/api/v1/rag/query",
                json={"collection": "orchard", "query": "When does harvest start?", "top_k": 2},
            ).json()["chunks"]
            assert hits and hits[0]["document_id"] == doc_id
            assert [k["name"] for k in client.get("/api/v1/auth/keys").json()] == ["root", "alice"]
        # The key made over HTTP works after the restart (its digest is in PostgreSQL).
        mine = httpx.get(
            f"{server.url}/api/v1/conversations",
            headers={"Authorization": f"Bearer {user_key}"},
            timeout=60,
        )
        assert mine.status_code == 200 and mine.json()["data"][0]["id"] == conv["id"]
    finally:
        server.stop()
    # The rows are in PostgreSQL, and no SQLite file was made beside them.
    assert not (tmp_path / "playground.sqlite3").exists()
    with psycopg.connect(url.replace(f":{PASSWORD}", "")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM conversation_messages").fetchone() == (2,)
        assert conn.execute("SELECT status FROM rag_documents").fetchall() == [("ready",)]


def test_unreachable_at_start_up_is_refused(models_dir: Path, tmp_path: Path) -> None:
    url = f"postgresql://mp:{PASSWORD}@127.0.0.1:{free_port()}/playground"
    started = time.monotonic()
    result = _cli(_env(models_dir, tmp_path, url), "serve")
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert url.replace(PASSWORD, "***") in lines[0] and PASSWORD not in result.stderr
    assert time.monotonic() - started < 60
    keys = _cli(_env(models_dir, tmp_path, url), "keys", "list")
    assert keys.returncode == 2 and url.replace(PASSWORD, "***") in keys.stderr


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test alone: it is stopped and started again."""
    yield from running_postgres()


def test_database_down_while_serving(
    own_postgres: PostgresServer, models_dir: Path, tmp_path: Path
) -> None:
    url = own_postgres.create_database("faults")
    server = ServerProcess(_env(models_dir, tmp_path, url), log_path=tmp_path / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            conv = client.post("/api/v1/conversations", json={"title": "kept"})
            assert conv.status_code == 201
            own_postgres.stop()

            down = client.get("/api/v1/conversations")
            assert down.status_code == 503, down.text
            assert int(down.headers["Retry-After"]) > 0
            error = down.json()["error"]
            assert error["code"] == "database_unavailable" and PASSWORD not in down.text
            assert client.post("/api/v1/conversations", json={}).status_code == 503
            # Generation needs no database.
            chat = client.post(
                "/v1/chat/completions",
                json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], **FAST},
            )
            assert chat.status_code == 200, chat.text
            assert chat.json()["usage"]["completion_tokens"] > 0

            own_postgres.start()
            back = client.get("/api/v1/conversations")
            assert back.status_code == 200, back.text
            assert [c["id"] for c in back.json()["data"]] == [conv.json()["id"]]
    finally:
        server.stop()
