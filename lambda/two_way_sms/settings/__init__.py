"""Each function's environment as one typed contract, read by its handler and checked by its construct.

``<Function>Settings.from_environment`` is how a handler reads its environment when it is
wired (a missing or bad value fails it with a message naming the variable) and how the
construct checks, at synth, that the environment it sets is one the handler accepts.

The names below are imported from their modules when first used: a function imports its
own contract, not the other functions' (the sender's and the campaigns' bring the outbound
policy and its templates).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from two_way_sms.settings.campaigns import CampaignsSettings
    from two_way_sms.settings.common import CONVERSATION_SETTINGS, conversation_settings
    from two_way_sms.settings.events import EventsSettings
    from two_way_sms.settings.inbound import OPTIONAL, REQUIRED, InboundSettings
    from two_way_sms.settings.sender import SenderFunctionSettings

_MODULE_OF = {
    "CONVERSATION_SETTINGS": "common",
    "OPTIONAL": "inbound",
    "REQUIRED": "inbound",
    "CampaignsSettings": "campaigns",
    "EventsSettings": "events",
    "InboundSettings": "inbound",
    "SenderFunctionSettings": "sender",
    "conversation_settings": "common",
}

__all__ = [
    "CONVERSATION_SETTINGS",
    "OPTIONAL",
    "REQUIRED",
    "CampaignsSettings",
    "EventsSettings",
    "InboundSettings",
    "SenderFunctionSettings",
    "conversation_settings",
]


def __getattr__(name: str) -> Any:
    """``two_way_sms.settings.InboundSettings`` and the others, from their module at first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once: later lookups find it without this function
    return value
