"""Generation and its limits: the one path every API's requests take to an engine.

``service`` (:class:`GenerationService`: prepare a request, stream it from the engine in a
thread, account tokens and timings), ``capabilities`` (requests checked against what the engine
declares), ``tokenization`` (``/tokenize`` exactly as a generation would), ``limits`` (rate
limits and admission in this process) and ``shared_limits`` (the same counted in Redis).
"""

from app.services.generation.service import (
    GenerationOutcome,
    GenerationService,
    ParamsInput,
    PreparedGeneration,
)

__all__ = ["GenerationOutcome", "GenerationService", "ParamsInput", "PreparedGeneration"]
