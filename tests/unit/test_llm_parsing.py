"""Tolerant parsing of rubric answers and the request cache key, without a model."""

from __future__ import annotations

import pytest

from tiers.llm.cache import RequestCache
from tiers.llm.engine import ChatRequest, ChatResult, Sampling
from tiers.l3.parsing import parse_score


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('{"score": 3, "reason": "useful"}', (3, "useful")),
        ('Sure! Here it is:\n{"score": 4, "reason": "textbook-like"}\nHope this helps.', (4, "textbook-like")),
        ('```json\n{"reason": "spam", "score": 0}\n```', (0, "spam")),
        ("Educational score: 2", (2, "")),
        ('{"score": 7, "reason": "too high"}', None),
        ('{"score": 2.5, "reason": "fraction"}', None),
        ('{"score": "three"}', None),
        ('{"score": 3, "reas', (3, "")),
        ("", None),
        ("I cannot rate this.", None),
    ],
)
def test_parse_score(answer, expected):
    assert parse_score(answer, 0, 5) == expected


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('{"score": 10, "reason": "best"}', (10, "best")),
        ("score: 7", (7, "")),
        ('{"score": 0, "reason": "below the scale"}', None),
        ("score: 11", None),
    ],
)
def test_parse_score_on_another_scale(answer, expected):
    assert parse_score(answer, 1, 10) == expected


def test_cache_key_depends_on_model_prompt_messages_and_sampling():
    base = ChatRequest((("user", "rate this"),), Sampling(temperature=0.0, max_tokens=10), None, "v1")
    keys = {
        base.cache_key("m"),
        base.cache_key("other-model"),
        ChatRequest(base.messages, base.sampling, None, "v2").cache_key("m"),
        ChatRequest((("user", "rate that"),), base.sampling, None, "v1").cache_key("m"),
        ChatRequest(base.messages, Sampling(temperature=0.0, max_tokens=11), None, "v1").cache_key("m"),
    }
    assert len(keys) == 5
    assert base.cache_key("m") == ChatRequest(
        (("user", "rate this"),), Sampling(temperature=0.0, max_tokens=10), None, "v1"
    ).cache_key("m")


def test_request_cache_keeps_answers_not_failures(tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    cache.put("a", ChatResult("answer", 5, 2, 0.1))
    cache.put("b", ChatResult("", error="timeout"))
    found = cache.get_many(["a", "b", "c"])
    assert list(found) == ["a"] and found["a"].text == "answer" and found["a"].cached
    assert len(RequestCache(tmp_path / "c.sqlite")) == 1


def _open_and_write(path: str, index: int) -> None:
    cache = RequestCache(path)
    cache.put(f"k{index}", ChatResult(f"answer {index}", 1, 1, 0.0))


def test_request_cache_opened_by_many_processes_at_once(tmp_path):
    """Executors open one cache file together; turning WAL on must not fail any of them."""
    import multiprocessing

    path = str(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        pool.starmap(_open_and_write, [(path, i) for i in range(32)])
    assert len(RequestCache(path)) == 32
