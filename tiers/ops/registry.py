"""Operators by name, so a pipeline in conf/ lists steps and their parameters.

Every operator registers itself with `tiers.ops.base.register` when its module is imported. This module
imports the built-in operator modules (below) and, on request, the modules `l1.operator_modules` names
(see docs/operators.md); no operator imports this module, so the arrows run one way only.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterable

from pydantic import ValidationError

from tiers.ops import boilerplate, c4, fineweb, gopher, langid, length, normalize, pii  # noqa: F401 - they register
from tiers.ops.base import REGISTERED, Operator
from tiers.validation import FieldProblem


class OperatorModuleError(ImportError):
    """A module named in `l1.operator_modules` cannot be imported."""


def load_operators(modules: Iterable[str] = ()) -> dict[str, type[Operator]]:
    """The built-in operators and those of the named extra modules (importing one registers its operators)."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any failure while importing user code is reported the same way
            raise OperatorModuleError(
                f"operator module {module!r} cannot be imported: {type(exc).__name__}: {exc}"
            ) from None
    return dict(REGISTERED)


def validate_step(name: str, params: dict[str, Any], modules: Iterable[str] = ()) -> None:
    """Raise ValueError naming the unknown operator or the bad parameter, with what is allowed."""
    operators = load_operators(modules)
    if name not in operators:
        raise ValueError(f"unknown operator {name!r}; allowed: {', '.join(sorted(operators))}")
    model = operators[name].ParamsModel
    try:
        model.model_validate(params)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            problem = item.get("ctx", {}).get("error")
            if isinstance(problem, FieldProblem):
                problems.append(f"params.{'.'.join(map(str, (*item['loc'], *problem.path)))}: {problem.message}")
                continue
            key = ".".join(str(p) for p in item["loc"])
            if item["type"] == "extra_forbidden":
                problems.append(f"params.{key}: unknown parameter; allowed: {', '.join(sorted(model.model_fields))}")
            else:
                problems.append(f"params{'.' + key if key else ''}: {item['msg'].removeprefix('Value error, ')}")
        raise ValueError(f"operator {name!r}: " + "; ".join(problems)) from None


def build(name: str, params: dict[str, Any], modules: Iterable[str] = ()) -> Operator:
    cls = load_operators(modules)[name]
    return cls(cls.ParamsModel.model_validate(params))
