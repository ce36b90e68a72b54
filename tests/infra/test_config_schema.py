"""The one model of the config's JSON form: its published schema is current, and every key reaches the typed config.

``ConfigDocument`` validates a config and produces the schema; ``parse_config`` builds the typed
``TwoWaySmsConfig`` from the validated document. So the schema and the checks cannot drift apart,
and what is left to prove is that the builder loses nothing: two configs that between them set
every key of every section (each to a value that is not its default) parse, and each value lands
where the typed config keeps it; the list of where covers every key the document has.
"""

from __future__ import annotations

import json
import types
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.outbound.templates import parse_template
from two_way_sms.quiet_hours import DailyWindow
from two_way_sms.reply_log import ReplyLimits
from two_way_sms.responder import KeywordAction, KeywordRule, ResponderSettings
from two_way_sms_cdk.config import ExtensionsConfig, NewNumber, TwoWaySmsConfig, document, parse_config

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = json.loads((REPO / "cdk.json").read_text())["context"]["two-way-sms"]
EXTENSIONS = Path(__file__).parent / "fixtures" / "extensions"
REPLIES = {
    "help_reply": "Example Clinic: help at +1 206 555 0100 or example.com/sms. Reply STOP to cancel.",
    "stop_reply": "Example Clinic: you are unsubscribed and will receive no more messages.",
    "opt_in_reply": "Example Clinic: you are subscribed again. Reply STOP to cancel.",
}
SPANISH = {
    "help_reply": "Clínica Ejemplo: ayuda al +1 206 555 0100. Envíe ALTO para cancelar.",
    "stop_reply": "Clínica Ejemplo: se ha dado de baja y no recibirá más mensajes.",
    "opt_in_reply": "Clínica Ejemplo: se ha suscrito de nuevo. Envíe ALTO para cancelar.",
}
POOL_ID = "pool-0123456789abcdef0123456789abcdef"
SURVEY = {
    "start": "ask",
    "timeout_seconds": 3600,
    "steps": {"ask": {"prompt": "Rate your visit 1-5.", "answers": [{"match": "1|2|3|4|5", "close": True}]}},
}

# Every key but the origination's: each set to a value that is not its default.
EVERY_SECTION: dict[str, Any] = {
    **REPLIES,
    "$schema": "./two-way-sms.schema.json",
    "keywords": [{"keyword": "hours", "reply": "Open Mon-Fri 8-18.", "action": "OPT_IN"}],
    "extra_opt_out_words": ["quit"],
    "extra_opt_in_words": ["again"],
    "opt_out_phrases": ["take me off"],
    "default_reply": "Example Clinic: thanks! Reply HELP for help.",
    "languages": {"es": SPANISH},
    "self_managed_opt_outs": True,
    "message_type": "PROMOTIONAL",
    "opt_out_list_name": "clinic-opt-outs",
    "deletion_protection": True,
    "delivery_events": {"shard_count": 4, "ledger_retention_days": 30},
    "archive": {
        "infrequent_access_after_days": 60,
        "glacier_instant_retrieval_after_days": 120,
        "expire_after_days": 400,
    },
    "monitoring": {
        "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops",
        "alarm_emails": ["ops@example.com"],
        "monthly_budget_usd": 50,
        "delivery_failure_rate_percent": 2.5,
        "hard_stop": True,
        "dashboard": True,
        "function_error_alarms": True,
    },
    "outbound": {
        "mps": 2.5,
        "max_price_usd": "0.05",
        "time_to_live_seconds": 3600,
        "replace_lookalikes": False,
        "max_parts": 4,
        "promotional_daily_limit": 1,
        "quiet_hours": {
            "start": "09:00",
            "end": "20:00",
            "jurisdictions": {
                "US-FL": {
                    "windows": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "09:00-19:00"),
                    "blackout_dates": ["2026-12-24"],
                    "cap": 2,
                }
            },
            "blackout_dates": ["2026-12-31"],
            "overrides": [{"jurisdiction": "US-RI", "rule": "sundays", "reason": "counsel's advice"}],
        },
        "max_concurrency": 4,
        "templates": {"offer": {"body": "Hi {name}, 10% off this week.", "message_type": "PROMOTIONAL"}},
    },
    "conversations": {
        "ready_flows": ["support"],
        "flows": {"survey": SURVEY},
        "event_bus_name": "orders",
        "extensions": {"directory": str(EXTENSIONS), "module": "clinic_handlers"},
    },
    "protect": {"allowed_countries": ["gb", "US"], "deletion_protection": False, "account_default": True},
    "inbound": {
        "test_publisher_role_arn": "arn:aws:iam::123456789012:role/tester",
        "reply_limits": {"per_window": 2, "window_minutes": 3, "per_day": 4, "same_text_minutes": 1},
    },
}
NEW_NUMBER = {
    **EVERY_SECTION,
    "origination": {
        "new_number": {"iso_country_code": "gb", "number_type": "LONG_CODE", "capabilities": ["SMS", "MMS"]}
    },
}
EXISTING = {
    **EVERY_SECTION,
    "origination": {"existing": {"origination_type": "pool", "origination_id": POOL_ID, "number_type": "TOLL_FREE"}},
    "delivery_events": {"stream_mode": "ON_DEMAND"},  # the other value of the key shard_count cannot go with
    # window (every day) cannot go with windows (by day)
    "outbound": {**EVERY_SECTION["outbound"], "quiet_hours": {"jurisdictions": {"US-CT": {"window": "10:00-19:00"}}}},
}
NINE_TO_SEVEN = DailyWindow(time(9), time(19))

# Every key of the document (``[]``: of each entry of a list, ``{}``: of each value of an object)
# -> where the typed config keeps it, and the value it gets from NEW_NUMBER (or EXISTING).
LANDS = {
    "origination.new_number.iso_country_code": (lambda c: c.origination.iso_country_code, "GB"),
    "origination.new_number.number_type": (lambda c: c.origination.number_type, "LONG_CODE"),
    "origination.new_number.capabilities": (lambda c: c.origination.capabilities, ("SMS", "MMS")),
    "origination.existing.origination_type": (lambda c: c.origination.origination_type, "pool"),
    "origination.existing.origination_id": (lambda c: c.origination.origination_id, POOL_ID),
    "origination.existing.number_type": (lambda c: c.origination.number_type, "TOLL_FREE"),
    "help_reply": (lambda c: c.responder.help_reply, REPLIES["help_reply"]),
    "stop_reply": (lambda c: c.responder.stop_reply, REPLIES["stop_reply"]),
    "opt_in_reply": (lambda c: c.responder.opt_in_reply, REPLIES["opt_in_reply"]),
    "keywords[].keyword": (lambda c: c.responder.keywords[0].keyword, "HOURS"),
    "keywords[].reply": (lambda c: c.responder.keywords[0].reply, "Open Mon-Fri 8-18."),
    "keywords[].action": (lambda c: c.responder.keywords[0].action, KeywordAction.OPT_IN),
    "extra_opt_out_words": (lambda c: c.responder.extra_opt_out_words, ("QUIT",)),
    "extra_opt_in_words": (lambda c: c.responder.extra_opt_in_words, ("AGAIN",)),
    "opt_out_phrases": (lambda c: c.responder.opt_out_phrases, ("take me off",)),
    "default_reply": (lambda c: c.responder.default_reply, "Example Clinic: thanks! Reply HELP for help."),
    **{
        f"languages{{}}.{name}": (lambda c, name=name: getattr(c.responder.languages[0], name), SPANISH[name])
        for name in ("help_reply", "stop_reply", "opt_in_reply")
    },
    "self_managed_opt_outs": (lambda c: c.responder.self_managed_opt_outs, True),
    "message_type": (lambda c: c.message_type, "PROMOTIONAL"),
    "opt_out_list_name": (lambda c: c.opt_out_list_name, "clinic-opt-outs"),
    "deletion_protection": (lambda c: c.deletion_protection, True),
    "delivery_events.stream_mode": (lambda c: c.delivery_events.stream_mode, "ON_DEMAND"),
    "delivery_events.shard_count": (lambda c: c.delivery_events.shard_count, 4),
    "delivery_events.ledger_retention_days": (lambda c: c.delivery_events.ledger_retention_days, 30),
    "archive.infrequent_access_after_days": (lambda c: c.archive.infrequent_access_after_days, 60),
    "archive.glacier_instant_retrieval_after_days": (lambda c: c.archive.glacier_instant_retrieval_after_days, 120),
    "archive.expire_after_days": (lambda c: c.archive.expire_after_days, 400),
    "monitoring.alarm_topic_arn": (lambda c: c.monitoring.alarm_topic_arn, "arn:aws:sns:us-east-1:123456789012:ops"),
    "monitoring.alarm_emails": (lambda c: c.monitoring.alarm_emails, ("ops@example.com",)),
    "monitoring.monthly_budget_usd": (lambda c: c.monitoring.monthly_budget_usd, 50.0),
    "monitoring.delivery_failure_rate_percent": (lambda c: c.monitoring.delivery_failure_rate_percent, 2.5),
    "monitoring.hard_stop": (lambda c: c.monitoring.hard_stop, True),
    "monitoring.dashboard": (lambda c: c.monitoring.dashboard, True),
    "monitoring.function_error_alarms": (lambda c: c.monitoring.function_error_alarms, True),
    "outbound.mps": (lambda c: c.outbound.mps, 2.5),
    "outbound.max_price_usd": (lambda c: c.outbound.max_price_usd, "0.05"),
    "outbound.time_to_live_seconds": (lambda c: c.outbound.time_to_live_seconds, 3600),
    "outbound.replace_lookalikes": (lambda c: c.outbound.replace_lookalikes, False),
    "outbound.max_parts": (lambda c: c.outbound.max_parts, 4),
    "outbound.promotional_daily_limit": (lambda c: c.outbound.promotional_daily_limit, 1),
    "outbound.quiet_hours.start": (lambda c: c.outbound.quiet_hours.start, time(9)),
    "outbound.quiet_hours.end": (lambda c: c.outbound.quiet_hours.end, time(20)),
    "outbound.quiet_hours.jurisdictions{}.window": (
        lambda c: c.outbound.quiet_hours.jurisdictions["US-CT"],
        (DailyWindow(time(10), time(19)),) * 7,
    ),
    **{
        f"outbound.quiet_hours.jurisdictions{{}}.windows.{day}": (
            lambda c, n=n: c.outbound.quiet_hours.jurisdictions["US-FL"][n],
            NINE_TO_SEVEN,
        )
        for n, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    },
    "outbound.quiet_hours.jurisdictions{}.blackout_dates": (
        lambda c: c.outbound.quiet_hours.blackout_dates["US-FL"],
        frozenset({date(2026, 12, 24)}),
    ),
    "outbound.quiet_hours.jurisdictions{}.cap": (lambda c: c.outbound.quiet_hours.caps["US-FL"], 2),
    "outbound.quiet_hours.blackout_dates": (lambda c: c.outbound.quiet_hours.blackout_dates["*"], {date(2026, 12, 31)}),
    "outbound.quiet_hours.overrides[].jurisdiction": (
        lambda c: c.outbound.quiet_hours.overrides[0].jurisdiction,
        "US-RI",
    ),
    "outbound.quiet_hours.overrides[].rule": (lambda c: c.outbound.quiet_hours.overrides[0].rule, "sundays"),
    "outbound.quiet_hours.overrides[].reason": (
        lambda c: c.outbound.quiet_hours.overrides[0].reason,
        "counsel's advice",
    ),
    "outbound.max_concurrency": (lambda c: c.outbound.max_concurrency, 4),
    "outbound.templates{}.body": (lambda c: c.outbound.templates["offer"].body, "Hi {name}, 10% off this week."),
    "outbound.templates{}.message_type": (lambda c: c.outbound.templates["offer"].message_type, "PROMOTIONAL"),
    "conversations.ready_flows": (lambda c: c.conversations.specs["support"], READY_FLOWS["support"]),
    "conversations.flows": (
        lambda c: (sorted(c.conversations.flows), c.conversations.specs["survey"]),
        (["support", "survey"], SURVEY),
    ),
    "conversations.event_bus_name": (lambda c: c.conversations.event_bus_name, "orders"),
    "conversations.extensions.directory": (lambda c: c.conversations.extensions.directory, str(EXTENSIONS.resolve())),
    "conversations.extensions.module": (lambda c: c.conversations.extensions.module, "clinic_handlers"),
    "protect.allowed_countries": (lambda c: c.protect.allowed_countries, ("GB", "US")),
    "protect.deletion_protection": (lambda c: c.protect.deletion_protection, False),
    "protect.account_default": (lambda c: c.protect.account_default, True),
    "inbound.test_publisher_role_arn": (
        lambda c: c.inbound.test_publisher_role_arn,
        "arn:aws:iam::123456789012:role/tester",
    ),
    "inbound.reply_limits.per_window": (lambda c: c.inbound.reply_limits.per_window, 2),
    "inbound.reply_limits.window_minutes": (lambda c: c.inbound.reply_limits.window_seconds, 180),
    "inbound.reply_limits.per_day": (lambda c: c.inbound.reply_limits.per_day, 4),
    "inbound.reply_limits.same_text_minutes": (lambda c: c.inbound.reply_limits.same_text_seconds, 60),
}
# "$schema": for editors only; state_rules: kept for configs that set it, true only (the rules table always applies).
NOTHING_TO_THE_STACK = {"$schema", "outbound.quiet_hours.state_rules"}
# Keys whose default is another key's value: the value that key has in these configs.
DEFAULT_OF_ANOTHER_KEY = {"protect.deletion_protection": EVERY_SECTION["deletion_protection"]}


def model_of(annotation: Any) -> Any:
    """The type under Annotated[...] and ``... | None``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, types.UnionType):
            (annotation,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        else:
            return annotation


def keys_of(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every key of ``model``'s document, by dotted path (into sections, list entries and object values),
    with its default (PydanticUndefined when required)."""
    keys = {}
    for name, field in model.model_fields.items():
        path, annotation = prefix + (field.alias or name), model_of(field.annotation)
        marks = {list: "[]", dict: "{}"}
        if get_origin(annotation) in marks and isinstance(model_of(get_args(annotation)[-1]), type):
            item = model_of(get_args(annotation)[-1])
            if issubclass(item, BaseModel):
                keys |= keys_of(item, path + marks[get_origin(annotation)] + ".")
                continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= keys_of(annotation, path + ".")
        else:
            keys[path] = field.default
    return keys


def given(config: dict[str, Any], path: str) -> Any:
    """The value ``config`` sets at ``path`` (the first entry of a list, the first value of an object), or None."""
    value: Any = config
    for key in path.replace("[]", ".[]").replace("{}", ".{}").split("."):
        if not value:
            return None
        value = value[0] if key == "[]" else next(iter(value.values())) if key == "{}" else value.get(key)
    return value


def test_the_shipped_schema_is_the_one_the_model_produces():
    assert document.SCHEMA_FILE.read_text() == document.schema_text(), (
        "regenerate it: python -m two_way_sms_cdk.config.document "
        "> infra/two_way_sms_cdk/config/two-way-sms.schema.json"
    )


def test_the_list_of_where_each_key_lands_covers_every_key_of_the_document():
    assert set(LANDS) | NOTHING_TO_THE_STACK == set(keys_of(document.ConfigDocument))


@pytest.mark.parametrize("path", sorted(LANDS))
def test_every_key_of_every_section_lands_in_the_typed_config(path):
    read, expected = LANDS[path]
    config = NEW_NUMBER if given(NEW_NUMBER, path) is not None else EXISTING
    value = given(config, path)
    default = DEFAULT_OF_ANOTHER_KEY.get(path, keys_of(document.ConfigDocument)[path])
    assert value is not None and value != default, f"{path} must be set to a value that is not its default"
    assert read(parse_config(config)) == expected


def test_a_config_of_the_three_replies_is_the_typed_models_defaults():
    parsed = parse_config(REPLIES)
    defaults = TwoWaySmsConfig(origination=NewNumber(), responder=ResponderSettings(**REPLIES))
    assert parsed == defaults
    assert parsed.inbound.reply_limits == ReplyLimits()


def test_keywords_and_templates_become_the_domains_objects():
    parsed = parse_config(NEW_NUMBER)
    assert parsed.responder.keywords == (KeywordRule("HOURS", "Open Mon-Fri 8-18.", KeywordAction.OPT_IN),)
    assert dict(parsed.outbound.templates) == {
        "offer": parse_template("offer", "Hi {name}, 10% off this week.", "PROMOTIONAL")
    }
    assert parsed.conversations.extensions == ExtensionsConfig(str(EXTENSIONS.resolve()), "clinic_handlers")


@pytest.mark.parametrize("config", [DEFAULT_CONFIG, REPLIES], ids=["cdk.json", "minimal"])
def test_the_repositorys_configs_are_valid_against_the_schema_model(config):
    document.ConfigDocument.model_validate(config)


def test_the_schema_names_every_section_with_its_defaults():
    schema = document.json_schema()

    assert set(schema["properties"]) == {
        field.alias or name for name, field in document.ConfigDocument.model_fields.items()
    }
    assert set(schema["required"]) == {"help_reply", "stop_reply", "opt_in_reply"}
    outbound = schema["$defs"]["Outbound"]["properties"]
    assert outbound["max_price_usd"]["default"] == "0.10" and outbound["max_parts"]["default"] == 6
    assert outbound["max_parts"]["maximum"] == 10 and outbound["time_to_live_seconds"]["minimum"] == 5
    assert schema["$defs"]["Origination"]["maxProperties"] == 1


def test_every_key_of_the_schema_says_what_it_is_for():
    schema = document.json_schema()

    def description(spec: dict[str, Any]) -> str | None:
        refs = [spec, *spec.get("anyOf", [])]
        targets = [schema["$defs"][ref["$ref"].rsplit("/", 1)[-1]] for ref in refs if "$ref" in ref]
        return spec.get("description") or next((target.get("description") for target in targets), None)

    undescribed = [
        f"{name}.{key}"
        for name, section in [("config", schema), *schema["$defs"].items()]
        for key, spec in section.get("properties", {}).items()
        if not description(spec)
    ]
    assert not undescribed
