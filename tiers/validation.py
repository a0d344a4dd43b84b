"""One strict base model and one error formatter for every YAML file tiers reads.

Strict means: unknown keys are errors, values are frozen, types are not coerced (YAML's `true` is not
the number 1, and `"8"` is not 8), and no number is negative (lengths, counts, ratios, thresholds and
seeds never are). Errors name the key path and what is allowed.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator


class FieldProblem(ValueError):
    """A problem a model-level check finds below the model: `path` (keys from the model) and what is wrong."""

    def __init__(self, path: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="after")
    def _no_negative_numbers(self) -> "StrictModel":
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise FieldProblem((name,), f"must be >= 0 (got {value})")
        return self


def allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a model accepts at the mapping where `loc` points."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        args = getattr(field.annotation, "__args__", ())
        current = next((c for c in (field.annotation, *args) if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return sorted(getattr(current, "model_fields", {}))


def format_validation_error(
    error: ValidationError, model: type[BaseModel], where: str = "invalid configuration"
) -> str:
    """One line per problem: `key.path: what is wrong (got value)`, with the allowed keys for unknown ones."""
    lines = []
    for item in error.errors():
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and (p.startswith("function-") or p in _UNION_TAGS))
        )
        problem = item.get("ctx", {}).get("error")
        if isinstance(problem, FieldProblem):
            lines.append(f"{'.'.join(str(p) for p in (*loc, *problem.path))}: {problem.message}")
            continue
        path = ".".join(str(p) for p in loc) or "<top level>"
        if item["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key; allowed keys here: {', '.join(allowed_keys(model, loc))}")
        else:
            message = item["msg"].removeprefix("Value error, ")
            shown = "" if isinstance(item.get("input"), dict) else f" (got {item.get('input')!r})"
            lines.append(f"{path}: {message}{shown}")
    return f"{where}:\n  " + "\n  ".join(dict.fromkeys(lines))


_UNION_TAGS = {"str", "int", "float", "bool", "list[str]", "dict[str,any]", "none", "literal"}


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_yaml(text: str) -> Any:
    """YAML with duplicate keys refused (plain PyYAML keeps the last one silently)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
