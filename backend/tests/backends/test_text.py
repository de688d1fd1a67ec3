"""Stop-string matching and incremental detokenization, on the real tiny tokenizer."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from app.backends.text import IncrementalDetokenizer, StopMatcher


def _feed_all(matcher: StopMatcher, pieces: list[str]) -> tuple[str, bool]:
    out = []
    for piece in pieces:
        text, stopped = matcher.feed(piece)
        out.append(text)
        if stopped:
            return "".join(out), True
    out.append(matcher.flush())
    return "".join(out), False


@pytest.mark.parametrize(
    ("pieces", "stops", "expected", "stopped"),
    [
        (["hel", "lo wor", "ld"], ["wor"], "hello ", True),
        (["a", "b", "c"], ["bc"], "a", True),
        (["ab", "X", "cd"], ["abc"], "abXcd", False),  # a held-back prefix is released
        (["x", "<", "/", "s", ">"], ["</s>"], "x", True),
        (["no stop here"], [], "no stop here", False),
        (["ends with a"], ["abc"], "ends with a", False),  # flushed at the end
        (["STOP at start"], ["STOP"], "", True),
        (["one two"], ["two", "one"], "", True),  # earliest match wins
    ],
)
def test_stop_matcher(pieces, stops, expected, stopped) -> None:
    assert _feed_all(StopMatcher(stops), pieces) == (expected, stopped)


def test_stop_matcher_never_emits_part_of_a_stop_string() -> None:
    matcher = StopMatcher(["\n\n"])
    assert matcher.feed("line\n") == ("line", False)
    assert matcher.feed("\nnext") == ("", True)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.mark.parametrize(
    "text",
    [
        "def foo(x):\n    return x + 1\n",
        "    indented  with  double  spaces",
        "unicode: héllo wörld — 世界 🙂",
        "print('done')",
    ],
)
def test_incremental_detokenizer_round_trips(tokenizer, text: str) -> None:
    prompt = tokenizer("# prompt\n")["input_ids"]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    detok = IncrementalDetokenizer(
        lambda window: tokenizer.decode(list(window), skip_special_tokens=True), prompt
    )
    pieces = [detok.add(i) for i in ids]
    assert all("\ufffd" not in p for p in pieces), "a piece split a character"
    whole = tokenizer.decode(prompt + ids, skip_special_tokens=True)
    head = tokenizer.decode(prompt, skip_special_tokens=True)
    assert head + "".join(pieces) == whole
