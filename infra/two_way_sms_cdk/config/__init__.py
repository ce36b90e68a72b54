"""One typed, validated configuration for the two-way SMS stack.

``model`` holds the typed configuration (dataclasses, each default documented there), which you
may build in code; ``parsing`` reads it from its JSON form (``cdk.json`` context or a file) and
checks every value, failing the synth with a message that names the bad one.
"""

from two_way_sms_cdk.config import model
from two_way_sms_cdk.config.model import *  # noqa: F403  (the model's __all__ is this package's API)
from two_way_sms_cdk.config.parsing import default_mps, load_config, parse_config

__all__ = [*model.__all__, "default_mps", "load_config", "parse_config"]
