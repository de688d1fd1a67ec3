"""The blind arena: battles between two models drawn at random, votes, the leaderboard, export.

Both answers come from the one generation path, :func:`app.services.compare.compare_stream`
(the Compare page's), so a battle's TTFT and tokens/s are measured exactly as Compare's are.
A battle is stored only once both answers are complete; if either model fails, nothing is
stored and the error is the response. Names stay hidden until the battle has a vote.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.backends.base import ChatMessage
from app.core.errors import AppError, Conflict, InvalidRequest, NotFound
from app.services.arena.leaderboard import BOOTSTRAP_ROUNDS, MIN_VOTES, Leaderboard, compute
from app.services.arena.store import ArenaStore, BattleRecord
from app.services.arena.votes import PairVote, VoteSource, Winner
from app.services.compare import CompareColumn, compare_stream
from app.services.generation import GenerationOutcome, GenerationService, ParamsInput


@dataclass(frozen=True)
class Contender:
    """A model the user put in the draw; ``backend`` pins an engine (shown in its name)."""

    model: str
    backend: str | None = None

    @property
    def name(self) -> str:
        return self.model if self.backend is None else f"{self.model}@{self.backend}"


def figures(outcome: GenerationOutcome) -> dict[str, Any]:
    timings = outcome.timings()
    return {
        "ttft_ms": timings.ttft_ms,
        "tokens_per_s": timings.tokens_per_second,
        "tokens": outcome.completion_tokens,
        "finish_reason": outcome.finish_reason or "cancelled",
        "backend": timings.backend,
        "load_ms": timings.load_ms,
    }


def _warm_ttft(f: dict[str, Any]) -> float | None:
    """TTFT without the model load a battle's first request may include (the leaderboard's)."""
    ttft = f.get("ttft_ms")
    return None if ttft is None else max(ttft - (f.get("load_ms") or 0.0), 0.0)


def _pair_vote(battle: BattleRecord) -> PairVote:
    assert battle.vote is not None
    return PairVote(
        model_a=battle.model_a,
        model_b=battle.model_b,
        winner=battle.vote.winner,
        source=battle.vote.source,
        ttft_ms_a=_warm_ttft(battle.figures_a),
        ttft_ms_b=_warm_ttft(battle.figures_b),
        tokens_per_s_a=battle.figures_a.get("tokens_per_s"),
        tokens_per_s_b=battle.figures_b.get("tokens_per_s"),
    )


class _BattleVotes:
    """The arena's own votes as a :class:`VoteSource`."""

    def __init__(self, store: ArenaStore) -> None:
        self.store = store

    async def pair_votes(self) -> list[PairVote]:
        battles = await asyncio.to_thread(self.store.voted)
        return [_pair_vote(b) for b in battles]


class ArenaService:
    """Start battles, take votes, compute the leaderboard over these and any extra sources."""

    def __init__(
        self,
        store: ArenaStore,
        generation: GenerationService,
        extra_sources: Sequence[VoteSource] = (),
        rng: random.Random | None = None,
        min_votes: int = MIN_VOTES,
    ) -> None:
        self.store = store
        self.min_votes = min_votes
        self.generation = generation
        self.sources: list[VoteSource] = [_BattleVotes(store), *extra_sources]
        self._rng = rng or random.SystemRandom()

    def add_source(self, source: VoteSource) -> None:
        """Feed another source's votes into the leaderboard (e.g. prompt-set run thumbs)."""
        self.sources.append(source)

    def draw(self, contenders: Sequence[Contender]) -> tuple[Contender, Contender]:
        """Two distinct contenders at random, in random order (A is the first)."""
        unique = list({c.name: c for c in contenders}.values())
        if len(unique) < 2:
            raise InvalidRequest("Pick at least two different models for a battle.", param="models")
        a, b = self._rng.sample(unique, 2)
        return a, b

    async def start(
        self,
        contenders: Sequence[Contender],
        prompt: str,
        system: str | None,
        params: ParamsInput,
        parameters: dict[str, Any],
    ) -> BattleRecord:
        """Draw two models, generate both answers concurrently, store the battle."""
        a, b = self.draw(contenders)
        messages = [ChatMessage("user", prompt)]
        if system:
            messages.insert(0, ChatMessage("system", system))
        columns = [CompareColumn(a.model, a.backend), CompareColumn(b.model, b.backend)]
        outcomes: dict[int, GenerationOutcome] = {}
        failure: AppError | None = None
        async for item in compare_stream(
            self.generation, columns, params, prompt=None, messages=messages
        ):
            if item.kind == "done" and item.outcome is not None:
                outcomes[item.index] = item.outcome
            elif item.error is not None and failure is None:
                failure = item.error
        if failure is not None or len(outcomes) != 2:
            raise failure or AppError("A battle answer did not finish.")
        battle = BattleRecord(
            prompt=prompt,
            system=system,
            params=parameters,
            model_a=a.name,
            model_b=b.name,
            answer_a=outcomes[0].text,
            answer_b=outcomes[1].text,
            figures_a=figures(outcomes[0]),
            figures_b=figures(outcomes[1]),
        )
        await asyncio.to_thread(self.store.add_battle, battle)
        return battle

    async def get(self, battle_id: str) -> BattleRecord:
        battle = await asyncio.to_thread(self.store.get, battle_id)
        if battle is None:
            raise NotFound(
                f"Battle '{battle_id}' does not exist.",
                param="battle_id",
                code="battle_not_found",
            )
        return battle

    async def vote(self, battle_id: str, winner: Winner) -> BattleRecord:
        """Record the one vote of a battle (404 unknown battle, 409 already voted)."""
        await self.get(battle_id)
        if not await asyncio.to_thread(self.store.add_vote, battle_id, winner):
            raise Conflict(
                f"Battle '{battle_id}' already has a vote.",
                param="battle_id",
                code="battle_already_voted",
            )
        return await self.get(battle_id)

    async def pair_votes(self) -> list[PairVote]:
        votes: list[PairVote] = []
        for source in self.sources:
            votes.extend(await source.pair_votes())
        return votes

    async def leaderboard(self) -> Leaderboard:
        votes = await self.pair_votes()
        # A bootstrap of logistic fits: milliseconds per round, kept off the event loop.
        return await asyncio.to_thread(compute, votes, BOOTSTRAP_ROUNDS, self.min_votes)

    async def export_lines(self) -> list[str]:
        """One JSON line per voted battle: prompt, answers, params, figures, winner."""
        battles = await asyncio.to_thread(self.store.voted)
        return [json.dumps(export_record(b), ensure_ascii=False) for b in battles]


def export_record(battle: BattleRecord) -> dict[str, Any]:
    assert battle.vote is not None
    return {
        "battle_id": battle.id,
        "created_at": battle.created_at,
        "prompt": battle.prompt,
        "system": battle.system,
        "params": battle.params,
        "model_a": battle.model_a,
        "model_b": battle.model_b,
        "answer_a": battle.answer_a,
        "answer_b": battle.answer_b,
        "figures_a": battle.figures_a,
        "figures_b": battle.figures_b,
        "winner": battle.vote.winner,
        "voted_at": battle.vote.created_at,
        "source": battle.vote.source,
    }
