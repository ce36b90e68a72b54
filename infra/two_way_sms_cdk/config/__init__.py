"""One typed, validated configuration for the two-way SMS stack.

``model`` holds the typed configuration (dataclasses, each default documented there), which you
may build in code. Its JSON form (``cdk.json`` context or a file) has one pydantic model,
``document.ConfigDocument`` (the sections in ``sections`` and ``messaging``, the values in
``values``), which also produces the published JSON Schema; ``parsing`` validates a config with
it and builds the typed one, with the checks across sections (``checks``; ``quiet_hours``
against the solicitation rules table), failing the synth with one line (``errors``) that
names the bad value.
"""

from two_way_sms_cdk.config import model
from two_way_sms_cdk.config.model import *  # noqa: F403  (the model's __all__ is this package's API)
from two_way_sms_cdk.config.parsing import default_mps, load_config, parse_config, parse_templates

__all__ = [*model.__all__, "default_mps", "load_config", "parse_config", "parse_templates"]
