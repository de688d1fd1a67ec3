"""Protocol types of ``/tokenize`` and ``/detokenize`` (the shapes vLLM's server uses)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.openai import ChatEndingFields, ChatMessageIn


class TokenizeRequest(ChatEndingFields):
    """Either ``prompt`` (plain text) or ``messages`` (rendered with the chat template, ending
    as ``add_generation_prompt`` and ``continue_final_message`` say)."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(
        default=None, max_length=512, description="Model id; the default model when omitted."
    )
    prompt: str | None = Field(default=None, description="Text to tokenize.")
    messages: list[ChatMessageIn] | None = Field(
        default=None,
        min_length=1,
        description="A conversation, tokenized as the model's chat template renders it "
        "(with the assistant turn opened, as a generation would see it).",
    )
    add_special_tokens: bool = Field(
        default=True, description="With prompt: add BOS/special tokens the model expects."
    )

    @model_validator(mode="after")
    def _one_input(self) -> TokenizeRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        return self


class TokenizeResponse(BaseModel):
    count: int = Field(description="Number of tokens.")
    max_model_len: int = Field(description="The model's context window in tokens.")
    tokens: list[int] = Field(description="Token ids.")


class DetokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(
        default=None, max_length=512, description="Model id; the default model when omitted."
    )
    tokens: list[int] = Field(max_length=1_000_000, description="Token ids to turn into text.")


class DetokenizeResponse(BaseModel):
    prompt: str = Field(description="The text of the tokens.")
