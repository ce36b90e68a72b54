"""The inbound function's environment as one typed contract, read by the handler and the construct.

``InboundSettings.from_environment`` is how the handler reads its environment at start-up
(a missing or bad value fails it with a message naming the variable) and how
``InboundProcessor`` checks, at synth, that the environment it sets is one the handler
accepts. Optional capabilities come in groups that go together: the ledger, conversations
(flows and their table, with the bus and the codes key when present), the budget's hard stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from two_way_sms.reply_log import ReplyLimits
from two_way_sms.settings.common import conversation_settings

REQUIRED = ("RESPONDER_SETTINGS", "CONTACTS_TABLE", "CONFIGURATION_SET", "OPT_OUT_LIST", "MESSAGE_TYPE")
OPTIONAL = (
    "LEDGER_TABLE",
    "LEDGER_RETENTION_DAYS",
    "FLOWS_PARAMETER",
    "FLOWS_DIGEST",
    "CONVERSATIONS_TABLE",
    "EVENT_BUS_NAME",
    "CODES_KEY_ID",
    "DEAD_LETTER_QUEUE_URL",
    "OUR_NUMBERS",
    "ORIGINATION_POOL_ID",
    "MAX_RECEIVE_COUNT",
    "REPLY_MAX_PRICE",
    "REPLY_TIME_TO_LIVE",
    "REPLY_LIMITS",
    "MONTHLY_BUDGET_USD",
    "BUDGET_HARD_STOP",
    "EXTENSIONS_MODULE",
)
DEFAULT_MAX_RECEIVE_COUNT = 5
DEFAULT_LEDGER_RETENTION_DAYS = 400


@dataclass(frozen=True)
class InboundSettings:
    responder_settings: str  # ResponderSettings as JSON
    contacts_table: str
    configuration_set: str
    opt_out_list: str
    message_type: str
    ledger_table: str | None = None
    ledger_retention_days: int = DEFAULT_LEDGER_RETENTION_DAYS
    flows_parameter: str | None = None
    flows_digest: str | None = None
    conversations_table: str | None = None
    event_bus_name: str | None = None
    codes_key_id: str | None = None
    dead_letter_queue_url: str | None = None
    our_numbers: str | None = None  # E.164, comma-separated
    origination_pool_id: str | None = None
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT
    reply_max_price: str | None = None
    reply_time_to_live: int | None = None
    reply_limits: ReplyLimits = ReplyLimits()
    monthly_budget_usd: str | None = None
    budget_hard_stop: str | None = None
    extensions_module: str | None = None

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> InboundSettings:
        """Reads and checks the environment; RuntimeError naming what is missing or wrong."""
        missing = [name for name in REQUIRED if not environment.get(name)]
        if missing:
            raise RuntimeError(
                f"inbound handler is missing environment variables {missing}: deploy it with the construct"
            )
        conversation_settings(environment, "inbound")  # both or none
        value = {name: environment.get(name) or None for name in (*REQUIRED, *OPTIONAL)}
        return cls(
            responder_settings=environment["RESPONDER_SETTINGS"],
            contacts_table=environment["CONTACTS_TABLE"],
            configuration_set=environment["CONFIGURATION_SET"],
            opt_out_list=environment["OPT_OUT_LIST"],
            message_type=environment["MESSAGE_TYPE"],
            ledger_table=value["LEDGER_TABLE"],
            ledger_retention_days=_whole(value["LEDGER_RETENTION_DAYS"], "LEDGER_RETENTION_DAYS")
            or DEFAULT_LEDGER_RETENTION_DAYS,
            flows_parameter=value["FLOWS_PARAMETER"],
            flows_digest=value["FLOWS_DIGEST"],
            conversations_table=value["CONVERSATIONS_TABLE"],
            event_bus_name=value["EVENT_BUS_NAME"],
            codes_key_id=value["CODES_KEY_ID"],
            dead_letter_queue_url=value["DEAD_LETTER_QUEUE_URL"],
            our_numbers=value["OUR_NUMBERS"],
            origination_pool_id=value["ORIGINATION_POOL_ID"],
            max_receive_count=_whole(value["MAX_RECEIVE_COUNT"], "MAX_RECEIVE_COUNT") or DEFAULT_MAX_RECEIVE_COUNT,
            reply_max_price=value["REPLY_MAX_PRICE"],
            reply_time_to_live=_whole(value["REPLY_TIME_TO_LIVE"], "REPLY_TIME_TO_LIVE"),
            reply_limits=_limits(value["REPLY_LIMITS"]),
            monthly_budget_usd=value["MONTHLY_BUDGET_USD"],
            budget_hard_stop=value["BUDGET_HARD_STOP"],
            extensions_module=value["EXTENSIONS_MODULE"],
        )

    def to_environment(self) -> dict[str, str]:
        """The variables these settings are (the construct sets them; unset options are left out)."""
        optional: dict[str, str | None] = {
            "LEDGER_TABLE": self.ledger_table,
            "LEDGER_RETENTION_DAYS": str(self.ledger_retention_days) if self.ledger_table else None,
            "FLOWS_PARAMETER": self.flows_parameter,
            "FLOWS_DIGEST": self.flows_digest,
            "CONVERSATIONS_TABLE": self.conversations_table,
            "EVENT_BUS_NAME": self.event_bus_name,
            "CODES_KEY_ID": self.codes_key_id,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "OUR_NUMBERS": self.our_numbers,
            "ORIGINATION_POOL_ID": self.origination_pool_id,
            "MAX_RECEIVE_COUNT": str(self.max_receive_count),
            "REPLY_MAX_PRICE": self.reply_max_price,
            "REPLY_TIME_TO_LIVE": str(self.reply_time_to_live) if self.reply_time_to_live is not None else None,
            "REPLY_LIMITS": self.reply_limits.to_text(),
            "MONTHLY_BUDGET_USD": self.monthly_budget_usd,
            "BUDGET_HARD_STOP": self.budget_hard_stop,
            "EXTENSIONS_MODULE": self.extensions_module,
        }
        return {
            "RESPONDER_SETTINGS": self.responder_settings,
            "CONTACTS_TABLE": self.contacts_table,
            "CONFIGURATION_SET": self.configuration_set,
            "OPT_OUT_LIST": self.opt_out_list,
            "MESSAGE_TYPE": self.message_type,
            **{name: text for name, text in optional.items() if text is not None},
        }


def _whole(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise RuntimeError(f"{name} {text!r} must be a whole number")
    return int(text)


def _limits(text: str | None) -> ReplyLimits:
    if text is None:
        return ReplyLimits()
    try:
        return ReplyLimits.from_text(text)
    except ValueError as error:
        raise RuntimeError(str(error)) from None
