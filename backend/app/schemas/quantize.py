"""Quantization job types (``/api/v1/models/{id}/quantize``, ``/api/v1/quantizations``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

QuantizeStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
QuantizeStage = Literal["queued", "converting", "quantizing", "done"]


class QuantizeRequest(BaseModel):
    """Which types to make from one model."""

    types: list[str] = Field(
        min_length=1,
        max_length=16,
        description="Output types by llama.cpp's names: q8_0, q6_k, q5_k_m, q5_k_s, q5_0, "
        "q4_k_m, q4_k_s, q4_0, q3_k_m, q2_k, iq4_xs, f16, bf16. Each becomes "
        "`{stem}-{type}.gguf` in the models folder.",
        examples=[["q8_0", "q4_k_m"]],
    )


class ModelLineage(BaseModel):
    """Where a quantized model came from."""

    parent: str = Field(description="The model it was quantized from.")
    type: str = Field(description="Quantization type (q4_k_m...).")
    size_bytes: int = Field(description="Bytes of the output file.")
    parameters: int = Field(description="Weights in the file (from its GGUF tensor table).")
    bits_per_weight: float = Field(description="File bytes * 8 / parameters.")
    job_id: str = Field(description="The quantization job that wrote it.")


class QuantizedOutput(BaseModel):
    """One output of a job: the model it wrote (once finished) and its measures."""

    model_id: str = Field(description="The output's model id (its file name).")
    type: str
    status: Literal["pending", "running", "done"] = Field(description="This output's state.")
    size_bytes: int | None = Field(
        default=None, description="Bytes written: of the file when done, so far while running."
    )
    bits_per_weight: float | None = Field(default=None, description="Once done.")


class QuantizationInfo(BaseModel):
    """A quantization job with its progress."""

    id: str
    model: str = Field(description="The source model.")
    source_format: Literal["gguf", "hf"] = Field(
        description="gguf: quantized directly; hf: converted to an f16 GGUF first."
    )
    status: QuantizeStatus
    stage: QuantizeStage = Field(
        description="converting (HF to f16 GGUF), quantizing (output `current` + 1 of "
        "`total`), done."
    )
    current: int = Field(description="Outputs finished so far.")
    total: int = Field(description="Outputs asked for.")
    bytes_written: int | None = Field(
        default=None, description="Bytes of the file being written now (conversion or output)."
    )
    outputs: list[QuantizedOutput]
    warning: str | None = Field(
        default=None, description="E.g. the source is quantized already (quality compounds)."
    )
    error: str | None = None
    error_code: str | None = None
    created_at: float
    updated_at: float
    finished_at: float | None = None


class QuantizationList(BaseModel):
    data: list[QuantizationInfo]
