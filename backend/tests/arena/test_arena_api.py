"""The blind arena over real HTTP with real generation: the tiny test model against the bundled
SmolLM2 (GGUF on llama.cpp). Names hidden until the vote, the vote reveals them with figures,
the leaderboard moves, 404/409/400 in the error envelope, and the JSONL export parses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.services.models.bundled import GGUF_ID
from tests.helpers.server import ServerProcess, tiny_server

MODELS = [{"model": "tiny"}, {"model": GGUF_ID}]
PARAMS = {"max_tokens": 8, "temperature": 0.0}
PROMPT = "Say hello in one short sentence."
MIN_VOTES = 3


@pytest.fixture(scope="module")
def arena_server(
    tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path, tiny_model_dir: Path
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("arena-models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / GGUF_ID).symlink_to((smollm2_dir / GGUF_ID).resolve())
    data = tmp_path_factory.mktemp("arena-data")
    proc = tiny_server(folder, data, MP_ARENA_MIN_VOTES=str(MIN_VOTES)).start()
    yield proc
    proc.stop()


@pytest.fixture()
def client(arena_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{arena_server.url}/api/v1/arena", timeout=180) as c:
        yield c


def battle(client: httpx.Client, **extra: object) -> dict:
    body = {"models": MODELS, "prompt": PROMPT, "params": PARAMS, **extra}
    response = client.post("/battles", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def assert_hidden(b: dict) -> None:
    assert [a["label"] for a in b["answers"]] == ["A", "B"]
    assert all(a["model"] is None and a["figures"] is None for a in b["answers"])
    assert b["vote"] is None
    # No model name anywhere but (by chance) inside an answer's own text.
    rest = json.dumps({k: v for k, v in b.items() if k != "answers"})
    assert "tiny" not in rest and "smollm2" not in rest


def test_battle_hidden_until_vote_then_revealed_and_counted(client: httpx.Client) -> None:
    before = client.get("/leaderboard").json()
    b = battle(client, system="You are a helpful assistant.")
    assert_hidden(b)
    assert b["prompt"] == PROMPT and b["params"]["max_tokens"] == 8
    assert all(a["text"] for a in b["answers"]), b  # both models really generated
    assert_hidden(client.get(f"/battles/{b['id']}").json())

    voted = client.post(f"/battles/{b['id']}/vote", json={"winner": "a"})
    assert voted.status_code == 200, voted.text
    revealed = voted.json()
    names = [a["model"] for a in revealed["answers"]]
    assert sorted(names) == sorted(["tiny", GGUF_ID])
    backends = {a["model"]: a["figures"]["backend"] for a in revealed["answers"]}
    assert backends == {"tiny": "transformers", GGUF_ID: "llamacpp"}
    for answer in revealed["answers"]:
        figures = answer["figures"]
        assert figures["ttft_ms"] > 0 and figures["tokens"] > 0
        assert 0 <= figures["load_ms"] <= figures["ttft_ms"]
        assert figures["finish_reason"] in ("length", "stop")
    assert revealed["vote"]["winner"] == "a" and revealed["vote"]["source"] == "battle"
    assert client.get(f"/battles/{b['id']}").json()["answers"][0]["model"] == names[0]

    after = client.get("/leaderboard").json()
    assert after["ranking"] == "bradley_terry" and "Bradley-Terry" in after["method"]
    assert after["total_votes"] == before["total_votes"] + 1
    wins = {r["model"]: r["wins"] for r in after["models"]}
    old_wins = {r["model"]: r["wins"] for r in before["models"]}
    assert wins[names[0]] == old_wins.get(names[0], 0) + 1
    assert wins[names[1]] == old_wins.get(names[1], 0)
    assert after["min_votes"] == MIN_VOTES
    for row in after["models"]:
        # Below the threshold the rating is withheld, not shown as 2587 (-0/+0).
        assert row["provisional"] == (row["votes"] < MIN_VOTES)
        if row["provisional"]:
            assert row["votes_needed"] == MIN_VOTES - row["votes"]
            assert (row["rating"], row["ci_low"], row["elo"], row["rank"]) == (None,) * 4


def test_leaderboard_after_several_votes(client: httpx.Client) -> None:
    for winner in ("a", "b", "tie", "both_bad"):
        b = battle(client)
        assert client.post(f"/battles/{b['id']}/vote", json={"winner": winner}).status_code == 200
    board = client.get("/leaderboard").json()
    assert [r["model"] for r in board["models"]] == board["matrix"]["models"]
    assert set(board["matrix"]["models"]) == {"tiny", GGUF_ID}
    ratings = [r["rating"] for r in board["models"]]
    assert ratings == sorted(ratings, reverse=True)
    for row in board["models"]:
        assert not row["provisional"] and row["votes_needed"] == 0
        assert row["ci_low"] < row["rating"] < row["ci_high"]
        assert 700 < row["rating"] < 1300  # a handful of votes: near 1000, not +/-1587
        assert row["votes"] == board["total_votes"]  # every vote is between these two
        assert row["ties"] >= 1 and row["both_bad"] >= 1
        assert row["median_ttft_ms"] > 0 and row["median_tokens_per_s"] > 0
        assert row["rank"] >= 1
    matrix = board["matrix"]
    assert matrix["win_rates"][0][0] is None
    decisive = matrix["win_rates"][0][1] + matrix["win_rates"][1][0]
    assert decisive == pytest.approx(1.0)
    assert matrix["battles"][0][1] == board["total_votes"]
    assert board["sources"] == {"battle": board["total_votes"]}


def test_second_vote_409_unknown_404_bad_winner_400(client: httpx.Client) -> None:
    b = battle(client)
    bad = client.post(f"/battles/{b['id']}/vote", json={"winner": "left"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "winner"
    # The refused vote left nothing behind: the battle is still hidden and takes a vote.
    assert_hidden(client.get(f"/battles/{b['id']}").json())
    assert client.post(f"/battles/{b['id']}/vote", json={"winner": "tie"}).status_code == 200
    again = client.post(f"/battles/{b['id']}/vote", json={"winner": "a"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "battle_already_voted"
    assert client.get(f"/battles/{b['id']}").json()["vote"]["winner"] == "tie"

    missing = client.post("/battles/battle_nope/vote", json={"winner": "a"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "battle_not_found"
    assert client.get("/battles/battle_nope").status_code == 404


def test_battle_needs_two_different_models(client: httpx.Client) -> None:
    before = client.get("/leaderboard").json()["total_votes"]
    same = client.post(
        "/battles", json={"models": [{"model": "tiny"}] * 2, "prompt": PROMPT, "params": PARAMS}
    )
    assert same.status_code == 400 and same.json()["error"]["param"] == "models"
    ghost = client.post(
        "/battles",
        json={
            "models": [{"model": "tiny"}, {"model": "ghost"}],
            "prompt": PROMPT,
            "params": PARAMS,
        },
    )
    assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "model_not_found"
    assert client.get("/leaderboard").json()["total_votes"] == before


def test_export_lines_parse(client: httpx.Client) -> None:
    b = battle(client)
    client.post(f"/battles/{b['id']}/vote", json={"winner": "b"})
    response = client.get("/votes.jsonl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == client.get("/leaderboard").json()["total_votes"]
    last = lines[-1]
    assert last["battle_id"] == b["id"] and last["winner"] == "b"
    assert last["prompt"] == PROMPT and last["params"]["temperature"] == 0.0
    assert {last["model_a"], last["model_b"]} == {"tiny", GGUF_ID}
    assert [last["answer_a"], last["answer_b"]] == [a["text"] for a in b["answers"]]
    assert last["figures_a"]["tokens"] > 0 and last["figures_b"]["ttft_ms"] > 0
