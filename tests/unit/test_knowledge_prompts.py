"""L4's prompts: every prompt of a passage begins with the same text, the whole passage included, so a
server's prefix cache (vLLM) computes the passage once; each asks for JSON that its schema describes."""

from __future__ import annotations

import os
import re

import pytest

from tiers.config import load_config
from tiers.llm.prompts import load_prompt

PASSAGE = "The Tay Bridge opened on 1 June 1878.\nIt crossed the Firth of Tay near Dundee, {braces} and all."
PATHS = load_config().l4.prompts


def _messages():
    return {
        "facts": load_prompt(PATHS.facts).messages(PASSAGE),
        "qa": load_prompt(PATHS.qa).messages(PASSAGE),
        "answer": load_prompt(PATHS.answer).messages(PASSAGE, question="When did the Tay Bridge open?"),
        "support": load_prompt(PATHS.support).messages(PASSAGE, statement="The Tay Bridge opened in 1878.", focus=""),
    }


def _flat(messages) -> str:
    return "".join(f"<{role}>{content}" for role, content in messages)


def test_the_passage_opens_every_prompt_identically():
    flats = [_flat(m) for m in _messages().values()]
    prefix = os.path.commonprefix(flats)
    assert PASSAGE in prefix
    assert prefix.index(PASSAGE) < 200  # only the shared system text and a header come before it


def test_the_answer_prompt_never_shows_a_generated_answer():
    user = _messages()["answer"][-1][1]
    assert "When did the Tay Bridge open?" in user
    assert "answer" in load_prompt(PATHS.answer).schema["required"]


@pytest.mark.parametrize(
    "path, key", [(PATHS.facts, "facts"), (PATHS.qa, "qa"), (PATHS.answer, "answer"), (PATHS.support, "verdict")]
)
def test_each_prompt_is_versioned_and_has_a_schema(path, key):
    prompt = load_prompt(path)
    assert re.search(r"-v\d+$", prompt.version) and key in prompt.schema["required"]


def test_qa_schema_lists_the_answer_types():
    items = load_prompt(PATHS.qa).schema["properties"]["qa"]["items"]
    assert set(items["properties"]["answer_type"]["enum"]) == {"span", "number", "date", "yes_no", "short_text"}
