"""The naive baseline: how most playgrounds serve a Transformers model.

One global lock, plain ``model.generate`` with a ``TextIteratorStreamer`` in a thread, SSE out.
Requests are served strictly one after another. Only the streaming chat endpoint the suite
uses is implemented. Run: ``python -m scripts.bench.naive_server --model DIR --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator

import torch
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer


class ChatBody(BaseModel):
    model: str
    messages: list[dict[str, str]]
    max_tokens: int = 64
    temperature: float = 0.0
    stream: bool = True


def build_app(model_dir: str) -> FastAPI:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)  # checkpoint dtype (bf16)
    model.eval()
    lock = threading.Lock()
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatBody) -> StreamingResponse:
        ids = tokenizer.apply_chat_template(body.messages, add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        counted: list[int] = []

        def work() -> None:
            try:
                with lock, torch.inference_mode():
                    out = model.generate(**ids, streamer=streamer,
                                         max_new_tokens=body.max_tokens, do_sample=False)
                counted.append(int(out.shape[1] - ids["input_ids"].shape[1]))
            except Exception:
                streamer.end()  # unblock the reader; the stream ends with 0 tokens counted
                counted.append(0)
                raise

        async def events() -> AsyncIterator[str]:
            threading.Thread(target=work, daemon=True).start()
            iterator = iter(streamer)
            while True:
                text = await asyncio.to_thread(next, iterator, None)
                if text is None:
                    break
                if text:
                    yield _sse({"choices": [{"index": 0, "delta": {"content": text}}]})
            while not counted:  # generate returns just after the streamer ends
                await asyncio.sleep(0.001)
            yield _sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
            yield _sse({"choices": [], "usage": {"completion_tokens": counted[0]}})
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def _sse(payload: dict) -> str:
    payload.setdefault("created", int(time.time()))
    return f"data: {json.dumps(payload)}\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    uvicorn.run(build_app(args.model), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
