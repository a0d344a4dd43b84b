"""Operators by name, so a pipeline in conf/ lists steps and their parameters."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tiers.ops.base import Operator

_REGISTRY: dict[str, type[Operator]] = {}


def register(cls: type[Operator]) -> type[Operator]:
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> dict[str, type[Operator]]:
    import tiers.ops.library  # noqa: F401 - importing registers the built-in operators

    return dict(_REGISTRY)


def validate_step(name: str, params: dict[str, Any]) -> None:
    """Raise ValueError naming the unknown operator or the bad parameter, with what is allowed."""
    operators = registered()
    if name not in operators:
        raise ValueError(f"unknown operator {name!r}; allowed: {', '.join(sorted(operators))}")
    model = operators[name].ParamsModel
    try:
        model.model_validate(params)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            key = ".".join(str(p) for p in item["loc"])
            if item["type"] == "extra_forbidden":
                problems.append(f"params.{key}: unknown parameter; allowed: {', '.join(sorted(model.model_fields))}")
            else:
                problems.append(f"params.{key}: {item['msg']}")
        raise ValueError(f"operator {name!r}: " + "; ".join(problems)) from None


def build(name: str, params: dict[str, Any]) -> Operator:
    cls = registered()[name]
    return cls(cls.ParamsModel.model_validate(params))
