"""The quantization types this server makes, by the names llama.cpp's tools use.

Each name maps to a ``LLAMA_FTYPE_MOSTLY_*`` constant of the llama-cpp-python binding and a
nominal bits-per-weight (used only to estimate the output size before a job starts; the
measured value is in the result's lineage). The i-quants at two bits and below need an
importance matrix, which this server does not compute: they are named here so a request for
one gets a clear answer instead of "unknown type".
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import InvalidRequest


@dataclass(frozen=True)
class QuantType:
    """One output type: its request name, the binding's ftype constant, nominal bits/weight."""

    name: str
    ftype: str
    bits: float


QUANT_TYPES: dict[str, QuantType] = {
    t.name: t
    for t in (
        QuantType("q8_0", "LLAMA_FTYPE_MOSTLY_Q8_0", 8.5),
        QuantType("q6_k", "LLAMA_FTYPE_MOSTLY_Q6_K", 6.56),
        QuantType("q5_k_m", "LLAMA_FTYPE_MOSTLY_Q5_K_M", 5.7),
        QuantType("q5_k_s", "LLAMA_FTYPE_MOSTLY_Q5_K_S", 5.5),
        QuantType("q5_0", "LLAMA_FTYPE_MOSTLY_Q5_0", 5.5),
        QuantType("q4_k_m", "LLAMA_FTYPE_MOSTLY_Q4_K_M", 4.9),
        QuantType("q4_k_s", "LLAMA_FTYPE_MOSTLY_Q4_K_S", 4.6),
        QuantType("q4_0", "LLAMA_FTYPE_MOSTLY_Q4_0", 4.5),
        QuantType("q3_k_m", "LLAMA_FTYPE_MOSTLY_Q3_K_M", 3.9),
        QuantType("q2_k", "LLAMA_FTYPE_MOSTLY_Q2_K", 3.0),
        QuantType("iq4_xs", "LLAMA_FTYPE_MOSTLY_IQ4_XS", 4.25),
        QuantType("f16", "LLAMA_FTYPE_MOSTLY_F16", 16.0),
        QuantType("bf16", "LLAMA_FTYPE_MOSTLY_BF16", 16.0),
    )
}

# llama.cpp refuses these without an importance matrix ("this quantization requires an imatrix").
NEEDS_IMATRIX = ("iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s")

# Source file types (GGUF general.file_type names) that are not quantized.
FLOAT_SOURCES = ("F32", "F16", "BF16")


def parse_types(names: list[str]) -> list[QuantType]:
    """The requested types, lower-cased and without repeats; 400 for an unknown or refused one."""
    if not names:
        raise InvalidRequest("Name at least one type.", param="types")
    out: list[QuantType] = []
    for raw in names:
        name = raw.strip().lower()
        if name in NEEDS_IMATRIX:
            raise InvalidRequest(
                f"'{name}' needs an importance matrix (imatrix), which this server does not "
                f"compute. Supported types: {', '.join(QUANT_TYPES)}.",
                param="types",
                code="unsupported_quant_type",
            )
        quant = QUANT_TYPES.get(name)
        if quant is None:
            raise InvalidRequest(
                f"Unknown quantization type '{raw}'. Supported types: {', '.join(QUANT_TYPES)}.",
                param="types",
                code="unsupported_quant_type",
            )
        if quant not in out:
            out.append(quant)
    return out
