"""A rubric prompt carries its scale; the parser and the config's score bounds read it (issue 28)."""

from __future__ import annotations

import pytest
import yaml

from tiers.config import ConfigError, load_config
from tiers.l3.parsing import parse_score
from tiers.llm.prompts import load_prompt, load_score_prompt

SHIPPED = "conf/prompts/edu_score_v1.yaml"


def _rubric(tmp_path, scale, maximum=None) -> str:
    """A rubric prompt file on `scale`, its schema's score bounded by the scale (or by `maximum`)."""
    path = tmp_path / "rubric.yaml"
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": scale[0], "maximum": maximum or scale[1]}},
    }
    path.write_text(
        yaml.safe_dump(
            {"name": "r", "version": "r-v1", "scale": scale, "system": "s", "user": "{text}", "schema": schema}
        )
    )
    return str(path)


def test_the_shipped_rubric_runs_from_0_to_5():
    assert load_score_prompt(SHIPPED).scale == (0, 5)


def test_a_rubric_on_another_scale_needs_no_code(tmp_path):
    path = _rubric(tmp_path, [1, 10])
    prompt = load_score_prompt(path)
    assert prompt.scale == (1, 10)
    assert parse_score('{"score": 10, "reason": "best"}', *prompt.scale) == (10, "best")
    assert parse_score('{"score": 0, "reason": "off"}', *prompt.scale) is None
    config = load_config(None, [f"l3.score_prompt={path}", "l3.rewrite_threshold=9"])
    assert config.l3.rewrite_threshold == 9
    with pytest.raises(ConfigError, match="l3.rewrite_threshold: 12 is off the scale .* allowed 1 to 11"):
        load_config(None, [f"l3.score_prompt={path}", "l3.rewrite_threshold=12"])
    with pytest.raises(ConfigError, match="l3.rewrite_threshold: 0 is off the scale"):
        load_config(None, [f"l3.score_prompt={path}", "l3.rewrite_threshold=0"])


def test_the_l4_input_score_is_bounded_by_the_rubric():
    assert load_config(None, ["l4.input.l2_min_llm_score=5"]).l4.input.l2_min_llm_score == 5
    with pytest.raises(ConfigError, match="l4.input.l2_min_llm_score: 6 is off the scale .* allowed 0 to 5"):
        load_config(None, ["l4.input.l2_min_llm_score=6"])


def test_a_scale_that_disagrees_with_the_schema_is_refused(tmp_path):
    with pytest.raises(ValueError, match="schema's score runs from 0 to 5, the scale from 0 to 10"):
        load_prompt(_rubric(tmp_path, [0, 10], maximum=5))


def test_a_score_prompt_without_a_scale_is_named_in_the_config_error():
    with pytest.raises(ConfigError, match="l3.score_prompt: cannot read the rubric prompt: .*needs `scale"):
        load_config(None, ["l3.score_prompt=conf/prompts/knowledge_qa_v1.yaml"])
