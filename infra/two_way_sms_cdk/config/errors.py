"""One line from pydantic's ValidationError: the setting's dotted path, its value and what it must be.

The phrase comes from the error's type and the field it is about (its bounds, its choices, its
examples, its own ``errorMessage``: the explanation the schema gives editors too). Checks written
as code raise ``problem`` (the path, the value, a phrase) or ``rule`` (a whole message, the domain's).
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

PROBLEM = "config_problem"
RULE = "config_rule"
# Wrong shapes say the shape; a field's own explanation is for a wrong value of the right shape.
_SHAPE_ERRORS = {"model_type", "model_attributes_type", "dict_type", "list_type", "missing", "extra_forbidden"}
_INT_ERRORS = {"int_type", "int_from_float", "int_parsing"}
_NUMBER_ERRORS = {"float_type", "float_parsing", "finite_number"}
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def problem(phrase: str, *, shown: str | None = None, field: str | None = None) -> PydanticCustomError:
    """``<path>[.field] <shown, or the value's repr> <phrase>``; ``shown=""`` leaves the value out."""
    return PydanticCustomError(PROBLEM, "{phrase}", {"phrase": phrase, "shown": shown, "field": field})


def rule(message: str, *, prefixed: bool = True, field: str | None = None) -> PydanticCustomError:
    """``<path>[.field]: <message>``, or the message alone (``prefixed=False``, for one naming its setting)."""
    return PydanticCustomError(RULE, "{message}", {"message": message, "prefixed": prefixed, "field": field})


def one_line(error: ValidationError, model: type[BaseModel], prefix: Sequence[str | int] = ()) -> str:
    """The first error of ``error`` (an unknown key before any other) as one line; ``prefix``: where ``model`` sits."""
    errors = error.errors(include_url=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    first = unknown[0] if unknown else errors[0]
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        keys = sorted(str(e["loc"][-1]) for e in unknown if tuple(e["loc"][:-1]) == loc[:-1])
        allowed = sorted(_keys(_node(model, loc[:-1]).annotation))
        return f"{_path((*prefix, *loc[:-1]))} has unknown settings {keys}: allowed are {allowed}"
    return _sentence(first, _node(model, loc), (*prefix, *loc))


@dataclass
class _Node:
    """What the schema says of one place in the document: its type and the Field settings on the way to it."""

    annotation: Any
    infos: list[Any] = field(default_factory=list)
    nullable: bool = False

    def extra(self, key: str) -> Any:
        for info in self.infos:
            if (
                isinstance(info, FieldInfo)
                and isinstance(info.json_schema_extra, dict)
                and key in info.json_schema_extra
            ):
                return info.json_schema_extra[key]
        return None

    def bound(self, name: str) -> Any:
        for info in self.infos:
            for item in [info, *getattr(info, "metadata", ())]:
                if getattr(item, name, None) is not None:
                    return getattr(item, name)
        return None


def _sentence(error: ErrorDetails, node: _Node, loc: tuple[str | int, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error["input"]
    if ctx.get("field"):
        loc = (*loc, ctx["field"])
    if kind == RULE:
        return f"{_path(loc)}: {ctx['message']}" if ctx["prefixed"] and loc else ctx["message"]
    if kind == "missing":
        return f"{_path(loc)} is required"
    if kind == "string_too_long":
        return f"{_path(loc)} has {len(value)} characters, more than {ctx['max_length']}"
    # An entry of a list is named by its value: "protect.allowed_countries entry 'UK'".
    where = f"{_path(loc[:-1])} entry" if loc and isinstance(loc[-1], int) else _path(loc)
    if kind == PROBLEM:
        shown = repr(value) if ctx.get("shown") is None else ctx["shown"]
        return " ".join(part for part in (where, shown, ctx["phrase"]) if part)
    return f"{where} {value!r} {_phrase(error, node)}"


def _phrase(error: ErrorDetails, node: _Node) -> str:
    kind, own = error["type"], node.extra("errorMessage")
    if own and kind not in _SHAPE_ERRORS:
        return str(own)
    annotation, or_null = node.annotation, " or null" if node.nullable else ""
    if kind in ("model_type", "model_attributes_type"):
        return _object_phrase(annotation)
    if kind == "dict_type":
        return "must be an object"
    if kind == "list_type":
        examples = next((info.examples for info in node.infos if getattr(info, "examples", None)), None)
        return f"must be a list, such as {json.dumps(examples[0])}" if examples else "must be a list"
    if kind == "literal_error":
        return f"must be one of {', '.join(map(str, get_args(annotation)))}{or_null}"
    if annotation is int and (kind in _INT_ERRORS or kind in _BOUND_ERRORS):
        return f"must be {_integer(node)}{or_null}"
    if annotation is float and (kind in _NUMBER_ERRORS or kind in _BOUND_ERRORS):
        return f"must be {_number(node)}{or_null}"
    if kind == "bool_type":
        return f"must be true or false{or_null}"
    if kind == "string_type":
        return f"must be text{or_null}"
    if kind == "too_short":
        return "must not be empty"
    return f"is not valid: {error['msg']}"


def _integer(node: _Node) -> str:
    low, high = node.bound("ge"), node.bound("le")
    if low is not None and high is not None:
        return f"an integer from {low:,} to {high:,}"
    return f"an integer of at least {low:,}" if low is not None else "an integer"


def _number(node: _Node) -> str:
    above, least, most = node.bound("gt"), node.bound("ge"), node.bound("le")
    if above == 0 and most is None:
        return "a positive number"
    low = f" above {above:g}" if above is not None else f" at least {least:g}" if least is not None else ""
    high = f", at most {most:g}" if most is not None else ""
    return f"a number{low}{high}"


def _object_phrase(model: Any) -> str:
    keys = _keys(model)
    if (getattr(model, "model_config", {}).get("json_schema_extra") or {}).get("maxProperties") == 1:
        return "must be " + " or ".join(f'{{"{key}": {{...}}}}' for key in keys)
    if keys and len(keys) <= 3:
        return f"must be an object with {_and(keys)}"
    return "must be an object"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _keys(model: Any) -> list[str]:
    fields = getattr(model, "model_fields", {})
    return [info.alias or name for name, info in fields.items()]


def _node(model: type[BaseModel], loc: Sequence[str | int]) -> _Node:
    """The type at ``loc`` of ``model``'s document, with the Field settings that apply there."""
    node = _unwrap(_Node(model))
    for key in loc:
        annotation = node.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = next((f for n, f in annotation.model_fields.items() if key in (n, f.alias)), None)
            if info is None:
                return _Node(None)
            node = _unwrap(_Node(info.annotation, [info]))
        elif get_origin(annotation) in (list, dict):
            node = _unwrap(_Node(get_args(annotation)[-1]))
        else:
            return _Node(None)
    return node


def _unwrap(node: _Node) -> _Node:
    """``node`` with Annotated[...] and ``... | None`` taken off its type (their settings kept)."""
    while True:
        annotation = node.annotation
        if get_origin(annotation) is Annotated:
            node.annotation, *metadata = get_args(annotation)
            node.infos.extend(metadata)
        elif get_origin(annotation) in (Union, types.UnionType):
            kept = [arg for arg in get_args(annotation) if not _is_none(arg)]
            if len(kept) != 1:
                return node
            node.annotation, node.nullable = kept[0], True
        else:
            return node


def _is_none(annotation: Any) -> bool:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation is type(None)


def _path(loc: Sequence[str | int]) -> str:
    """``("keywords", 0, "keyword")`` -> ``keywords[0].keyword``; ``()`` -> ``config``."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "config"
