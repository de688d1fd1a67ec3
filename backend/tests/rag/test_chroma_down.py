"""A configured Chroma server that is down: the app still starts; RAG answers 503."""

from __future__ import annotations

import httpx

from tests.helpers.server import ServerProcess, free_port


def test_unreachable_chroma_server_gives_503(tmp_path, models_dir) -> None:
    server = ServerProcess(
        {
            "MP_MODELS_DIR": str(models_dir),
            "MP_DATA_DIR": str(tmp_path),
            "MP_THREADS": "1",
            "MP_RAG_CHROMA_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        },
        log_path=tmp_path / "server.log",
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            assert client.get("/api/v1/health").status_code == 200
            response = client.post("/api/v1/rag/collections", json={"name": "down"})
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert "unreachable" in error["message"] and error["code"] == "backend_unavailable"
            assert client.get("/api/v1/rag/collections").json() == []
    finally:
        server.stop()
