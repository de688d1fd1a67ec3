"""Each store's main writes and reads, on SQLite and on PostgreSQL (see conftest): types,
upserts, ordering, cascades and JSON-in-text columns must behave the same on both."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import Unauthorized
from app.core.migrate import current, head
from app.schemas.batches import Batch, RequestCounts
from app.services.arena.runs_store import RunStore
from app.services.arena.store import ArenaStore, BattleRecord
from app.services.auth import AuthService
from app.services.batches.files import FileStore
from app.services.batches.lines import BatchLine
from app.services.batches.store import BatchStore
from app.services.conversations.store import ConversationStore, MessageRecord
from app.services.downloads.hub import RemoteFile
from app.services.downloads.jobs import DownloadJob, JobStore
from app.services.rag.store import RagRepository
from app.services.responses_store import ResponsesStore


def test_migrated_to_head(db: Database) -> None:
    with db.engine.connect() as conn:
        assert current(conn) == head()
    # A second open finds nothing to do and keeps the version.
    Database(db.url).dispose()
    assert db.query("SELECT version_num FROM alembic_version")[0]["version_num"] == head()


def test_keys(db: Database, tmp_path: Path) -> None:
    auth = AuthService(Settings(data_dir=tmp_path), db)
    record, key = auth.create_key("admin", admin=True)
    other, _ = auth.create_key("user")
    assert record.admin is True and other.admin is False
    assert [k.name for k in auth.list_keys()] == ["admin", "user"]
    principal = auth.authenticate(key)
    assert (principal.key_id, principal.admin, principal.via) == (record.id, True, "key")
    assert auth.get_key(record.id).last_used_at is not None
    token, _, _ = auth.login(key)
    assert auth.authenticate(token).via == "session"
    auth.revoke_key(record.id)
    assert isinstance(auth.get_key(record.id).revoked_at, float)
    with pytest.raises(Unauthorized):
        auth.authenticate(key)
    with pytest.raises(Unauthorized):
        auth.authenticate(token)
    # The signing secret is stored once and found again by the next service.
    again = AuthService(Settings(data_dir=tmp_path), db)
    assert again._secret == auth._secret


def test_conversations(db: Database) -> None:
    store = ConversationStore(db)
    conv = store.create("Trip to Lyon", "tiny", "transformers", "Be brief.")
    answer = MessageRecord(
        "assistant",
        "Take the train.",
        model="tiny",
        backend="transformers",
        parameters={"temperature": 0.5, "stop": ["\n"]},
        finish_reason="stop",
        figures={
            "ttft_ms": 12.5,
            "tokens_per_second": 40.25,
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_ms": 81.0,
        },
    )
    store.replace_tail(conv.id, 0, [MessageRecord("user", "How do I get to 100%_Lyon?"), answer])
    got = store.get(conv.id)
    assert got is not None and got.message_count == 2
    assert [m.role for m in got.messages] == ["user", "assistant"]
    assert got.messages[1].parameters == {"temperature": 0.5, "stop": ["\n"]}
    assert got.messages[1].figures == answer.figures
    assert got.messages[0].figures is None
    # Search ignores case on both engines and treats % and _ literally.
    assert [c.id for c in store.search("lyon")] == [conv.id]
    assert [c.id for c in store.search("100%_l")] == [conv.id]
    assert store.search("100%x") == []
    other = store.create("Second", None, None, None)
    assert [c.id for c in store.search()][:2] == [other.id, conv.id]
    store.update(conv.id, title="Renamed", system=None)
    assert store.search()[0].id == conv.id and store.get(conv.id).title == "Renamed"
    # Regenerate: the tail is replaced in one transaction.
    store.replace_tail(conv.id, 1, [MessageRecord("assistant", "Fly.")])
    assert [m.content for m in store.get(conv.id).messages] == [
        "How do I get to 100%_Lyon?",
        "Fly.",
    ]
    assert store.delete(conv.id) is True and store.delete(conv.id) is False
    # Messages went with it (ON DELETE CASCADE needs foreign keys on, on SQLite too).
    assert db.query("SELECT COUNT(*) AS n FROM conversation_messages")[0]["n"] == 0


def test_documents_and_jobs(db: Database) -> None:
    repo = RagRepository(db)
    repo.insert_collection(
        {
            "id": "c1",
            "name": "kb",
            "description": "",
            "embedding_model": "tiny-embed",
            "dimension": 32,
            "chunk_size": 400,
            "chunk_overlap": 40,
            "vector_name": "kb_c1",
            "created_at": time.time(),
            "retrieval_mode": "hybrid",
        }
    )
    doc = {
        "id": "d1",
        "collection_id": "c1",
        "filename": "guide.md",
        "kind": "markdown",
        "sha256": "ab" * 32,
        "size_bytes": 6_000_000_000,
        "pages": 3,
        "tags": ["x", "y"],
        "metadata": {"author": "me"},
        "stored_name": "d1.md",
        "chunk_size": 400,
        "chunk_overlap": 40,
    }
    repo.insert_document_and_job(doc, "j1")
    with pytest.raises(IntegrityError):  # the same bytes twice in one knowledge base
        repo.insert_document_and_job({**doc, "id": "d2"}, "j2")
    assert repo.job("j2") is None  # nothing half-written
    assert [j["id"] for j in repo.active_jobs()] == ["j1"]
    repo.update_job("j1", status="running", pages_parsed=2, chunks_total=9)
    assert repo.job("j1")["pages_parsed"] == 2
    assert repo.orphan_documents() == []
    assert repo.claim_job("j1") is True
    assert repo.finish_job("j1", "d1", 9) is True
    assert repo.finish_job("j1", "d1", 9) is False  # a second run of the job ends it once
    assert repo.claim_job("j1") is False  # an ended job is not taken again
    assert repo.job("j1")["status"] == "succeeded"
    # A document still ingesting whose job ended without it is an orphan (rolled back at start).
    repo.insert_document_and_job({**doc, "id": "d3", "sha256": "cd" * 32}, "j3")
    repo.update_job("j3", status="failed")
    assert [d["id"] for d in repo.orphan_documents()] == ["d3"]
    repo.delete_document("d3")
    got = repo.document("d1")
    assert got["tags"] == ["x", "y"] and got["metadata"] == {"author": "me"}
    assert got["size_bytes"] == 6_000_000_000 and got["chunks"] == 9
    assert repo.document_by_hash("c1", "ab" * 32)["id"] == "d1"
    assert repo.ready_ids("c1") == {"d1"}
    assert repo.collection("kb")["documents"] == 1 and repo.collection("c1")["name"] == "kb"
    repo.set_retrieval_mode("c1", "dense")
    assert repo.collections()[0]["retrieval_mode"] == "dense"
    repo.delete_collection("c1")
    assert repo.documents() == [] and repo.job("j1") is None


def test_download_jobs(db: Database) -> None:
    jobs = JobStore(db)
    job = DownloadJob(
        id="j1",
        kind="hub",
        name="org--model",
        single_file=True,
        files=[RemoteFile("model.gguf", "https://example.invalid/m", 5_000_000_000, "ff" * 32)],
        status="queued",
        repo_id="org/model",
        revision="main",
    )
    jobs.insert(job)
    jobs.save_progress("j1", 4_999_999_999)
    got = jobs.get("j1")
    assert got is not None and got.bytes_done == 4_999_999_999 and got.single_file is True
    assert got.files == job.files and got.bytes_total == 5_000_000_000
    done = jobs.update(got, status="completed", finished_at=time.time())
    assert jobs.get("j1").status == "completed" and jobs.all() == [jobs.get("j1")]
    assert done.finished_at == jobs.get("j1").finished_at
    jobs.delete("j1")
    assert jobs.get("j1") is None


def test_batches_and_files(db: Database, tmp_path: Path) -> None:
    files = FileStore(db, tmp_path / "files")
    first = files.create("a.jsonl", "batch", b"{}\n")
    second = files.create("b.jsonl", "batch_output", b"{}\n{}\n")
    assert files.get(second.id).bytes == 6
    assert {f.id for f in files.all()} == {first.id, second.id}
    assert [f.id for f in files.all("batch")] == [first.id]
    store = BatchStore(db)
    now = int(time.time())
    batch = Batch(
        id="batch_1",
        endpoint="/v1/chat/completions",
        input_file_id=first.id,
        completion_window="24h",
        status="in_progress",
        created_at=now,
        request_counts=RequestCounts(total=0, completed=0, failed=0),
    )
    lines = [BatchLine(n, f"r{n}", "/v1/chat/completions", {"n": n}) for n in (1, 2, 3)]
    store.create(batch, lines)
    assert [ln.line_no for ln in store.pending("batch_1")] == [1, 2, 3]
    assert store.record("batch_1", 2, True, {"ok": 2}) is True
    assert store.record("batch_1", 2, False, {"again": 1}) is False  # counted once
    assert store.record("batch_1", 3, False, {"bad": 3}) is True
    got = store.get("batch_1")
    assert got.request_counts == RequestCounts(total=3, completed=1, failed=1)
    assert store.results("batch_1") == [("completed", {"ok": 2}), ("failed", {"bad": 3})]
    assert store.line_results("batch_1")[1] == ("pending", None)
    assert store.active_ids() == ["batch_1"]
    got.status = "completed"
    store.save(got)
    assert store.active_ids() == [] and [b.id for b in store.page(10)] == ["batch_1"]
    files.delete(first.id)
    assert [f.id for f in files.all()] == [second.id]


def test_responses(db: Database) -> None:
    store = ResponsesStore(db)
    response = {"id": "resp_1", "model": "tiny", "output": [], "previous_response_id": None}
    store.save(response, [{"role": "user", "content": "hi"}], [{"role": "user", "content": "hi"}])
    # Saving the same id again replaces the row (INSERT OR REPLACE on both engines).
    store.save({**response, "output": ["x"]}, [], [{"role": "assistant", "content": "yo"}])
    assert store.get("resp_1")["output"] == ["x"]
    assert store.history("resp_1") == [{"role": "assistant", "content": "yo"}]
    assert store.input_items("resp_1") == []
    assert db.query("SELECT COUNT(*) AS n FROM responses")[0]["n"] == 1
    store.delete("resp_1")
    assert db.query("SELECT COUNT(*) AS n FROM responses")[0]["n"] == 0


def test_arena_votes(db: Database) -> None:
    store = ArenaStore(db)
    battles = [
        BattleRecord(
            prompt=f"p{n}",
            system=None,
            params={"seed": n},
            model_a="tiny",
            model_b="smol",
            answer_a="A",
            answer_b="B",
            figures_a={"ttft_ms": 1.5},
            figures_b={"ttft_ms": 2.5},
        )
        for n in range(3)
    ]
    for battle in battles:
        store.add_battle(battle)
    assert store.get(battles[0].id).params == {"seed": 0}
    assert store.add_vote(battles[1].id, "a") is True
    assert store.add_vote(battles[1].id, "b") is False  # one vote per battle
    assert store.add_vote(battles[0].id, "tie", "run") is True
    voted = store.voted()
    assert [b.id for b in voted] == [battles[1].id, battles[0].id]
    assert (voted[0].vote.winner, voted[1].vote.source) == ("a", "run")
    with pytest.raises(IntegrityError):  # a vote needs its battle
        store.add_vote("battle_missing", "a")


def test_racing_votes_count_once(db: Database) -> None:
    store = ArenaStore(db)
    battle = BattleRecord("p", None, {}, "a", "b", "x", "y", {}, {})
    store.add_battle(battle)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.add_vote(battle.id, "a")))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]


def test_prompt_run_thumbs(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO prompt_runs (id, batch_id, data, created_at) VALUES "
            "(:id, 'b', :data, :now)",
            {"id": "run_1", "data": json.dumps({"id": "run_1"}), "now": time.time()},
        )
    runs = RunStore(db)
    runs.set_thumb("run_1", 1, "tiny", "up")
    runs.set_thumb("run_1", 1, "tiny", "down")  # upsert
    runs.set_thumb("run_1", 2, "tiny", "up")
    runs.set_thumb("run_1", 2, "tiny", None)
    assert runs.thumbs("run_1") == {(1, "tiny"): "down"}
    assert runs.rated_run_ids() == ["run_1"]


def test_transaction_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute(
            "INSERT INTO auth_meta (name, value) VALUES ('k', 'v')",
        )
        raise RuntimeError("stop")
    assert db.query("SELECT * FROM auth_meta WHERE name = 'k'") == []


def test_services_starting_together_share_one_secret(db: Database, tmp_path: Path) -> None:
    secrets: list[str] = []

    def start() -> None:
        secrets.append(AuthService(Settings(data_dir=tmp_path), db)._secret)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(secrets) == 4 and len(set(secrets)) == 1


def test_sqlite_writers_queue_for_the_lock(tmp_path: Path) -> None:
    """Read-then-write transactions from many threads: with BEGIN IMMEDIATE each waits for the
    write lock up front, so none fails with "database is locked" and no update is lost."""
    db = Database(tmp_path / "playground.sqlite3")
    with db.transaction() as conn:
        conn.execute("INSERT INTO auth_meta (name, value) VALUES ('n', '0')")
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with db.transaction() as conn:
                    row = conn.execute("SELECT value FROM auth_meta WHERE name = 'n'").fetchone()
                    time.sleep(0.0005)  # widen the window between the read and the write
                    conn.execute(
                        "UPDATE auth_meta SET value = :v WHERE name = 'n'",
                        {"v": str(int(row["value"]) + 1)},
                    )
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.query("SELECT value FROM auth_meta WHERE name = 'n'")[0]["value"] == "150"
    db.dispose()
