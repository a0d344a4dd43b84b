"""The evaluation sets that ship in the package (`eval_dir: builtin`, issue 26)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tiers.eval_overlap import build_index, resolve_eval_dir
from tiers.resources import PACKAGE

PACKAGED = PACKAGE / "assets" / "eval"
SHARED_EVAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "eval"
REDISTRIBUTED = {
    "arc_challenge",
    "arc_easy",
    "boolq",
    "commonsense_qa",
    "copa",
    "hellaswag",
    "lambada_openai",
    "piqa",
    "winogrande",
}


def test_builtin_is_the_packaged_folder_with_a_readme_per_set():
    assert resolve_eval_dir("builtin") == PACKAGED
    assert {p.name for p in PACKAGED.iterdir() if p.is_dir()} == REDISTRIBUTED
    for folder in REDISTRIBUTED:
        readme = (PACKAGED / folder / "README.md").read_text()
        assert "License" in readme or "license" in readme.lower(), folder


def test_a_missing_folder_names_itself_and_the_builtin_choice(tmp_path):
    with pytest.raises(FileNotFoundError, match="no evaluation folder at .*nowhere.*builtin"):
        resolve_eval_dir(tmp_path / "nowhere")


def test_an_arc_question_is_flagged_by_the_builtin_index():
    first = json.loads((PACKAGED / "arc_easy" / "arc_easy.jsonl").read_text().splitlines()[0])
    index = build_index("builtin")
    assert set(index.names) == REDISTRIBUTED
    text = "Some page text. " + first["query"] + " More text after the quote."
    assert index.matches([text, "a sentence that appears in no benchmark at all, written for this test"]) == [
        "arc_easy",
        None,
    ]


@pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="../shared/data/eval is not here to compare with")
def test_the_packaged_files_are_unmodified_copies():
    for path in PACKAGED.rglob("*"):
        if path.is_file():
            original = SHARED_EVAL / path.relative_to(PACKAGED)
            assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest(), path
