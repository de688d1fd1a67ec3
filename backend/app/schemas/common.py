"""Field definitions shared by the native and OpenAI request schemas, so both APIs document and
validate sampling parameters the same way."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_STOP_SEQUENCES = 4


def _no_lone_surrogates(value: str) -> str:
    """JSON may carry ``"\\ud800"``, which Python decodes into a str that no tokenizer can
    encode as UTF-8; refusing it here gives a 400 instead of a 500 deep in an engine."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"text holds a lone UTF-16 surrogate (U+{ord(value[exc.start]):04X} at position "
            f"{exc.start}); send valid Unicode"
        ) from None
    return value


Text = Annotated[str, AfterValidator(_no_lone_surrogates)]
"""A string that is valid Unicode (encodable as UTF-8): every text that reaches a tokenizer,
template or embedder is declared with it."""

Temperature = Annotated[
    float,
    Field(ge=0.0, le=2.0, description="Sampling temperature, 0 to 2. 0 picks the likeliest token."),
]
TopP = Annotated[
    float,
    Field(
        gt=0.0,
        le=1.0,
        description="Nucleus sampling: keep the smallest set of tokens whose "
        "probability mass reaches top_p.",
    ),
]
TopK = Annotated[
    int, Field(ge=0, le=1000, description="Keep only the k likeliest tokens; 0 disables.")
]
RepetitionPenalty = Annotated[
    float,
    Field(
        gt=0.0,
        le=10.0,
        description="Divides logits of tokens already seen (>1 discourages "
        "repetition, 1 disables).",
    ),
]
MaxTokens = Annotated[
    int,
    Field(
        ge=1,
        description="Most tokens to generate. Limited by the server cap and by what is "
        "left of the context window; a request over either is refused, not truncated.",
    ),
]
Seed = Annotated[
    int,
    Field(
        ge=-(2**63),
        le=2**63 - 1,
        description="Seed for sampling; same seed and parameters "
        "give the same text on the same backend.",
    ),
]
AllowFallback = Annotated[
    bool,
    Field(
        description="When the named backend is not installed or cannot load the model, serve "
        "it on the next backend for its format instead of failing with 503; the response's "
        "timings say which backend served and why."
    ),
]
BackendName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Backend to run on ('auto' or a name from "
        "GET /api/v1/system). Defaults to the model's preferred backend.",
    ),
]


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong, readable by a person.")
    type: str = Field(description="Error class, e.g. invalid_request_error, not_found_error.")
    param: str | None = Field(default=None, description="The request field at fault, if any.")
    code: str | None = Field(default=None, description="Machine-readable code, if any.")


class ErrorResponse(BaseModel):
    """The error envelope every route uses (OpenAI's format)."""

    error: ErrorDetail


class PromptTokensDetails(BaseModel):
    cached_tokens: int = Field(
        default=0,
        description="Prompt tokens whose keys and values the engine reused from its prefix "
        "cache instead of computing them (OpenAI's field).",
    )


class CompletionTokensDetails(BaseModel):
    accepted_prediction_tokens: int = Field(
        default=0,
        description="Predicted Outputs (OpenAI's field): draft tokens taken from the "
        "request's prediction that the model accepted.",
    )
    rejected_prediction_tokens: int = Field(
        default=0,
        description="Predicted Outputs: draft tokens taken from the prediction that the model "
        "checked and did not keep (0 on engines that do not speculate).",
    )


class Usage(BaseModel):
    prompt_tokens: int = Field(description="Tokens in the prompt after the chat template.")
    completion_tokens: int = Field(description="Tokens generated.")
    total_tokens: int = Field(description="prompt_tokens + completion_tokens.")
    prompt_tokens_details: PromptTokensDetails = Field(
        default_factory=PromptTokensDetails,
        description="How the prompt was processed: the part served from the prefix cache.",
    )
    completion_tokens_details: CompletionTokensDetails = Field(
        default_factory=CompletionTokensDetails,
        description="How the completion was made: predicted tokens accepted and rejected.",
    )


class SpeculationOptions(BaseModel):
    """Extension: speculative decoding for this request (docs/speculative.md); unset fields
    come from the server's settings (MP_SPECULATION, MP_SPECULATION_MAX_DRAFT)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["ngram", "off"] | None = Field(
        default=None, description="'ngram': prompt lookup drafting; 'off': none."
    )
    max_draft: int | None = Field(
        default=None, ge=0, le=32, description="Most draft tokens verified per step."
    )


class Timings(BaseModel):
    """How long the request took, measured by the server."""

    ttft_ms: float | None = Field(
        description="Time to first token: request received to first "
        "generated token, including any model load and queueing."
    )
    tokens_per_second: float | None = Field(description="Decode speed after the first token.")
    total_ms: float = Field(description="Request received to last token.")
    load_ms: float = Field(
        default=0.0,
        description="Time spent loading the model for this request (0 when it was already loaded).",
    )
    cached_tokens: int = Field(
        default=0,
        description="Prompt tokens reused from the engine's prefix cache (not prefilled again).",
    )
    draft_tokens: int = Field(
        default=0,
        description="Speculative decoding: draft tokens the engine verified (prompt lookup or "
        "a prediction).",
    )
    accepted_tokens: int = Field(
        default=0, description="Draft tokens the model accepted (each saved a decode step)."
    )
    acceptance_rate: float | None = Field(
        default=None, description="accepted_tokens / draft_tokens (None without drafts)."
    )
    backend: str = Field(description="Backend that served the request.")
    backend_reason: str = Field(description="Why that backend was chosen.")


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting the error envelope for ``codes``."""
    return {code: {"model": ErrorResponse} for code in codes}


def described_responses(
    description: str, *codes: int, media: tuple[str, ...] = ()
) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` of a route whose answer a model cannot describe (a stream, a
    download, JSON or events): the 200 in words, in ``media`` types when given, and the error
    envelope for ``codes``."""
    ok: dict[str, object] = {"description": description}
    if media:
        ok["content"] = {m: {} for m in media}
    return {200: ok, **error_responses(*codes)}


def multipart_body(required: list[str], fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its multipart form itself (so FastAPI cannot
    document it): the form's ``fields`` as JSON-schema properties."""
    form = {"type": "object", "required": required, "properties": fields}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": form}}}}
