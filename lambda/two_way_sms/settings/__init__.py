"""Each function's environment as one typed contract, read by its handler and checked by its construct.

``<Function>Settings.from_environment`` is how a handler reads its environment when it is
wired (a missing or bad value fails it with a message naming the variable) and how the
construct checks, at synth, that the environment it sets is one the handler accepts.
"""

from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms.settings.common import CONVERSATION_SETTINGS, conversation_settings
from two_way_sms.settings.events import EventsSettings
from two_way_sms.settings.inbound import OPTIONAL, REQUIRED, InboundSettings
from two_way_sms.settings.sender import SenderFunctionSettings

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
