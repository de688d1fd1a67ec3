"""Blind arena types (``/api/v1/arena``): battles, votes, the leaderboard."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import Text
from app.schemas.compare import CompareTarget
from app.schemas.generation import GenerationParameters

WinnerField = Literal["a", "b", "tie", "both_bad"]


class BattleCreate(BaseModel):
    """A prompt for two models drawn at random from ``models``; their names stay hidden."""

    models: list[CompareTarget] = Field(
        min_length=2,
        max_length=32,
        description="The models in the draw (at least two different ones); two are picked at "
        "random for this battle. A model with a backend counts as 'model@backend'.",
    )
    prompt: Text = Field(min_length=1, max_length=100_000, description="The user message.")
    system: Text | None = Field(default=None, max_length=100_000, description="System prompt.")
    params: GenerationParameters = Field(
        default_factory=GenerationParameters,
        description="One set of sampling parameters (seed included) for both answers.",
    )


class BattleFigures(BaseModel):
    """How an answer was produced; shown only after the vote (speed can give a model away)."""

    ttft_ms: float | None = Field(
        description="Time to first token, from the request (model loading included)."
    )
    tokens_per_s: float | None = Field(description="Decode speed after the first token.")
    tokens: int = Field(description="Completion tokens.")
    finish_reason: str
    backend: str | None = None
    load_ms: float | None = Field(default=None, description="Model loading in ttft_ms.")


class BattleAnswer(BaseModel):
    label: Literal["A", "B"]
    text: str
    model: str | None = Field(default=None, description="The model's name, once voted.")
    figures: BattleFigures | None = Field(default=None, description="Once voted.")


class BattleVote(BaseModel):
    winner: WinnerField
    created_at: float
    source: Literal["battle", "run"]


class Battle(BaseModel):
    """A battle: the two answers as "A" and "B"; model names and figures only after the vote."""

    id: str
    created_at: float
    prompt: str
    system: str | None
    params: dict[str, Any]
    answers: list[BattleAnswer] = Field(min_length=2, max_length=2)
    vote: BattleVote | None = None


class VoteCreate(BaseModel):
    winner: WinnerField = Field(
        description="'a' (A is better), 'b' (B is better), 'tie' or 'both_bad'."
    )


class LeaderboardRow(BaseModel):
    rank: int | None = Field(
        description="1 + the number of rated models whose 95% interval lies wholly above this "
        "one's (FastChat's rank): models whose intervals overlap share a rank. Null while "
        "provisional."
    )
    model: str
    provisional: bool = Field(
        description="True while the model has fewer votes than `min_votes`: rating, interval, "
        "Elo and rank are then null."
    )
    votes_needed: int = Field(description="More votes before the rating is shown (0 if rated).")
    rating: float | None = Field(
        description="Bradley-Terry rating (the ranking) on FastChat's scale (1000 = average), "
        "with a weak prior of one virtual tie against a 1000 reference. Null while provisional."
    )
    ci_low: float | None = Field(
        description="Low end of the 95% interval: the lower of the bootstrap's 2.5th "
        "percentile and the Laplace interval. Null while provisional."
    )
    ci_high: float | None = Field(
        description="High end of the 95% interval (as ci_low). Null while provisional."
    )
    elo: float | None = Field(
        description="Online Elo (K=4) over the votes in the order cast. Null while provisional."
    )
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float | None = Field(description="wins / (wins + losses); ties left out.")
    median_ttft_ms: float | None = Field(description="Median TTFT without model loading.")
    median_tokens_per_s: float | None


class WinRateMatrix(BaseModel):
    models: list[str] = Field(description="Row and column order (the ranking order).")
    win_rates: list[list[float | None]] = Field(
        description="[i][j]: share of the decisive votes between models i and j won by i."
    )
    battles: list[list[int]] = Field(description="[i][j]: votes between i and j, ties included.")


class Leaderboard(BaseModel):
    ranking: Literal["bradley_terry"] = Field(
        default="bradley_terry",
        description="Rows are ranked by Bradley-Terry rating, as FastChat's leaderboard is.",
    )
    method: str = Field(description="How the figures are computed, in words.")
    total_votes: int
    min_votes: int = Field(
        description="Votes a model needs before its rating is shown (MP_ARENA_MIN_VOTES)."
    )
    sources: dict[str, int] = Field(description="Votes per source ('battle', 'run', ...).")
    models: list[LeaderboardRow] = Field(
        description="Rated models best first, then provisional ones (most votes first)."
    )
    matrix: WinRateMatrix
