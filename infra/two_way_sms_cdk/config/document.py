"""The configuration's JSON form as a pydantic model: what produces the published JSON Schema.

``parsing`` reads the same JSON into the typed ``model`` and checks every rule (carriers', AWS's,
the domain's); this model states the form those rules apply to, key by key, with each default and
a line on what it does, so an editor can complete and check a config as it is typed. A test walks
the parser over a config with every key and proves both accept the same keys at every level.

``python -m two_way_sms_cdk.config.document`` prints the schema; the package ships it as
``two_way_sms_cdk/config/two-way-sms.schema.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_FILE = Path(__file__).resolve().parent / "two-way-sms.schema.json"

NumberType = Literal["LONG_CODE", "TOLL_FREE", "TEN_DLC", "SIMULATOR"]
MessageType = Literal["TRANSACTIONAL", "PROMOTIONAL"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewNumberBody(_Section):
    iso_country_code: str = Field("US", description="ISO 3166-1 alpha-2 country of the number to request.")
    number_type: NumberType = Field("SIMULATOR", description="SIMULATOR needs no registration (US only).")
    capabilities: list[Literal["SMS", "VOICE", "MMS"]] = Field(["SMS"], description="What the number can do (a list).")


class NewNumberOrigination(_Section):
    new_number: NewNumberBody = Field(description="Request a new phone number with this stack.")


class ExistingBody(_Section):
    origination_type: Literal["phone-number", "pool"]
    origination_id: str = Field(
        pattern=r"^(phone|pool)-[0-9A-Za-z]{1,64}$",
        description="The phone number id (phone-...) or pool id (pool-...), not the number or an ARN.",
    )
    number_type: NumberType = "LONG_CODE"


class ExistingOrigination(_Section):
    existing: ExistingBody = Field(description="Use a number or pool you already have; settings restored on delete.")


class Keyword(_Section):
    keyword: str = Field(description="A word the number answers (not HELP or STOP: those are help_reply, stop_reply).")
    reply: str
    action: Literal["AUTOMATIC_RESPONSE", "OPT_OUT", "OPT_IN"] = "AUTOMATIC_RESPONSE"


class DeliveryEvents(_Section):
    stream_mode: Literal["PROVISIONED", "ON_DEMAND"] = "PROVISIONED"
    shard_count: int | None = Field(None, ge=1, le=500, description="PROVISIONED only; 1 when null.")
    ledger_retention_days: int = Field(400, ge=1, le=3650, description="How long the message ledger keeps a text.")


class Archive(_Section):
    infrequent_access_after_days: int = Field(30, ge=30)
    glacier_instant_retrieval_after_days: int = 90
    expire_after_days: int | None = Field(
        None, description="Delete archived events after this many days; never if null."
    )


class Monitoring(_Section):
    alarm_topic_arn: str | None = Field(None, description="Your SNS topic for alarms; a new one when null.")
    alarm_emails: list[str] = Field([], description="Addresses subscribed to the alarm topic.")
    monthly_budget_usd: float | None = Field(100, gt=0, description="Alarm (and hard stop) at this month's spend.")
    delivery_failure_rate_percent: float = Field(10, gt=0, le=100)
    hard_stop: bool = Field(False, description="At the budget, hold every text but HELP and opt-out confirmations.")


class QuietHours(_Section):
    start: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Recipient's local time.")
    end: str = Field("21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    state_rules: bool = Field(True, description="Apply the US states' stricter windows as well.")


class Template(_Section):
    body: str = Field(description="Text with {variables}; checked for encoding, parts and a STOP line if promotional.")
    message_type: MessageType = "TRANSACTIONAL"


class Outbound(_Section):
    mps: float | None = Field(None, gt=0, description="Parts per second; the number type's default when null.")
    max_price_usd: str | None = Field(
        "0.10",
        pattern=r"^\d{1,2}\.\d{1,5}$",
        description='MaxPrice of every text, in US dollars, as a string ("0.10"); null for no ceiling.',
    )
    time_to_live_seconds: int = 259200
    replace_lookalikes: bool = Field(True, description="Swap look-alike characters for GSM-7 ones (cheaper parts).")
    max_parts: int = 6
    promotional_daily_limit: int = 2
    quiet_hours: QuietHours = QuietHours()
    max_concurrency: int = Field(2, ge=2, le=1000)
    templates: dict[str, Template] = Field({}, description="Template id -> template, sent by id from your app.")


class Extensions(_Section):
    directory: str = Field(description="A directory holding python/<module>/, bundled as a layer.")
    module: str = Field(description="The Python module whose decorators register your handlers.")


class Conversations(_Section):
    ready_flows: list[Literal["appointment", "transaction", "support"]] = []
    flows: dict[str, dict[str, Any]] = Field({}, description="Your own flows, by name (see the README).")
    event_bus_name: str | None = Field(None, description="Publish business events on this bus; a new one when null.")
    extensions: Extensions | None = None


class Protect(_Section):
    allowed_countries: list[str] | None = Field(
        None, description="Countries texts may go to; the number's own if null."
    )
    deletion_protection: bool = False
    account_default: bool = False


class ReplyLimits(_Section):
    per_window: int = Field(5, ge=1, le=1000)
    window_minutes: int = 10
    per_day: int = Field(20, ge=1, le=1000)
    same_text_minutes: int = 5


class Inbound(_Section):
    test_publisher_role_arn: str | None = Field(None, description="A role that may publish test messages to the topic.")
    reply_limits: ReplyLimits = ReplyLimits()


class ConfigDocument(_Section):
    """The ``two-way-sms`` value of cdk.json's context, or a file named by ``-c configFile=``."""

    model_config = ConfigDict(extra="forbid", title="two-way-sms configuration", populate_by_name=True)

    schema_: str | None = Field(None, alias="$schema", description="This schema, for editors.")
    origination: NewNumberOrigination | ExistingOrigination = NewNumberOrigination(new_number=NewNumberBody())
    help_reply: str = Field(description="The HELP answer: who you are and a phone number, URL or e-mail address.")
    stop_reply: str = Field(description="The STOP confirmation: it must say that messages stop.")
    opt_in_reply: str = Field(description="The confirmation of START and the other opt-in words.")
    keywords: list[Keyword] = []
    extra_opt_out_words: list[str] = []
    extra_opt_in_words: list[str] = []
    opt_out_phrases: list[str] | None = Field(None, description="Phrases read as an opt-out, beside the built-in ones.")
    default_reply: str | None = Field(None, description="The answer to anything else; no answer when null.")
    self_managed_opt_outs: bool = False
    message_type: MessageType = "TRANSACTIONAL"
    opt_out_list_name: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    deletion_protection: bool = False
    delivery_events: DeliveryEvents = DeliveryEvents()
    archive: Archive = Archive()
    monitoring: Monitoring = Monitoring()
    outbound: Outbound = Outbound()
    conversations: Conversations = Conversations()
    protect: Protect = Protect()
    inbound: Inbound = Inbound()


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the configuration's JSON form."""
    schema = ConfigDocument.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
