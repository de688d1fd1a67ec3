"""The playground's MCP tools: its models and knowledge bases, for any MCP host.

Each tool validates its arguments into the request type of the matching HTTP route and calls
the same services (and the same route helpers) that route does, so an MCP call and an HTTP
call behave alike. A typed :class:`AppError` or an invalid argument becomes an MCP tool error
carrying the message (the model reads it; the host shows it); nothing else leaves the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Annotated, Any, Generic, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError
from starlette.datastructures import State

from app.api import serving
from app.api.errors import validation_message
from app.api.routes.generate import generation_response, request_messages, request_params
from app.api.routes.models import local_infos
from app.api.routes.rag import answer_whole, search
from app.core.errors import AppError
from app.core.redact import redact
from app.schemas.common import MaxTokens, RepetitionPenalty, Seed, Temperature, TopK, TopP
from app.schemas.compare import CompareRequest, CompareTarget
from app.schemas.generation import GenerateRequest, GenerateResponse, Message
from app.schemas.mcp_server import CompareColumn, CompareResult, KnowledgeBaseList, ModelList
from app.schemas.rag import AnswerRequest, AnswerResponse, Collection, QueryRequest, QueryResponse
from app.schemas.rag import RetrievalMode as RetrievalModeName
from app.services.compare import CompareColumn as Column
from app.services.compare import compare_stream
from app.services.generation import GenerationService
from app.services.models.manager import ModelManager
from app.services.models.store import ModelStore
from app.services.quantize import QuantizeService
from app.services.rag import RagService
from app.version import __version__

INSTRUCTIONS = (
    "Mistral Playground: local LLMs and document search on the user's machine. list_models "
    "names the models; generate runs one; compare runs one prompt on several and reports time "
    "to first token and tokens per second; list_knowledge_bases, rag_search and rag_answer "
    "search the user's uploaded documents and answer from them with [n] citations."
)

# Argument types: descriptions are what the host's model reads.
ModelId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        description="Model id from list_models; default: the server's default model.",
    ),
]
Prompt = Annotated[
    str | None,
    Field(description="Raw prompt, completed as is (no chat template). Give this or messages."),
]
Messages = Annotated[
    list[Message] | None,
    Field(
        description="Conversation, run through the model's chat template; the last message is "
        "usually the user's. Give this or prompt."
    ),
]
System = Annotated[str | None, Field(description="System prompt, put before messages.")]
Stop = Annotated[
    list[str] | None, Field(description="Up to 4 strings; generation ends before the first one.")
]
KnowledgeBase = Annotated[
    str, Field(description="Knowledge base name or id, from list_knowledge_bases.")
]
Depth = Annotated[
    int | None,
    Field(ge=1, le=100, description="Chunks to retrieve (default: the server's setting)."),
]
Mode = Annotated[
    RetrievalModeName | None,
    Field(
        description="dense (embeddings), lexical (BM25) or hybrid (both); default: the "
        "knowledge base's."
    ),
]

_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# Generation reads nothing outside the machine and changes nothing, but it loads models.
_RUNS_MODEL = ToolAnnotations(read_only_hint=True, idempotent_hint=False, open_world_hint=False)


T = TypeVar("T")


class _FromState(Generic[T]):
    """A service read from ``app.state`` under the attribute's own name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, services: Services, owner: type | None = None) -> T:
        return getattr(services.state, self.name)


class Services:
    """The app's services as the tools reach them: the objects its lifespan puts on
    ``app.state`` (the routes reach the same ones through ``api/deps.py``)."""

    generation = _FromState[GenerationService]()
    model_manager = _FromState[ModelManager]()
    model_store = _FromState[ModelStore]()
    quantize = _FromState[QuantizeService]()
    rag = _FromState[RagService]()

    def __init__(self, state: State) -> None:
        self.state = state


@contextmanager
def tool_errors() -> Iterator[None]:
    """Typed errors and invalid arguments as MCP tool errors, with the message only."""
    try:
        yield
    except AppError as exc:
        raise ToolError(redact(exc.message)) from None
    except ValidationError as exc:
        raise ToolError(validation_message(exc)[0]) from None


def _given(**values: Any) -> dict[str, Any]:
    """The arguments the caller set, so the request type's own defaults apply to the rest."""
    return {name: value for name, value in values.items() if value is not None}


def build_mcp_server(
    state: State,
    lifespan: Callable[[MCPServer[Any]], AbstractAsyncContextManager[Any]] | None = None,
) -> MCPServer[Any]:
    """The MCP server over the services on ``state``. ``lifespan`` (stdio only) builds them
    when a session starts; served at ``/mcp`` the app's own lifespan has."""
    services = Services(state)
    server: MCPServer[Any] = MCPServer(
        "mistral-playground",
        title="Mistral Playground",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
    )

    @server.tool(annotations=_READ_ONLY)
    async def list_models() -> ModelList:
        """List the language models on this machine (local Hugging Face folders and GGUF
        files): their ids for `generate`, `compare` and `rag_answer`, format, size, whether
        each is loaded in memory now, and the default model."""
        with tool_errors():
            manager = services.model_manager
            lineage = await asyncio.to_thread(services.quantize.lineage)
            local = await services.model_store.scan_async()
            return ModelList(
                models=local_infos(local, manager, lineage),
                default_model=await manager.default_model_id_async(),
            )

    @server.tool(annotations=_RUNS_MODEL)
    async def generate(
        prompt: Prompt = None,
        messages: Messages = None,
        model: ModelId = None,
        system: System = None,
        max_tokens: MaxTokens | None = None,
        temperature: Temperature | None = None,
        top_p: TopP | None = None,
        top_k: TopK | None = None,
        repetition_penalty: RepetitionPenalty | None = None,
        seed: Seed | None = None,
        stop: Stop = None,
    ) -> GenerateResponse:
        """Generate text with a local model: give `messages` (a chat, through the model's chat
        template) or `prompt` (raw text to continue). Returns the text, the finish reason
        (stop or length), token usage and timings (time to first token, tokens per second,
        which engine ran it). Unset sampling parameters come from the model's defaults."""
        with tool_errors():
            body = GenerateRequest(
                **_given(
                    model=model,
                    prompt=prompt,
                    messages=messages,
                    system=system,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=top_k,
                    repetition_penalty=repetition_penalty,
                    seed=seed,
                    stop=stop,
                )
            )
            generation = services.generation
            job = await generation.prepare(
                body.model,
                request_params(body),
                prompt=body.prompt,
                messages=request_messages(body),
            )
            answer = await serving.complete(generation, job, parse=False)
            return generation_response(answer.outcome)

    @server.tool(annotations=_RUNS_MODEL)
    async def compare(
        models: Annotated[
            list[str],
            Field(description="2 to 4 model ids from list_models (the same id twice is allowed)."),
        ],
        prompt: Prompt = None,
        messages: Messages = None,
        system: System = None,
        max_tokens: MaxTokens | None = None,
        temperature: Temperature | None = None,
        top_p: TopP | None = None,
        seed: Seed | None = None,
    ) -> CompareResult:
        """Run one prompt (or conversation) with the same parameters on 2 to 4 local models at
        once, and return each model's answer with its time to first token (ms) and decode
        speed (tokens/s). A model that fails reports its error; the others still answer."""
        with tool_errors():
            body = CompareRequest(
                models=[CompareTarget(model=name) for name in models],
                **_given(
                    prompt=prompt,
                    messages=messages,
                    system=system,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=top_p,
                    seed=seed,
                ),
            )
            columns = [CompareColumn(model=target.model) for target in body.models]
            async for item in compare_stream(
                services.generation,
                [Column(target.model, target.backend) for target in body.models],
                request_params(body),
                prompt=body.prompt,
                messages=request_messages(body),
            ):
                column = columns[item.index]
                if item.kind == "done" and item.outcome is not None:
                    response = generation_response(item.outcome)
                    column.text = response.text
                    column.ttft_ms = response.timings.ttft_ms
                    column.tokens_per_second = response.timings.tokens_per_second
                    column.response = response
                elif item.error is not None:
                    column.error = redact(item.error.message)
            return CompareResult(columns=columns)

    @server.tool(annotations=_READ_ONLY)
    async def list_knowledge_bases() -> KnowledgeBaseList:
        """List the knowledge bases (collections of the user's uploaded PDF, text and Markdown
        documents) that `rag_search` and `rag_answer` can read: name, description, number of
        documents and embedding model."""
        with tool_errors():
            rows = await asyncio.to_thread(services.rag.collections.list)
            return KnowledgeBaseList(knowledge_bases=[Collection(**row) for row in rows])

    @server.tool(annotations=_READ_ONLY)
    async def rag_search(
        knowledge_base: KnowledgeBase,
        query: Annotated[str, Field(min_length=1, description="What to look for.")],
        top_k: Depth = None,
        mode: Mode = None,
    ) -> QueryResponse:
        """Search a knowledge base: the passages (chunks) of the user's documents that best
        match the query, best first, each with its file name, page, section headings, text
        and scores. Cite them by file name and page."""
        with tool_errors():
            body = QueryRequest(
                collection=knowledge_base, query=query, **_given(top_k=top_k, mode=mode)
            )
            return await search(body, services.rag)

    @server.tool(annotations=_RUNS_MODEL)
    async def rag_answer(
        knowledge_base: KnowledgeBase,
        question: Annotated[str, Field(min_length=1, description="The question to answer.")],
        model: ModelId = None,
        top_k: Depth = None,
        mode: Mode = None,
        max_tokens: MaxTokens | None = None,
        temperature: Temperature | None = None,
        seed: Seed | None = None,
    ) -> AnswerResponse:
        """Answer a question from a knowledge base with a local model: the best passages are
        given to the model as numbered sources and the answer cites them as [n]. Returns the
        answer, the sources (file, page, text) and which ones it cited. When no passage is
        close enough it says the documents do not contain the answer (grounded: false)."""
        with tool_errors():
            body = AnswerRequest(
                collection=knowledge_base,
                question=question,
                **_given(
                    model=model,
                    top_k=top_k,
                    mode=mode,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed,
                ),
            )
            return await answer_whole(body, services.rag, services.generation)

    return server
