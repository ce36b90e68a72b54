"""Message templates: "{first_name}, your appointment is {when}." and nothing fancier.

Only plain named fields are allowed. Positional fields ("{0}", "{}"), attribute and index
look-ups ("{a.b}", "{a[0]}"), conversions ("{a!r}") and format specs ("{a:>3}") are
rejected when the template is loaded: they either reach into Python objects or depend
on types, and every variable here is a string from a request or a CSV cell. "{{" and
"}}" stand for literal braces.

Rendering substitutes the plain names itself (no ``str.format``), so a variable's value
is never interpreted, and a missing variable is reported by name instead of KeyError.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from two_way_sms.outbound.request import MAX_BODY_CHARACTERS, MESSAGE_TYPES, TEMPLATE_ID_PATTERN, TRANSACTIONAL

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that cannot be loaded or rendered; the message names the template and the field."""


@dataclass(frozen=True)
class Template:
    template_id: str
    body: str  # "{first_name}, your appointment is {when}." ; "{{" / "}}" escape braces
    message_type: str = TRANSACTIONAL

    def __post_init__(self) -> None:
        if not isinstance(self.template_id, str) or not TEMPLATE_ID_PATTERN.fullmatch(self.template_id):
            raise TemplateError(f"template id {self.template_id!r} must be 1-64 characters of [A-Za-z0-9_-]")
        if self.message_type not in MESSAGE_TYPES:
            raise TemplateError(
                f"template {self.template_id}: message type {self.message_type!r} "
                f"must be one of {', '.join(MESSAGE_TYPES)}"
            )
        if not isinstance(self.body, str) or not 1 <= len(self.body) <= MAX_BODY_CHARACTERS:
            size = len(self.body) if isinstance(self.body, str) else type(self.body).__name__
            raise TemplateError(f"template {self.template_id}: body has {size} characters; it must have 1-1,600")
        if not self.body.strip():
            raise TemplateError(f"template {self.template_id}: body is only whitespace")
        _ = self._pieces  # parse now, so a bad template fails when loaded, not when sent

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(name for _, name in self._pieces if name is not None)

    @cached_property
    def _pieces(self) -> tuple[tuple[str, str | None], ...]:
        """(literal text, field name or None) pairs, in order."""
        return _parse_body(self.template_id, self.body)


def parse_template(template_id: str, body: str, message_type: str = TRANSACTIONAL) -> Template:
    """A checked template; raises TemplateError naming the template and the offending field."""
    return Template(template_id, body, message_type)


def render(template: Template, variables: Mapping[str, str]) -> str:
    """The template with its placeholders filled in; extra variables are ignored."""
    missing = sorted(template.placeholders - set(variables))
    if missing:
        raise TemplateError(f"template {template.template_id} is missing variables: {', '.join(missing)}")
    out = []
    for literal, name in template._pieces:
        out.append(literal)
        if name is not None:
            value = variables[name]
            if not isinstance(value, str):
                raise TemplateError(f"template {template.template_id}: variable {name} must be a string")
            out.append(value)
    return "".join(out)


def templates_to_json(templates: Iterable[Template] | Mapping[str, Template]) -> str:
    """``{"<template id>": {"body": ..., "messageType": ...}}`` (the TEMPLATES environment variable)."""
    items = templates.values() if isinstance(templates, Mapping) else templates
    data: dict[str, dict[str, str]] = {}
    for template in items:
        if template.template_id in data:
            raise TemplateError(f"template {template.template_id} is defined twice")
        data[template.template_id] = {"body": template.body, "messageType": template.message_type}
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def templates_from_json(text: str) -> dict[str, Template]:
    try:
        data: Any = json.loads(text)
    except ValueError as error:
        raise TemplateError(f"templates are not JSON ({error})") from None
    if not isinstance(data, dict):
        raise TemplateError(f"templates must be a JSON object by template id, not {type(data).__name__}")
    templates = {}
    for template_id, spec in data.items():
        if not isinstance(spec, dict) or "body" not in spec:
            raise TemplateError(f"template {template_id} must be an object with a body")
        unknown = sorted(set(spec) - {"body", "messageType"})
        if unknown:
            raise TemplateError(f"template {template_id} has unknown fields: {', '.join(unknown)}")
        templates[template_id] = parse_template(template_id, spec["body"], spec.get("messageType", TRANSACTIONAL))
    return templates


def _parse_body(template_id: str, body: str) -> tuple[tuple[str, str | None], ...]:
    try:
        parsed = list(_FORMATTER.parse(body))  # lazy: the errors come while iterating
    except ValueError as error:
        raise TemplateError(f"template {template_id}: {error} (write {{{{ and }}}} for literal braces)") from None
    pieces = []
    for literal, name, spec, conversion in parsed:
        if name is not None:
            _check_field(template_id, name, spec, conversion)
        pieces.append((literal, name))
    return tuple(pieces)


def _check_field(template_id: str, name: str, spec: str | None, conversion: str | None) -> None:
    shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    if not name.strip() or name.isdigit():
        problem = "is positional: name it, as in {first_name}"
    elif "." in name or "[" in name or "]" in name:
        problem = "looks up an attribute or index: use a plain name"
    elif conversion:
        problem = "has a conversion (!r, !s, !a): use a plain name"
    elif spec:
        problem = "has a format spec: use a plain name"
    elif name != name.strip():
        problem = "has spaces around its name"
    else:
        return
    raise TemplateError(f"template {template_id}: field {shown} {problem}")
