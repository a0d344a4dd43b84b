"""Operators can live outside the repository: `l1.operator_modules` imports them (issue 9)."""

from __future__ import annotations

import json
import sys
import textwrap

import pyarrow as pa

from tiers.config import load_config
from tiers.ops.pipeline import OperatorPipeline

SHOUTING_FILTER = textwrap.dedent('''
    from typing import Any, ClassVar

    import pyarrow as pa

    from tiers.ops.base import Params, TextFilter, register


    class ShoutingParams(Params):
        max_upper_ratio: float = 0.5


    @register
    class Shouting(TextFilter):
        """Drops documents written mostly in capitals."""

        name = "shouting"
        ParamsModel = ShoutingParams
        adds: ClassVar[dict[str, pa.DataType]] = {"upper_ratio": pa.float32()}

        def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
            return {"upper_ratio": sum(c.isupper() for c in text) / max(1, sum(c.isalpha() for c in text))}

        def decide(self, scores: dict[str, Any], row: dict[str, Any]) -> str | None:
            return "mostly_capitals" if scores["upper_ratio"] > self.params.max_upper_ratio else None
''')


def _operator_package(tmp_path, monkeypatch, name: str) -> None:
    """A package `name` outside the repository, importable for this test, whose `shouting` module holds the filter."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "shouting.py").write_text(SHOUTING_FILTER)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_an_operator_from_a_module_outside_the_repository_runs_in_a_pipeline(tmp_path, monkeypatch):
    _operator_package(tmp_path, monkeypatch, "my_ops_pkg")
    config = load_config(
        None,
        ["l1.operator_modules=[my_ops_pkg.shouting]", "l1.steps=[{name: shouting, params: {max_upper_ratio: 0.4}}]"],
    )
    pipeline = OperatorPipeline.from_steps(config.l1.steps, config.l1.operator_modules)
    texts = ["A quiet sentence about gardens.", "THIS IS ALL SHOUTING, ALL OF IT!", "Mixed CASE text here."]
    batch = pa.RecordBatch.from_pydict({"doc_id": ["a", "b", "c"], "text": texts})
    out = pipeline.run(batch)
    assert out.kept.column("doc_id").to_pylist() == ["a", "c"]
    assert out.dropped.column("doc_id").to_pylist() == ["b"] and out.dropped.column("reason").to_pylist() == [
        "mostly_capitals"
    ]
    assert out.stats["shouting"].docs_in == 3
    assert "my_ops_pkg.shouting" in sys.modules


def test_extra_steps_run_after_the_shipped_steps_without_restating_them(tmp_path, monkeypatch):
    _operator_package(tmp_path, monkeypatch, "my_ops_extra")
    shipped_steps = [step.model_dump() for step in load_config().l1.steps]
    shipped = [step["name"] for step in shipped_steps]
    config = load_config(
        None, ["l1.operator_modules=[my_ops_extra.shouting]", "l1.extra_steps=[{name: shouting, params: {}}]"]
    )
    assert [step.name for step in config.l1.steps] == [*shipped, "shouting"]
    restated = load_config(
        None,
        [
            "l1.operator_modules=[my_ops_extra.shouting]",
            "l1.steps=" + json.dumps([*shipped_steps, {"name": "shouting", "params": {}}]),
        ],
    )
    assert config.l1.model_dump() == restated.l1.model_dump()
    assert type(config.l1).model_validate(config.l1.model_dump()).steps == config.l1.steps
