"""Batch lines yield to interactive requests: while an interactive generation is admitted on
the model, no new batch line starts; once it leaves, the batch runs (app in-process, the
tiny model on Transformers)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from app.core.config import Settings
from app.main import create_app


async def test_batch_waits_for_interactive_requests(tmp_path: Path, dialect_models: Path):
    settings = Settings(
        models_dir=dialect_models,
        data_dir=tmp_path,
        default_model="tiny",
        threads=1,
        batch_concurrency=2,
    )
    app = create_app(settings)
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "tiny",
                "max_tokens": 4,
                "messages": [{"role": "user", "content": "hi"}],
            },
        }
        for i in range(4)
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            # An interactive request holds its admission ticket from prepare to stream end.
            interactive = app.state.generation.admission.admit("tiny", None)
            upload = await client.post(
                "/v1/files", data={"purpose": "batch"}, files={"file": ("b.jsonl", data)}
            )
            batch = (
                await client.post(
                    "/v1/batches",
                    json={"input_file_id": upload.json()["id"], "endpoint": "/v1/chat/completions"},
                )
            ).json()
            await asyncio.sleep(1.5)
            held = (await client.get(f"/v1/batches/{batch['id']}")).json()
            assert held["request_counts"]["completed"] == 0
            assert app.state.batches._running.get("tiny", 0) == 0
            interactive.release()
            for _ in range(600):
                done = (await client.get(f"/v1/batches/{batch['id']}")).json()
                if done["status"] == "completed":
                    break
                await asyncio.sleep(0.1)
            assert done["request_counts"]["completed"] == 4
            assert app.state.batches.deferrals >= 1
