"""The campaigns function's environment as one typed contract, read by the handler and the construct.

``CampaignsSettings.from_environment`` is how the handler reads its environment when it is
wired (a missing or bad value fails it with a message naming the variable) and how
``Campaigns`` checks, at synth, that the environment it sets is one the handler accepts.
``SENDER_SETTINGS`` is optional: with it, recipients already at the sender's promotional
daily limit are left out before they are queued; without it the sender alone applies that limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.templates import Template, templates_from_json, templates_to_json

REQUIRED = (
    "OUTBOUND_QUEUE_URL",
    "OUTBOUND_TABLE",
    "CONTACTS_TABLE",
    "TEMPLATES",
    "SCHEDULE_GROUP",
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN",
    "DEAD_LETTER_QUEUE_URL",
)
OPTIONAL = ("SENDER_SETTINGS",)


@dataclass(frozen=True)
class CampaignsSettings:
    outbound_queue_url: str
    outbound_table: str  # held requests and campaign runs
    contacts_table: str
    templates: Mapping[str, Template]  # by template id: the templates a campaign may name
    schedule_group: str  # where the continuations' one-time schedules go
    scheduler_role_arn: str
    schedule_dead_letter_queue_arn: str
    dead_letter_queue_url: str  # events that can never run are parked here, with their reason
    sender_settings: SenderSettings | None = None

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> CampaignsSettings:
        """Reads and checks the environment; RuntimeError naming what is missing or wrong."""
        missing = [name for name in REQUIRED if not environment.get(name)]
        if missing:
            raise RuntimeError(
                f"campaigns function is missing environment variables {missing}: deploy it with the construct"
            )
        sender_json = environment.get("SENDER_SETTINGS") or None
        try:
            templates = templates_from_json(environment["TEMPLATES"])
            sender_settings = SenderSettings.from_json(sender_json) if sender_json else None
        except (ValueError, TypeError) as error:  # TypeError: a sender settings field missing
            raise RuntimeError(f"campaigns function settings are invalid: {error}") from None
        return cls(
            outbound_queue_url=environment["OUTBOUND_QUEUE_URL"],
            outbound_table=environment["OUTBOUND_TABLE"],
            contacts_table=environment["CONTACTS_TABLE"],
            templates=templates,
            schedule_group=environment["SCHEDULE_GROUP"],
            scheduler_role_arn=environment["SCHEDULER_ROLE_ARN"],
            schedule_dead_letter_queue_arn=environment["SCHEDULE_DEAD_LETTER_QUEUE_ARN"],
            dead_letter_queue_url=environment["DEAD_LETTER_QUEUE_URL"],
            sender_settings=sender_settings,
        )

    @property
    def promotional_daily_limit(self) -> int | None:
        """The sender's per-recipient daily limit; None: only the state and campaign limits pre-filter."""
        return self.sender_settings.promotional_daily_limit if self.sender_settings is not None else None

    def to_environment(self) -> dict[str, str]:
        """The variables these settings are (the construct sets them; an unset option is left out)."""
        return {
            "OUTBOUND_QUEUE_URL": self.outbound_queue_url,
            "OUTBOUND_TABLE": self.outbound_table,
            "CONTACTS_TABLE": self.contacts_table,
            "TEMPLATES": templates_to_json(self.templates),
            "SCHEDULE_GROUP": self.schedule_group,
            "SCHEDULER_ROLE_ARN": self.scheduler_role_arn,
            "SCHEDULE_DEAD_LETTER_QUEUE_ARN": self.schedule_dead_letter_queue_arn,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            **({"SENDER_SETTINGS": self.sender_settings.to_json()} if self.sender_settings is not None else {}),
        }
