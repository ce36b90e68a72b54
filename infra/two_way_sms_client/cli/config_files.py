"""The config and the templates as the operator has them: a config file, a ``cdk.json``, or ``./cdk.json``.

A config is read with the synth's own loader (``two_way_sms_cdk.config.load_config``), so the
command line and ``cdk synth`` accept and refuse the same files. Templates come in three forms:

- the functions' environment form, ``{"<id>": {"body": ..., "messageType": ...}}``
  (``two_way_sms.outbound.templates.templates_from_json``);
- the config's own form, the ``outbound.templates`` object ``{"<id>": {"body": ..., "message_type": ...}}``,
  read by the synth's parser of that section (``two_way_sms_cdk.config.parsing.parse_templates``);
- a whole config file or a ``cdk.json``: its ``outbound.templates``, after the whole config is checked.

Importing ``two_way_sms_cdk.config`` does not import ``aws_cdk``: these commands stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from two_way_sms.outbound.templates import Template, TemplateError, templates_from_json
from two_way_sms_client.cli.common import InvalidInput, read_json, read_text

if TYPE_CHECKING:  # pragma: no cover
    from two_way_sms_cdk.config import TwoWaySmsConfig

DEFAULT_CONFIG = "cdk.json"
CONTEXT_KEY = "two-way-sms"  # two_way_sms_cdk.config.CONTEXT_KEY (read here without importing the parser)
CONFIG_FILE_CONTEXT_KEY = "configFile"
_REQUIRED_CONFIG_KEYS = ("help_reply", "stop_reply", "opt_in_reply")  # a templates map cannot have these


def is_cdk_json(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("context"), dict)


def is_whole_config(data: Any) -> bool:
    return isinstance(data, dict) and any(key in data for key in _REQUIRED_CONFIG_KEYS)


def has_default() -> bool:
    """./cdk.json exists and configures a two-way SMS stack (its context names the config)."""
    if not Path(DEFAULT_CONFIG).is_file():
        return False
    data = read_json(DEFAULT_CONFIG)
    return is_cdk_json(data) and bool({CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY} & set(data["context"]))


def load(path: str | None) -> tuple[TwoWaySmsConfig, str]:
    """The checked config from ``path`` (a config file or a cdk.json) or ./cdk.json, and where it came from;
    InvalidInput (exit code 2) with the synth's own one-line message when it would fail the synth."""
    from two_way_sms_cdk.config import ConfigError, load_config

    name = path or DEFAULT_CONFIG
    if path is None and not Path(DEFAULT_CONFIG).is_file():
        raise InvalidInput("no config: pass --config FILE (a config file or a cdk.json), or run where cdk.json is")
    data = read_json(name)
    try:
        if is_cdk_json(data):
            context = data["context"]
            config_file = context.get(CONFIG_FILE_CONTEXT_KEY)
            if config_file:  # as `-c configFile=` in the cdk.json: relative to the app's directory
                config_path = Path(name).parent / str(config_file)
                return load_config(None, str(config_path)), f"{name} -> {config_path}"
            return load_config(context.get(CONTEXT_KEY)), name
        return load_config(None, name), name
    except ConfigError as error:
        raise InvalidInput(f"{name}: {error}") from None


def templates(path: str | None) -> tuple[Mapping[str, Template] | None, str]:
    """The templates of ``path`` in any of the three forms, or of ./cdk.json when ``path`` is None
    (None when there is no ./cdk.json or it configures no two-way SMS stack); and where they came from."""
    if path is None:
        if not has_default():
            return None, ""
        config, name = load(None)
        return config.outbound.templates, name
    data = read_json(path)
    if is_cdk_json(data) or is_whole_config(data):
        config, name = load(path)
        return config.outbound.templates, name
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: templates must be a JSON object by template id, not {type(data).__name__}")
    if any(isinstance(spec, dict) and "message_type" in spec for spec in data.values()):
        return _config_form(data, path), path
    try:
        return templates_from_json(read_text(path)), path
    except TemplateError as error:
        raise InvalidInput(f"{path}: {error}") from None


def _config_form(data: dict[str, Any], path: str) -> dict[str, Template]:
    """The config's ``outbound.templates`` object, through the synth's own parser of that section."""
    from two_way_sms_cdk.config import ConfigError
    from two_way_sms_cdk.config.parsing import parse_templates

    try:
        return parse_templates(data)
    except ConfigError as error:
        raise InvalidInput(f"{path}: {error}") from None
