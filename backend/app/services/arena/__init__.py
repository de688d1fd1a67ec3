"""Blind arena: pairwise votes between models and the ratings computed from them."""

from app.services.arena.service import ArenaService
from app.services.arena.store import ArenaStore
from app.services.arena.votes import PairVote, VoteSource

__all__ = ["ArenaService", "ArenaStore", "PairVote", "VoteSource"]
