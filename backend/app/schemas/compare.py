"""Side-by-side comparison types (``POST /api/v1/compare``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import BackendName, ErrorResponse, Text
from app.schemas.generation import GenerateResponse, GenerationParameters, Message


class CompareTarget(BaseModel):
    model: str = Field(min_length=1, max_length=512, description="Model id.")
    backend: BackendName | None = None


class CompareRequest(GenerationParameters):
    """One prompt and one set of parameters (seed included) run on 2-4 models at once."""

    models: list[CompareTarget] = Field(
        min_length=2, max_length=4, description="The models to compare, 2 to 4."
    )
    prompt: Text | None = Field(
        default=None, max_length=1_000_000, description="Raw prompt (completion mode)."
    )
    messages: list[Message] | None = Field(default=None, description="Conversation (chat mode).")
    system: Text | None = Field(default=None, max_length=100_000, description="System prompt.")

    @model_validator(mode="after")
    def _one_input(self) -> CompareRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        if self.messages is not None and not self.messages:
            raise ValueError("'messages' must not be empty")
        return self


class CompareToken(BaseModel):
    """``token`` event: text added to column ``index``."""

    index: int
    text: str


class CompareDone(BaseModel):
    """``done`` event: column ``index`` finished."""

    index: int
    response: GenerateResponse
    schema_valid: bool | None = Field(
        default=None,
        description="With json_schema: whether the answer parses as JSON and follows the schema.",
    )
    schema_error: str | None = Field(default=None, description="Why it does not, if not.")


class CompareError(BaseModel):
    """``error`` event: column ``index`` failed; the other columns go on."""

    index: int
    error: ErrorResponse
