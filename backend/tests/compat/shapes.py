"""The nested response model the tool-calling client tests ask for: ``Trip`` holds two
``City`` objects, so its JSON schema has ``$defs`` and ``$ref`` (what every Pydantic model that
nests another has)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class City(BaseModel):
    """A city."""

    name: str = Field(max_length=12)
    capital: bool


class Trip(BaseModel):
    """A trip from one city to another."""

    origin: City
    destination: City
    by: Literal["train", "plane"]


ASK = [{"role": "user", "content": "Plan a trip from Paris to Rome."}]
