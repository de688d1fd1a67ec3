"""The bundled SmolLM2-135M-Instruct served as a newcomer gets it: the default model with no
MP_DEFAULT_MODEL, coherent English through the official openai client on both in-process
backends, no template tokens in the text, and Compare with the same model on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from app.services.models.bundled import GGUF_ID, HF_ID
from tests.helpers.server import ServerProcess

QUESTION = "What is the capital of France?"
# A 135M model is fragile: greedy Q4_1 answers this with SmolLM2's built-in system prompt in
# French nonsense, with this one correctly (both backends).
SYSTEM = "You are a helpful assistant."
TEMPLATE_TEXT = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "im_start", "im_end")


@pytest.fixture(scope="module")
def smollm2_server(
    tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path, tiny_model_dir: Path
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("bundled-serving")
    for entry in smollm2_dir.iterdir():
        (folder / entry.name).symlink_to(entry.resolve())
    # The demo model sorts before SmolLM2 and must still not become the default.
    (folder / "aaa-tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    # tiny whose generation_config.json asks for greedy decoding (do_sample: false).
    greedy = folder / "greedy-tiny"
    greedy.mkdir()
    for item in tiny_model_dir.iterdir():
        if item.name != "generation_config.json":
            (greedy / item.name).symlink_to(item)
    (greedy / "generation_config.json").write_text(json.dumps({"do_sample": False}))
    data = tmp_path_factory.mktemp("bundled-data")
    proc = ServerProcess(
        {
            "MP_MODELS_DIR": str(folder),
            "MP_DATA_DIR": str(data),
            "MP_DEFAULT_MODEL": "",
            "MP_THREADS": "1",
        },
        log_path=data / "server.log",
    ).start()
    yield proc
    proc.stop()


def test_bundled_model_is_the_default_and_labelled(smollm2_server: ServerProcess):
    overview = httpx.get(f"{smollm2_server.url}/api/v1/models").json()
    assert overview["default_model"] == HF_ID
    by_id = {m["id"]: m for m in overview["local"]}
    assert by_id[HF_ID]["bundled"] and by_id[GGUF_ID]["bundled"]
    assert not by_id["aaa-tiny"]["bundled"] and by_id["aaa-tiny"]["demo"]
    for model_id in (HF_ID, GGUF_ID):
        assert "135M" in by_id[model_id]["description"]
    catalog = httpx.get(f"{smollm2_server.url}/api/v1/models/catalog", timeout=60).json()
    local = {e["id"]: e for e in catalog["data"] if e["source"] == "local"}
    assert local[HF_ID]["bundled"] and local[GGUF_ID]["bundled"]


@pytest.mark.parametrize(("model", "backend"), [(GGUF_ID, "llamacpp"), (HF_ID, "transformers")])
def test_openai_client_gets_coherent_english(
    smollm2_server: ServerProcess, model: str, backend: str
):
    client = OpenAI(base_url=f"{smollm2_server.url}/v1", api_key="unused", max_retries=0)
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        max_tokens=64,
        temperature=0,
        extra_body={"backend": backend},
    )
    text = reply.choices[0].message.content or ""
    assert "Paris" in text, text
    assert not any(t in text for t in TEMPLATE_TEXT), text
    assert reply.choices[0].finish_reason == "stop", text  # ended at <|im_end|>, not the budget
    timings = reply.model_extra["timings"] if reply.model_extra else {}
    assert timings["backend"] == backend

    # Streamed, with the model's defaults (no temperature given): still English, no template.
    chunks = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Give me one tip for sleeping well."}],
        max_tokens=40,
        seed=3,
        stream=True,
        extra_body={"backend": backend},
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    words = [w for w in streamed.split() if w.isalpha()]
    assert len(words) >= 5, streamed
    assert not any(t in streamed for t in TEMPLATE_TEXT), streamed


def test_default_model_answers_without_a_model_field(smollm2_server: ServerProcess):
    res = httpx.post(
        f"{smollm2_server.url}/api/v1/models/generate",
        json={
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": QUESTION},
            ],
            "max_tokens": 24,
            "temperature": 0,
        },
        timeout=120,
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["model"] == HF_ID
    assert "Paris" in body["text"]


def test_compare_same_model_on_both_engines(smollm2_server: ServerProcess):
    events: list[tuple[str, dict]] = []
    with httpx.stream(
        "POST",
        f"{smollm2_server.url}/api/v1/compare",
        json={
            "models": [
                {"model": GGUF_ID, "backend": "llamacpp"},
                {"model": HF_ID, "backend": "transformers"},
            ],
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": QUESTION},
            ],
            "max_tokens": 24,
            "temperature": 0,
        },
        timeout=120,
    ) as res:
        assert res.status_code == 200
        name = ""
        for line in res.iter_lines():
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:") and name == "done":
                events.append((name, json.loads(line.removeprefix("data:"))))
    done = {e["index"]: e["response"] for _, e in events}
    assert sorted(done) == [0, 1]
    assert done[0]["timings"]["backend"] == "llamacpp"
    assert done[1]["timings"]["backend"] == "transformers"
    for response in done.values():
        assert "Paris" in response["text"]
    # Same template, same vocabulary: the same prompt tokens on both engines.
    assert done[0]["usage"]["prompt_tokens"] == done[1]["usage"]["prompt_tokens"]


def test_model_sampling_defaults_apply_on_both_apis(smollm2_server: ServerProcess):
    """No temperature in the request: the model's generation_config.json (greedy) decides, on
    /api/v1 and /v1 alike, so different seeds give the same text everywhere."""
    client = OpenAI(base_url=f"{smollm2_server.url}/v1", api_key="unused", max_retries=0)
    texts = set()
    for seed in (1, 2):
        reply = client.chat.completions.create(
            model="greedy-tiny",
            messages=[{"role": "user", "content": "def main():"}],
            max_tokens=12,
            seed=seed,
        )
        texts.add(reply.choices[0].message.content)
        res = httpx.post(
            f"{smollm2_server.url}/api/v1/models/generate",
            json={
                "model": "greedy-tiny",
                "messages": [{"role": "user", "content": "def main():"}],
                "max_tokens": 12,
                "seed": seed,
            },
            timeout=60,
        )
        assert res.status_code == 200, res.text
        texts.add(res.json()["text"])
    assert len(texts) == 1, texts
    # A request's own temperature still wins over the model's default.
    sampled = {
        client.chat.completions.create(
            model="greedy-tiny",
            messages=[{"role": "user", "content": "def main():"}],
            max_tokens=12,
            seed=seed,
            temperature=1.5,
        )
        .choices[0]
        .message.content
        for seed in (1, 2, 3)
    }
    assert len(sampled) > 1, sampled
