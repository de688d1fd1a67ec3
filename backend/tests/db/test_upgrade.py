"""A database made by the first, SQLite-only release (``data/legacy_v0.sql``, dumped from that
code) is adopted by the migrations at start-up: stamped at the baseline, upgraded to head, and
every row still there and readable, through the API and the services."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from app.core.migrate import head
from app.services.arena.runs_store import RunStore
from app.services.downloads.jobs import JobStore
from tests.helpers.server import ServerProcess

DUMP = Path(__file__).with_name("data") / "legacy_v0.sql"
ADMIN_KEY = "mp-QILQoKwfihAwhUsgs8AYr01U_JtqrReIXcMeLqV522o"


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


@pytest.fixture
def legacy_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "playground.sqlite3") as conn:
        conn.executescript(DUMP.read_text())
    return data


def test_old_database_is_adopted_with_its_rows(
    legacy_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    path = legacy_dir / "playground.sqlite3"
    before = _counts(path)
    assert "alembic_version" not in before and len(before) == 17
    assert sum(before.values()) > 20

    server = ServerProcess(
        {
            "MP_MODELS_DIR": str(models_dir),
            "MP_DATA_DIR": str(legacy_dir),
            "MP_DEFAULT_MODEL": "tiny",
            "MP_THREADS": "1",
            "MP_AUTH_ENABLED": "true",
        },
        log_path=tmp_path / "server.log",
    ).start()
    try:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}  # its digest is in the old rows
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            keys = client.get("/api/v1/auth/keys").json()
            assert [(k["name"], k["admin"], k["revoked_at"] is not None) for k in keys] == [
                ("legacy-admin", True, False),
                ("legacy-user", False, False),
                ("legacy-revoked", False, True),
            ]
            convs = client.get("/api/v1/conversations", params={"q": "legacy"}).json()["data"]
            assert [c["title"] for c in convs] == ["Legacy chat"]
            conv = client.get(f"/api/v1/conversations/{convs[0]['id']}").json()
            assert [m["content"] for m in conv["messages"]] == ["Hello 100% _there_", "Hi!"]
            answer = conv["messages"][1]
            assert answer["parameters"] == {"temperature": 0.5}
            assert answer["figures"]["tokens_per_second"] == 40.25
            assert answer["figures"]["prompt_tokens"] == 7

            kb = client.get("/api/v1/rag/collections").json()
            assert [(c["name"], c["retrieval_mode"]) for c in kb] == [("legacy-kb", "dense")]
            doc = client.get("/api/v1/rag/documents/doc1").json()
            assert (doc["status"], doc["chunks"], doc["tags"]) == ("ready", 5, ["a", "b"])
            assert client.get("/api/v1/rag/jobs/job1").json()["status"] == "succeeded"
            evaluation = client.get("/api/v1/rag/evaluations/eval1").json()
            assert evaluation["status"] == "succeeded"

            batch = client.get("/v1/batches/batch_legacy").json()
            assert batch["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
            files = client.get("/v1/files").json()["data"]
            assert [f["filename"] for f in files] == ["input.jsonl"]
            assert files[0]["bytes"] == 20  # (the dump holds rows only, not the file itself)
            stored = client.get("/v1/responses/resp_legacy")
            assert stored.status_code == 200 and stored.json()["id"] == "resp_legacy"
            battle = client.get("/api/v1/arena/battles/battle_legacy").json()
            assert battle["id"] == "battle_legacy"
            runs = client.get("/api/v1/arena/runs").json()
            assert "run_legacy" in str(runs)
            assert client.get("/api/v1/downloads/dl1").json()["status"] == "completed"

            # The adopted database takes new writes as usual.
            made = client.post("/api/v1/auth/keys", json={"name": "after-upgrade"})
            assert made.status_code == 201, made.text
    finally:
        server.stop()

    after = _counts(path)
    assert after.pop("alembic_version") == 1
    # Every old row kept; the tables of later migrations (0003: quantization) added, empty.
    assert after == {
        **before,
        "api_keys": before["api_keys"] + 1,
        "quantize_jobs": 0,
        "quantized_models": 0,
    }
    db = Database(path)
    try:
        assert db.query("SELECT version_num FROM alembic_version")[0]["version_num"] == head()
        assert RunStore(db).thumbs("run_legacy") == {(1, "tiny"): "up"}
        job = JobStore(db).get("dl1")
        assert job is not None and job.bytes_done == 5_000_000_000 and job.files[0].size == 5e9
        secret = db.query("SELECT value FROM auth_meta WHERE name = 'jwt_secret'")
        assert len(secret) == 1
    finally:
        db.dispose()


def test_old_database_missing_newer_tables_is_completed(tmp_path: Path) -> None:
    """A database from before some features (no arena tables, no retrieval_mode column) gets
    just what it lacks."""
    path = tmp_path / "playground.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(DUMP.read_text())
        conn.executescript(
            "DROP TABLE arena_votes; DROP TABLE arena_battles; "
            "ALTER TABLE rag_collections DROP COLUMN retrieval_mode;"
        )
    db = Database(path)
    try:
        assert (
            db.query("SELECT retrieval_mode FROM rag_collections")[0]["retrieval_mode"] == "hybrid"
        )
        assert db.query("SELECT COUNT(*) AS n FROM arena_battles")[0]["n"] == 0
        assert db.query("SELECT COUNT(*) AS n FROM api_keys")[0]["n"] == 3
        assert db.query("SELECT version_num FROM alembic_version")[0]["version_num"] == head()
    finally:
        db.dispose()
    assert Settings(data_dir=tmp_path).database_path == path
