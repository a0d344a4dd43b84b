"""The `l4` configuration section: strict, and every error names the key and what is allowed."""

from __future__ import annotations

import pytest

from tiers.config import ConfigError, load_config


def _error(*overrides: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(None, list(overrides))
    return str(info.value)


def test_defaults_have_an_extractive_and_an_llm_verifier_and_need_both():
    l4 = load_config().l4
    assert [(v.name, v.kind) for v in l4.verifiers] == [("extractive", "extractive"), ("llm", "llm")]
    assert l4.min_agree == 2 and l4.support_judge.enabled and l4.passages.min_tokens == 30


def test_unknown_key_names_the_allowed_keys():
    message = _error("l4.passage.min_tokens=3")
    assert "l4.passage: unknown key" in message and "passages" in message and "verifiers" in message


def test_bad_values_name_what_is_allowed():
    assert "l4.verifiers.0.kind" in _error("l4.verifiers=[{name: a, kind: oracle}]")
    assert "l4.min_agree: must be at most the number of verifiers (2)" in _error("l4.min_agree=3")
    assert "l4.verifiers: names must be unique" in _error(
        "l4.verifiers=[{name: a, kind: extractive}, {name: a, kind: llm}]"
    )
    assert "min_tokens (600) is above max_tokens (512)" in _error("l4.passages.min_tokens=600")
    assert "nothing to read" in _error("l4.input.l3=false")
    assert "l4.generation.kinds.0" in _error("l4.generation.kinds=[opinion]")
    assert "extractive verifier takes no llm" in _error("l4.verifiers=[{name: a, kind: extractive, llm: {model: x}}]")


def test_a_verifier_on_another_endpoint_and_model():
    config = load_config(
        None,
        [
            "l4.verifiers=[{name: x, kind: extractive}, {name: big, kind: llm, llm: "
            "{engine: http, model: Qwen2.5-7B-Instruct, endpoints: ['http://127.0.0.1:8000/v1']}}]"
        ],
    )
    assert config.l4.verifiers[1].llm.model == "Qwen2.5-7B-Instruct"


def test_a_second_managed_server_needs_its_own_port():
    message = _error(
        "llm.server.port=8089",
        "l4.verifiers=[{name: big, kind: llm, llm: {model: other, server: {port: 8089}}}]",
        "l4.min_agree=1",
    )
    assert "l4.verifiers.0.llm.server.port: port 8089 is already used by llm's server" in message
    load_config(None, ["l4.verifiers=[{name: big, kind: llm, llm: {model: other}}]", "l4.min_agree=1"])
    load_config(
        None, ["l4.verifiers=[{name: big, kind: llm, llm: {model: other, server: {port: 8090}}}]", "l4.min_agree=1"]
    )
