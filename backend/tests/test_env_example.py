"""``.env.example`` documents every setting exactly as the Settings class defines it."""

from __future__ import annotations

from app.tools.env_example import render
from tests.helpers.server import REPO_ROOT


def test_env_example_is_current() -> None:
    current = (REPO_ROOT / ".env.example").read_text()
    assert current == render(), (
        "Settings changed: run `python -m app.tools.env_example > .env.example` in backend/"
    )
