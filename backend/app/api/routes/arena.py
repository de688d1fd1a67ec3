"""Blind arena: ``/api/v1/arena`` battles, votes, leaderboard and the JSONL export of votes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Response

from app.api.deps import ArenaDep
from app.api.routes.generate import request_params
from app.schemas.arena import (
    Battle,
    BattleAnswer,
    BattleCreate,
    BattleFigures,
    BattleVote,
    Leaderboard,
    LeaderboardRow,
    VoteCreate,
    WinRateMatrix,
)
from app.schemas.common import error_responses
from app.services.arena.leaderboard import BOOTSTRAP_ROUNDS
from app.services.arena.service import Contender
from app.services.arena.store import BattleRecord

router = APIRouter(prefix="/arena", tags=["arena"])

METHOD = (
    "Bradley-Terry maximum likelihood on FastChat's scale (base 10, scale 400, 1000 initial), "
    "with one virtual tie per model against a 1000 reference so that all-wins stays finite; "
    f"95% intervals from {BOOTSTRAP_ROUNDS} bootstrap rounds, widened to the Laplace interval; "
    "online Elo with K=4 beside it. Ties and 'both bad' count as ties."
)


def _battle(b: BattleRecord) -> Battle:
    voted = b.vote is not None
    sides: tuple[tuple[Literal["A", "B"], str, str, dict], ...] = (
        ("A", b.answer_a, b.model_a, b.figures_a),
        ("B", b.answer_b, b.model_b, b.figures_b),
    )
    answers = [
        BattleAnswer(
            label=label,
            text=text,
            model=model if voted else None,
            figures=BattleFigures.model_validate(figures) if voted else None,
        )
        for label, text, model, figures in sides
    ]
    return Battle(
        id=b.id,
        created_at=b.created_at,
        prompt=b.prompt,
        system=b.system,
        params=b.params,
        answers=answers,
        vote=BattleVote(**asdict(b.vote)) if b.vote else None,
    )


@router.post(
    "/battles", response_model=Battle, status_code=201, responses=error_responses(400, 404)
)
async def create_battle(body: BattleCreate, arena: ArenaDep) -> Battle:
    """Draw two of ``models`` at random and answer ``prompt`` with both (not streamed: the
    response comes once both answers are complete). Names are hidden until the vote."""
    battle = await arena.start(
        [Contender(t.model, t.backend) for t in body.models],
        body.prompt,
        body.system,
        request_params(body.params),
        body.params.model_dump(),
    )
    return _battle(battle)


@router.get("/battles/{battle_id}", response_model=Battle, responses=error_responses(404))
async def get_battle(battle_id: str, arena: ArenaDep) -> Battle:
    """A battle; model names and figures appear once it has a vote."""
    return _battle(await arena.get(battle_id))


@router.post(
    "/battles/{battle_id}/vote", response_model=Battle, responses=error_responses(400, 404, 409)
)
async def vote_battle(battle_id: str, body: VoteCreate, arena: ArenaDep) -> Battle:
    """Cast the battle's one vote; the answer reveals both models and their figures."""
    return _battle(await arena.vote(battle_id, body.winner))


@router.get("/leaderboard", response_model=Leaderboard)
async def get_leaderboard(arena: ArenaDep) -> Leaderboard:
    """Ratings (ranked by Bradley-Terry), win-rate matrix, votes and median speed per model."""
    board = await arena.leaderboard()
    return Leaderboard(
        method=METHOD,
        total_votes=board.total_votes,
        min_votes=board.min_votes,
        sources=board.sources,
        models=[LeaderboardRow(**asdict(s)) for s in board.standings],
        matrix=WinRateMatrix(models=board.models, win_rates=board.win_rates, battles=board.battles),
    )


@router.get(
    "/votes.jsonl",
    response_class=Response,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One voted "
            "battle per line: prompt, system, params, models, answers, figures, winner.",
        }
    },
)
async def export_votes(arena: ArenaDep) -> Response:
    """Every voted battle as JSON Lines, oldest vote first."""
    lines = await arena.export_lines()
    return Response(
        "".join(line + "\n" for line in lines),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="arena-votes.jsonl"'},
    )
