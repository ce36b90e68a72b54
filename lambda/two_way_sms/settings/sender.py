"""The sender function's environment as one typed contract, read by the handler and the construct.

``SenderFunctionSettings.from_environment`` is how the handler reads its environment when it
is wired (a missing or bad value fails it with a message naming the variable) and how
``OutboundSender`` checks, at synth, that the environment it sets is one the handler accepts.
``SENDER_SETTINGS`` is the domain's ``SenderSettings`` (identity, MPS, quiet hours, cost
guards) and ``TEMPLATES`` the message templates, both parsed here. Optional capabilities:
the dead-letter queue for malformed requests, the month's budget, conversations (flows and
their table, with the codes key when a flow takes a one-use code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from two_way_sms.outbound.budget import SpendBudget, budget_from_environment
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.templates import Template, TemplateError, templates_from_json, templates_to_json
from two_way_sms.settings.common import conversation_settings

REQUIRED = (
    "OUTBOUND_QUEUE_URL",
    "OUTBOUND_TABLE",
    "CONTACTS_TABLE",
    "LEDGER_TABLE",
    "LEDGER_RETENTION_DAYS",
    "CONFIGURATION_SET",
    "SENDER_SETTINGS",
    "TEMPLATES",
    "SCHEDULE_GROUP",
    "RELEASE_TARGET_ARN",
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN",
)
# Without DEAD_LETTER_QUEUE_URL a malformed request fails its record until the redrive policy parks it;
# without conversations a request that opens one is refused (UNKNOWN_FLOW).
OPTIONAL = (
    "DEAD_LETTER_QUEUE_URL",
    "MONTHLY_BUDGET_USD",
    "BUDGET_HARD_STOP",
    "FLOWS_PARAMETER",
    "FLOWS_DIGEST",
    "CONVERSATIONS_TABLE",
    "CODES_KEY_ID",
    "MAX_RECEIVE_COUNT",
)


@dataclass(frozen=True)
class SenderFunctionSettings:
    outbound_queue_url: str
    outbound_table: str
    contacts_table: str
    ledger_table: str
    ledger_retention_days: int
    configuration_set: str
    sender: SenderSettings  # SENDER_SETTINGS
    schedule_group: str
    release_target_arn: str
    scheduler_role_arn: str
    schedule_dead_letter_queue_arn: str
    templates: Mapping[str, Template] = field(default_factory=lambda: MappingProxyType({}))
    dead_letter_queue_url: str | None = None
    budget: SpendBudget | None = None  # MONTHLY_BUDGET_USD and BUDGET_HARD_STOP
    flows_parameter: str | None = None
    flows_digest: str | None = None
    conversations_table: str | None = None
    codes_key_id: str | None = None
    max_receive_count: int | None = None  # the queue's redrive: failure lines say which receive is the last

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> SenderFunctionSettings:
        """Reads and checks the environment; RuntimeError naming what is missing or wrong."""
        missing = [name for name in REQUIRED if not environment.get(name)]
        if missing:
            raise RuntimeError(
                f"sender handler is missing environment variables {missing}: deploy it with the construct"
            )
        conversation_settings(environment, "sender")  # both or none
        value = {name: environment.get(name) or None for name in OPTIONAL}
        try:
            budget = budget_from_environment(value["MONTHLY_BUDGET_USD"], value["BUDGET_HARD_STOP"])
        except ValueError as error:
            raise RuntimeError(f"sender handler settings are invalid: {error}") from None
        return cls(
            outbound_queue_url=environment["OUTBOUND_QUEUE_URL"],
            outbound_table=environment["OUTBOUND_TABLE"],
            contacts_table=environment["CONTACTS_TABLE"],
            ledger_table=environment["LEDGER_TABLE"],
            ledger_retention_days=_whole(environment["LEDGER_RETENTION_DAYS"], "LEDGER_RETENTION_DAYS"),
            configuration_set=environment["CONFIGURATION_SET"],
            sender=_sender_settings(environment["SENDER_SETTINGS"]),
            templates=MappingProxyType(_templates(environment["TEMPLATES"])),
            schedule_group=environment["SCHEDULE_GROUP"],
            release_target_arn=environment["RELEASE_TARGET_ARN"],
            scheduler_role_arn=environment["SCHEDULER_ROLE_ARN"],
            schedule_dead_letter_queue_arn=environment["SCHEDULE_DEAD_LETTER_QUEUE_ARN"],
            dead_letter_queue_url=value["DEAD_LETTER_QUEUE_URL"],
            budget=budget,
            flows_parameter=value["FLOWS_PARAMETER"],
            flows_digest=value["FLOWS_DIGEST"],
            conversations_table=value["CONVERSATIONS_TABLE"],
            codes_key_id=value["CODES_KEY_ID"],
            max_receive_count=_whole(value["MAX_RECEIVE_COUNT"], "MAX_RECEIVE_COUNT")
            if value["MAX_RECEIVE_COUNT"]
            else None,
        )

    def to_environment(self) -> dict[str, str]:
        """The variables these settings are (unset options are left out)."""
        budget = (
            {
                "MONTHLY_BUDGET_USD": str(self.budget.monthly_usd),
                "BUDGET_HARD_STOP": "true" if self.budget.hard_stop else "false",
            }
            if self.budget
            else {}
        )
        optional: dict[str, str | None] = {
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "FLOWS_PARAMETER": self.flows_parameter,
            "FLOWS_DIGEST": self.flows_digest,
            "CONVERSATIONS_TABLE": self.conversations_table,
            "CODES_KEY_ID": self.codes_key_id,
            "MAX_RECEIVE_COUNT": str(self.max_receive_count) if self.max_receive_count is not None else None,
        }
        return {
            "OUTBOUND_QUEUE_URL": self.outbound_queue_url,
            "OUTBOUND_TABLE": self.outbound_table,
            "CONTACTS_TABLE": self.contacts_table,
            "LEDGER_TABLE": self.ledger_table,
            "LEDGER_RETENTION_DAYS": str(self.ledger_retention_days),
            "CONFIGURATION_SET": self.configuration_set,
            "SENDER_SETTINGS": self.sender.to_json(),
            "TEMPLATES": templates_to_json(self.templates),
            "SCHEDULE_GROUP": self.schedule_group,
            "RELEASE_TARGET_ARN": self.release_target_arn,
            "SCHEDULER_ROLE_ARN": self.scheduler_role_arn,
            "SCHEDULE_DEAD_LETTER_QUEUE_ARN": self.schedule_dead_letter_queue_arn,
            **budget,
            **{name: text for name, text in optional.items() if text is not None},
        }


def _whole(text: str, name: str) -> int:
    if not text.isdigit():
        raise RuntimeError(f"{name} {text!r} must be a whole number")
    return int(text)


def _sender_settings(text: str) -> SenderSettings:
    try:
        return SenderSettings.from_json(text)
    except (ValueError, TypeError) as error:  # TypeError: a field of the wrong shape
        raise RuntimeError(f"SENDER_SETTINGS are invalid: {error}") from None


def _templates(text: str) -> dict[str, Template]:
    try:
        return templates_from_json(text)
    except TemplateError as error:
        raise RuntimeError(f"TEMPLATES are invalid: {error}") from None
