"""DynamoDB expressions for ``tests.integration.fake_dynamodb``: parsing and evaluation.

Values are attribute values in the wire format (``{"S": "x"}``, ``{"N": "1.5"}``, ``{"M":
{...}}``, ``{"SS": [...]}``), as the service receives and stores them; numbers are kept
normalized (``fake_dynamodb.number``). Grammar, as documented for DynamoDB:

- condition: ``OR``/``AND``/``NOT`` (that precedence), parentheses, comparisons ``= <> < <=
  > >=``, ``BETWEEN``, ``IN``, the functions ``attribute_exists``, ``attribute_not_exists``,
  ``attribute_type``, ``begins_with``, ``contains`` and ``size``;
- update: ``SET`` (``+``, ``-``, ``if_not_exists``, ``list_append``), ``REMOVE``, ``ADD``,
  ``DELETE``, each clause at most once;
- projection: document paths, comma-separated.

Document paths are names (bare, checked against the reserved words, or ``#placeholders``),
``.member`` and ``[index]``. Comparing values of different types is false (``<>``: true),
as in DynamoDB; a missing attribute compares like a different type.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

from tests.integration.fake_aws import ServiceError

RESERVED = frozenset(ReservedKeywords.get_reserved_keywords())  # the service's list, as moto ships it
_TOKEN = re.compile(r"\s*(?:(?P<value>:[A-Za-z0-9_]+)|(?P<name>#[A-Za-z0-9_]+)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<index>\[\s*\d+\s*\])|(?P<op><>|<=|>=|[=<>(),.+-]))")
_COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
_CONDITION_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2,
                        "contains": 2}
_UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
_NUMBERS = Context(prec=60)
_SETS = {"SS": "S", "NS": "N", "BS": "B"}


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


# -- the parse tree ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Path:
    elements: tuple[str | int, ...]  # names (possibly "#placeholders") and list indexes


@dataclass(frozen=True)
class Value:
    placeholder: str  # ":name"


@dataclass
class Parsed:
    tree: Any
    names: set[str] = field(default_factory=set)  # placeholders used
    values: set[str] = field(default_factory=set)


class _Parser:
    def __init__(self, text: str, kind: str) -> None:
        self.kind = kind  # "ConditionExpression", "UpdateExpression", ...
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                rest = text[position:]
                raise self.error(f'Syntax error; token: "{rest.strip()[:1]}", near: "{rest[:10]}"')
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))  # type: ignore[arg-type]
            position = match.end()
        self.at = 0
        self.parsed = Parsed(None)

    def error(self, detail: str) -> ServiceError:
        return validation(f"Invalid {self.kind}: {detail}")

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        return self.tokens[self.at + offset] if self.at + offset < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.error("Syntax error; token: <EOF>, near: end of expression")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        kind, token = self.next()
        if token.upper() != text.upper():
            raise self.error(f'Syntax error; token: "{token}", expected: "{text}"')

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() == word:
            self.at += 1
            return True
        return False

    def done(self) -> None:
        if self.peek() is not None:
            raise self.error(f'Syntax error; token: "{self.peek()[1]}"')  # type: ignore[index]

    # -- operands --------------------------------------------------------------------------
    def path(self) -> Path:
        kind, token = self.next()
        if kind == "name":
            self.parsed.names.add(token)
        elif kind == "word":
            if token.upper() in RESERVED:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {token}")
        else:
            raise self.error(f'Syntax error; token: "{token}"')
        elements: list[str | int] = [token]
        while (following := self.peek()) is not None and (following[0] == "index" or following[1] == "."):
            self.at += 1
            if following[0] == "index":
                elements.append(int(following[1].strip("[] ")))
                continue
            kind, token = self.next()
            if kind == "name":
                self.parsed.names.add(token)
            elif kind != "word" or token.upper() in RESERVED:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {token}"
                                 if kind == "word" else f'Syntax error; token: "{token}"')
            elements.append(token)
        return Path(tuple(elements))

    def operand(self, functions: dict[str, int]) -> Any:
        token = self.peek()
        if token is None:
            raise self.error("Syntax error; token: <EOF>")
        if token[0] == "value":
            self.at += 1
            self.parsed.values.add(token[1])
            return Value(token[1])
        following = self.peek(1)
        if token[0] == "word" and following is not None and following[1] == "(":
            return self.function(functions)
        return self.path()

    def function(self, functions: dict[str, int]) -> tuple:
        _, name = self.next()
        if name not in functions:
            known = name in _CONDITION_FUNCTIONS or name in _UPDATE_FUNCTIONS or name == "size"
            raise self.error(f"The function is not allowed {'here' if known else 'or is not defined'}; "
                             f"function: {name}")
        self.expect("(")
        arguments = []
        while True:
            arguments.append(self.operand(_UPDATE_FUNCTIONS if name in _UPDATE_FUNCTIONS else {"size": 1}))
            if self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.at += 1
                continue
            break
        self.expect(")")
        if len(arguments) != functions[name]:
            raise self.error(f"Incorrect number of operands for operator or function; operator or function: "
                             f"{name}, number of operands: {len(arguments)}")
        if name in ("attribute_exists", "attribute_not_exists", "attribute_type", "size", "if_not_exists") \
                and not isinstance(arguments[0], Path):
            raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        return ("call", name, tuple(arguments))

    # -- conditions ------------------------------------------------------------------------
    def condition(self) -> Any:
        left = self.conjunction()
        while self.keyword("OR"):
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.negation()
        while self.keyword("AND"):
            left = ("and", left, self.negation())
        return left

    def negation(self) -> Any:
        if self.keyword("NOT"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        token = self.peek()
        if token is not None and token[1] == "(":
            self.at += 1
            inner = self.condition()
            self.expect(")")
            return inner
        functions = {**_CONDITION_FUNCTIONS, "size": 1}
        left = self.operand(functions)
        if isinstance(left, tuple) and left[1] in _CONDITION_FUNCTIONS:
            return left  # a function that is a condition by itself
        token = self.peek()
        if token is not None and token[1] in _COMPARATORS:
            self.at += 1
            return ("compare", token[1], left, self.operand({"size": 1}))
        if self.keyword("BETWEEN"):
            low = self.operand({"size": 1})
            self.expect("AND")
            return ("between", left, low, self.operand({"size": 1}))
        if self.keyword("IN"):
            self.expect("(")
            options = [self.operand({"size": 1})]
            while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.at += 1
                options.append(self.operand({"size": 1}))
            self.expect(")")
            return ("in", left, tuple(options))
        raise self.error(f'Syntax error; token: "{token[1] if token else "<EOF>"}"')

    # -- updates ---------------------------------------------------------------------------
    def update(self) -> dict[str, list]:
        clauses: dict[str, list] = {}
        while self.peek() is not None:
            _, word = self.next()
            clause = word.upper()
            if clause not in ("SET", "REMOVE", "ADD", "DELETE"):
                raise self.error(f'Syntax error; token: "{word}"')
            if clause in clauses:
                raise self.error(f'The "{clause}" section can only be used once in an update expression;')
            actions = clauses[clause] = []
            while True:
                target = self.path()
                if clause == "SET":
                    self.expect("=")
                    actions.append((target, self.set_value()))
                elif clause == "REMOVE":
                    actions.append((target, None))
                else:
                    kind, value = self.next()
                    if kind != "value":
                        raise self.error(f'Syntax error; token: "{value}"')  # ADD and DELETE take a value
                    self.parsed.values.add(value)
                    actions.append((target, Value(value)))
                if self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                    self.at += 1
                    continue
                break
        if not clauses:
            raise self.error("Syntax error; token: <EOF>")
        return clauses

    def set_value(self) -> Any:
        left = self.operand(_UPDATE_FUNCTIONS)
        token = self.peek()
        if token is not None and token[1] in "+-":
            self.at += 1
            return ("plus" if token[1] == "+" else "minus", left, self.operand(_UPDATE_FUNCTIONS))
        return left

    def projection(self) -> list[Path]:
        paths = [self.path()]
        while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
            self.at += 1
            paths.append(self.path())
        return paths


@functools.lru_cache(maxsize=1024)
def parse(text: str, kind: str) -> Parsed:
    """One expression's tree and the placeholders it uses (cached: the same text comes again and again)."""
    if not text.strip():
        raise validation(f"Invalid {kind}: The expression can not be empty;")
    parser = _Parser(text, kind)
    if kind == "UpdateExpression":
        parser.parsed.tree = parser.update()
    elif kind == "ProjectionExpression":
        parser.parsed.tree = parser.projection()
    else:
        parser.parsed.tree = parser.condition()
    parser.done()
    return parser.parsed


# -- evaluation ---------------------------------------------------------------------------------
class Scope:
    """The request's placeholders, for evaluating its expressions."""

    def __init__(self, names: dict[str, str], values: dict[str, dict]) -> None:
        self.names, self.values = names, values

    def name(self, element: str | int) -> str | int:
        return self.names[element] if isinstance(element, str) and element.startswith("#") else element

    def resolve(self, path: Path) -> tuple[str | int, ...]:
        return tuple(self.name(element) for element in path.elements)


def get(item: dict[str, dict], elements: tuple[str | int, ...]) -> dict | None:
    value: Any = {"M": item}
    for element in elements:
        if isinstance(element, int):
            items = value.get("L")
            value = items[element] if items is not None and element < len(items) else None
        else:
            members = value.get("M")
            value = members.get(element) if members is not None else None
        if value is None:
            return None
    return value


def operand_value(operand: Any, item: dict[str, dict], scope: Scope) -> dict | None:
    if isinstance(operand, Value):
        return scope.values[operand.placeholder]
    if isinstance(operand, Path):
        return get(item, scope.resolve(operand))
    _, name, arguments = operand
    if name == "size":
        value = operand_value(arguments[0], item, scope)
        if value is None:
            return None
        (kind, content), = value.items()
        if kind == "B":
            return {"N": str(len(base64.b64decode(content)))}
        if kind in ("S", "SS", "NS", "BS", "L", "M"):
            return {"N": str(len(content))}
        raise validation(f"Invalid ConditionExpression: Incorrect operand type for operator or function; "
                         f"operator or function: size, operand type: {_type_name(kind)}")
    raise AssertionError(name)


def evaluate(tree: Any, item: dict[str, dict], scope: Scope) -> bool:
    kind = tree[0]
    if kind == "or":
        return evaluate(tree[1], item, scope) or evaluate(tree[2], item, scope)
    if kind == "and":
        return evaluate(tree[1], item, scope) and evaluate(tree[2], item, scope)
    if kind == "not":
        return not evaluate(tree[1], item, scope)
    if kind == "compare":
        _, operator, left, right = tree
        return compare(operator, operand_value(left, item, scope), operand_value(right, item, scope))
    if kind == "between":
        value, low, high = (operand_value(o, item, scope) for o in tree[1:])
        return compare(">=", value, low) and compare("<=", value, high)
    if kind == "in":
        value = operand_value(tree[1], item, scope)
        return any(compare("=", value, operand_value(option, item, scope)) for option in tree[2])
    _, name, arguments = tree
    first = operand_value(arguments[0], item, scope)
    if name == "attribute_exists":
        return first is not None
    if name == "attribute_not_exists":
        return first is None
    second = operand_value(arguments[1], item, scope)
    if name == "attribute_type":
        wanted = second.get("S") if second else None
        if wanted not in ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"):
            raise validation(f"Invalid ConditionExpression: Invalid attribute type name found; type: {wanted}, "
                             "valid types: { S,SS,N,NS,B,BS,BOOL,NULL,L,M }")
        return first is not None and wanted in first
    if first is None or second is None:
        return False
    (first_kind, first_content), = first.items()
    (second_kind, second_content), = second.items()
    if name == "begins_with":
        if second_kind not in ("S", "B"):
            raise validation("Invalid ConditionExpression: Incorrect operand type for operator or function; "
                             f"operator or function: begins_with, operand type: {_type_name(second_kind)}")
        if first_kind != second_kind:
            return False
        if first_kind == "B":
            return base64.b64decode(first_content).startswith(base64.b64decode(second_content))
        return first_content.startswith(second_content)
    if name == "contains":
        if first_kind == "S" and second_kind == "S":
            return second_content in first_content
        if first_kind in _SETS:
            return _SETS[first_kind] == second_kind and any(
                equal({second_kind: member}, second) for member in first_content)
        if first_kind == "L":
            return any(equal(member, second) for member in first_content)
        return False
    raise AssertionError(name)


def compare(operator: str, left: dict | None, right: dict | None) -> bool:
    if operator == "=":
        return left is not None and right is not None and equal(left, right)
    if operator == "<>":
        return left is None or right is None or not equal(left, right)
    if left is None or right is None:
        return False
    (left_kind, left_content), = left.items()
    (right_kind, right_content), = right.items()
    if left_kind != right_kind or left_kind not in ("S", "N", "B"):
        return False
    a, b = sortable(left_kind, left_content), sortable(right_kind, right_content)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


def sortable(kind: str, content: Any) -> Any:
    """A scalar's value in DynamoDB's order: numbers numerically, binary and strings bytewise."""
    if kind == "N":
        return Decimal(content)
    if kind == "B":
        return base64.b64decode(content)
    return content.encode()  # UTF-8 byte order


def equal(left: dict, right: dict) -> bool:
    (left_kind, left_content), = left.items()
    (right_kind, right_content), = right.items()
    if left_kind != right_kind:
        return False
    if left_kind == "N":
        return Decimal(left_content) == Decimal(right_content)
    if left_kind == "NS":
        return {Decimal(n) for n in left_content} == {Decimal(n) for n in right_content}
    if left_kind in ("SS", "BS"):
        return set(left_content) == set(right_content)
    if left_kind == "L":
        return len(left_content) == len(right_content) and all(map(equal, left_content, right_content))
    if left_kind == "M":
        return left_content.keys() == right_content.keys() and all(
            equal(value, right_content[key]) for key, value in left_content.items())
    return left_content == right_content


# -- updates ------------------------------------------------------------------------------------
def apply_update(clauses: dict[str, list], item: dict[str, dict], scope: Scope, key_names: tuple[str, ...],
                 normalize_number: Any) -> tuple[dict[str, dict], list[tuple]]:
    """The item after the update, and the paths it wrote. Every operand is read from the item
    as it was; containers along a written path are copied, never changed in place."""
    targets = [scope.resolve(path) for actions in clauses.values() for path, _ in actions]
    seen: set[tuple] = set()
    for target in sorted(targets, key=len):
        if target[0] in key_names:
            raise validation(f"One or more parameter values were invalid: Cannot update attribute {target[0]}. "
                             "This attribute is part of the key")
        for length in range(1, len(target) + 1):
            if target[:length] in seen:
                raise validation("Invalid UpdateExpression: Two document paths overlap with each other; must remove "
                                 f"or rewrite one of these paths; path one: {list(target[:length])}, path two: "
                                 f"{list(target)}")
        seen.add(target)
    writes: list[tuple[tuple, dict | None]] = []
    for path, value in clauses.get("SET", []):
        writes.append((scope.resolve(path), _set_value(value, item, scope, normalize_number)))
    for path, value in clauses.get("ADD", []):
        target = scope.resolve(path)
        writes.append((target, _add(get(item, target), scope.values[value.placeholder], normalize_number)))
    for path, value in clauses.get("DELETE", []):
        target = scope.resolve(path)
        writes.append((target, _delete(get(item, target), scope.values[value.placeholder])))
    removals = [scope.resolve(path) for path, _ in clauses.get("REMOVE", [])]
    updated = dict(item)
    for target, value in writes:
        updated = _write(updated, target, value)
    # List elements go last to first, so one removal does not move another's index.
    for target in sorted(removals, key=lambda t: [e if isinstance(e, int) else -1 for e in t], reverse=True):
        updated = _write(updated, target, None)
    return updated, targets


def _set_value(value: Any, item: dict[str, dict], scope: Scope, normalize_number: Any) -> dict:
    if isinstance(value, tuple) and value[0] in ("plus", "minus"):
        left, right = (_set_value(v, item, scope, normalize_number) for v in value[1:])
        if "N" not in left or "N" not in right:
            raise validation("An operand in the update expression has an incorrect data type")
        a, b = Decimal(left["N"]), Decimal(right["N"])
        result = _NUMBERS.add(a, b) if value[0] == "plus" else _NUMBERS.subtract(a, b)
        return {"N": normalize_number(str(result))}
    if isinstance(value, tuple) and value[0] == "call":
        _, name, arguments = value
        if name == "if_not_exists":
            existing = get(item, scope.resolve(arguments[0]))
            return existing if existing is not None else _set_value(arguments[1], item, scope, normalize_number)
        first, second = (_set_value(a, item, scope, normalize_number) for a in arguments)  # list_append
        if "L" not in first or "L" not in second:
            raise validation("Invalid UpdateExpression: Incorrect operand type for operator or function; "
                             "operator or function: list_append, operand type: "
                             f"{_type_name(next(iter(first if 'L' not in first else second)))}")
        return {"L": first["L"] + second["L"]}
    resolved = operand_value(value, item, scope)
    if resolved is None:
        raise validation("The provided expression refers to an attribute that does not exist in the item")
    return resolved


def _add(existing: dict | None, value: dict, normalize_number: Any) -> dict:
    (kind, content), = value.items()
    if kind != "N" and kind not in _SETS:
        raise validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
                         f"operand type: {_type_name(kind)}")
    if existing is None:
        return value
    if kind not in existing:
        raise validation("An operand in the update expression has an incorrect data type")
    if kind == "N":
        return {"N": normalize_number(str(_NUMBERS.add(Decimal(existing["N"]), Decimal(content))))}
    if kind == "NS":
        present = {Decimal(n) for n in existing["NS"]}
        return {"NS": existing["NS"] + [n for n in content if Decimal(n) not in present]}
    present_members = set(existing[kind])
    return {kind: existing[kind] + [member for member in content if member not in present_members]}


def _delete(existing: dict | None, value: dict) -> dict | None:
    (kind, content), = value.items()
    if kind not in _SETS:
        raise validation("Invalid UpdateExpression: Incorrect operand type for operator or function; "
                         f"operator: DELETE, operand type: {_type_name(kind)}")
    if existing is None:
        return None
    if kind not in existing:
        raise validation("An operand in the update expression has an incorrect data type")
    if kind == "NS":
        gone = {Decimal(n) for n in content}
        kept = [n for n in existing["NS"] if Decimal(n) not in gone]
    else:
        kept = [member for member in existing[kind] if member not in set(content)]
    return {kind: kept} if kept else None


def _write(container: dict, target: tuple, value: dict | None) -> dict:
    """``container`` (an item) with ``value`` at ``target`` (None: removed), copying along the path."""
    head, rest = target[0], target[1:]
    if not rest:
        if isinstance(head, int):
            raise AssertionError("the top level is a map")
        updated = dict(container)
        if value is None:
            updated.pop(head, None)
        else:
            updated[head] = value
        return updated
    child = container.get(head) if not isinstance(head, int) else None
    if child is None:
        if value is None:
            return container  # removing below a missing attribute changes nothing
        raise validation("The document path provided in the update expression is invalid for update")
    updated = dict(container)
    updated[head] = _write_inside(child, rest, value)
    return updated


def _write_inside(parent: dict, target: tuple, value: dict | None) -> dict:
    head, rest = target[0], target[1:]
    if isinstance(head, int):
        if "L" not in parent:
            raise validation("The document path provided in the update expression is invalid for update")
        items = list(parent["L"])
        if rest:
            if head >= len(items):
                raise validation("The document path provided in the update expression is invalid for update")
            items[head] = _write_inside(items[head], rest, value)
        elif value is None:
            if head < len(items):
                del items[head]
        elif head < len(items):
            items[head] = value
        else:
            items.append(value)  # an index past the end appends
        return {"L": items}
    if "M" not in parent:
        raise validation("The document path provided in the update expression is invalid for update")
    return {"M": _write(parent["M"], target, value)}


def project(item: dict[str, dict], paths: list[tuple]) -> dict[str, dict]:
    """The parts of ``item`` at ``paths`` (missing ones left out), nested as in the item."""
    result: dict[str, dict] = {}
    for path in paths:
        value = get(item, path)
        if value is None:
            continue
        if len(path) == 1:
            result[path[0]] = value
            continue
        # Rebuild the containers down to the value; list elements keep their relative order.
        node: dict = result.setdefault(path[0], {"M": {}} if isinstance(path[1], str) else {"L": []})
        for position, element in enumerate(path[1:], start=1):
            last = position == len(path) - 1
            following = path[position + 1] if not last else None
            fresh = value if last else ({"M": {}} if isinstance(following, str) else {"L": []})
            if isinstance(element, int):
                node["L"].append(fresh)
                node = node["L"][-1]
            else:
                node = node["M"].setdefault(element, fresh)
    return result


def _type_name(kind: str) -> str:
    return {"S": "STRING", "N": "NUMBER", "B": "BINARY", "SS": "STRING_SET", "NS": "NUMBER_SET", "BS": "BINARY_SET",
            "BOOL": "BOOLEAN", "NULL": "NULL", "L": "LIST", "M": "MAP"}[kind]
