"""Configuration that must fail the synth, with a message naming the bad value; reply reports."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from two_way_sms_cdk.config import CONTEXT_KEY, DEFAULT_MAX_PRICE_USD, ConfigError, parse_config

# cdk.json read directly: no CDK import, so these tests need no synth.
VALID: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"][
    CONTEXT_KEY
]


def config(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    raw.update(changes)
    return raw


def reports_by_name(raw: dict[str, Any]):
    return {report.name: report for report in parse_config(raw).reply_reports}


def test_the_cdk_json_configuration_is_valid():
    assert parse_config(config()).number_type == "SIMULATOR"


def test_unknown_number_type_is_rejected():
    raw = config(origination={"new_number": {"iso_country_code": "US", "number_type": "SHORT_CODE"}})
    with pytest.raises(ConfigError, match=r"number_type 'SHORT_CODE' must be one of"):
        parse_config(raw)


def test_help_as_an_optional_keyword_is_rejected():
    raw = config(keywords=[{"keyword": "help", "reply": "Call +1 206 555 0100.", "action": "AUTOMATIC_RESPONSE"}])
    with pytest.raises(ConfigError, match=r"keywords\[0\]\.keyword 'HELP' is a mandatory keyword"):
        parse_config(raw)


def test_keyword_longer_than_30_characters_is_rejected():
    word = "K" * 31
    raw = config(keywords=[{"keyword": word, "reply": "Open Mon-Fri.", "action": "AUTOMATIC_RESPONSE"}])
    with pytest.raises(ConfigError, match=rf"keyword '{word}' must be 1-30 characters"):
        parse_config(raw)


def test_reply_longer_than_1600_characters_is_rejected():
    raw = config(default_reply="x" * 1601)
    with pytest.raises(ConfigError, match=r"default_reply has 1601 characters, more than 1600"):
        parse_config(raw)


def test_help_reply_without_contact_information_is_rejected():
    text = "Example Clinic: Msg&data rates may apply. Reply STOP to cancel."
    with pytest.raises(ConfigError, match="help_reply .*must carry contact information") as raised:
        parse_config(config(help_reply=text))
    assert repr(text) in str(raised.value)


def test_stop_reply_that_does_not_say_messages_stop_is_rejected():
    text = "Example Clinic: thanks for letting us know."
    with pytest.raises(ConfigError, match="stop_reply .*must confirm that messages will stop") as raised:
        parse_config(config(stop_reply=text))
    assert repr(text) in str(raised.value)


def test_simulator_number_with_promotional_messages_is_rejected():
    with pytest.raises(ConfigError, match=r"message_type 'PROMOTIONAL': a SIMULATOR number sends TRANSACTIONAL"):
        parse_config(config(message_type="PROMOTIONAL"))


def test_unknown_setting_is_rejected():
    with pytest.raises(ConfigError, match=r"config has unknown settings \['stop_replay'\]"):
        parse_config(config(stop_replay="typo"))


def test_a_misspelt_key_is_named_before_the_key_it_leaves_missing():
    raw = config(stop_replay="typo")
    raw.pop("stop_reply")
    with pytest.raises(ConfigError, match=r"^config has unknown settings \['stop_replay'\]: allowed are \['\$schema'"):
        parse_config(raw)


def test_reading_a_config_imports_no_cdk():
    """The operator's command and the sandbox read configs without the seconds aws_cdk takes to import."""
    code = "import sys, two_way_sms_cdk.config; assert 'aws_cdk' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reply_with_a_smart_quote_is_reported_as_ucs2_because_of_a_lookalike():
    reports = reports_by_name(config(default_reply="Example Clinic: we’ll answer soon. Reply STOP to opt out."))
    warning = reports["default_reply"].warning
    assert warning is not None
    assert "UCS-2 only because of" in warning and "'’'" in warning


def test_200_character_gsm_reply_is_reported_as_multipart():
    text = ("Example Clinic: " + "a" * 200)[:200]
    report = reports_by_name(config(default_reply=text))["default_reply"]
    assert report.report.encoding == "GSM-7"
    assert report.warning == "default_reply is sent as 2 parts (billed per part)"


def test_short_gsm_reply_has_no_warning():
    assert reports_by_name(config())["stop_reply"].warning is None


# -- delivery events ---------------------------------------------------------------------------
def without_delivery_events() -> dict[str, Any]:
    raw = config()
    raw.pop("delivery_events", None)
    return raw


def test_delivery_events_default_to_one_provisioned_shard_and_400_days_of_ledger():
    settings = parse_config(without_delivery_events()).delivery_events
    assert (settings.stream_mode, settings.shard_count, settings.ledger_retention_days) == ("PROVISIONED", 1, 400)


def test_cdk_json_delivery_events_are_the_defaults():
    assert parse_config(config()).delivery_events == parse_config(without_delivery_events()).delivery_events


def test_on_demand_stream_has_no_shard_count():
    settings = parse_config(config(delivery_events={"stream_mode": "ON_DEMAND"})).delivery_events
    assert (settings.stream_mode, settings.shard_count) == ("ON_DEMAND", None)


def test_provisioned_stream_takes_the_configured_shard_count():
    assert parse_config(config(delivery_events={"shard_count": 4})).delivery_events.shard_count == 4


def test_shard_count_with_an_on_demand_stream_is_rejected():
    raw = config(delivery_events={"stream_mode": "ON_DEMAND", "shard_count": 2})
    with pytest.raises(ConfigError, match=r"delivery_events\.shard_count 2 is only for a PROVISIONED stream"):
        parse_config(raw)


@pytest.mark.parametrize("shard_count", [0, 501, "2", True, 1.5])
def test_shard_count_outside_1_to_500_or_not_a_whole_number_is_rejected(shard_count):
    with pytest.raises(
        ConfigError,
        match=rf"delivery_events\.shard_count {re.escape(repr(shard_count))} must be an integer from 1 to 500",
    ):
        parse_config(config(delivery_events={"shard_count": shard_count}))


@pytest.mark.parametrize("days", [0, 3651, "400", 1.5, False])
def test_ledger_retention_outside_1_to_3650_days_is_rejected(days):
    with pytest.raises(
        ConfigError,
        match=rf"delivery_events\.ledger_retention_days {re.escape(repr(days))} must be an integer from 1 to 3,650",
    ):
        parse_config(config(delivery_events={"ledger_retention_days": days}))


def test_unknown_stream_mode_is_rejected():
    with pytest.raises(ConfigError, match=r"delivery_events\.stream_mode 'FAST' must be one of PROVISIONED, ON_DEMAND"):
        parse_config(config(delivery_events={"stream_mode": "FAST"}))


def test_unknown_delivery_events_setting_is_rejected():
    with pytest.raises(ConfigError, match=r"delivery_events has unknown settings \['shards'\]"):
        parse_config(config(delivery_events={"shards": 2}))


def test_delivery_events_that_are_not_an_object_are_rejected():
    with pytest.raises(ConfigError, match=r"delivery_events \['PROVISIONED'\] must be an object"):
        parse_config(config(delivery_events=["PROVISIONED"]))


# -- archive and monitoring ------------------------------------------------------------------------
def test_archive_and_monitoring_default_to_cheaper_storage_after_30_and_90_days_and_a_100_dollar_budget():
    parsed = parse_config(config())
    assert (
        parsed.archive.infrequent_access_after_days,
        parsed.archive.glacier_instant_retrieval_after_days,
        parsed.archive.expire_after_days,
    ) == (30, 90, None)
    assert parsed.monitoring.monthly_budget_usd == 100.0 and parsed.monitoring.alarm_topic_arn is None
    assert parsed.monitoring.delivery_failure_rate_percent == 10.0 and parsed.monitoring.alarm_emails == ()


def test_monitoring_takes_a_topic_arn_emails_and_no_budget():
    parsed = parse_config(
        config(
            monitoring={
                "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops-alerts",
                "alarm_emails": ["ops@example.com"],
                "monthly_budget_usd": None,
                "delivery_failure_rate_percent": 2.5,
            }
        )
    )
    assert parsed.monitoring.alarm_topic_arn.endswith(":ops-alerts")
    assert parsed.monitoring.alarm_emails == ("ops@example.com",) and parsed.monitoring.monthly_budget_usd is None


def test_reply_limits_default_to_five_in_ten_minutes_twenty_a_day_and_no_same_text_within_five():
    limits = parse_config(config()).inbound.reply_limits
    assert (limits.per_window, limits.window_seconds, limits.per_day, limits.same_text_seconds) == (5, 600, 20, 300)
    tighter = parse_config(config(inbound={"reply_limits": {"per_window": 2, "per_day": 4}})).inbound.reply_limits
    assert (tighter.per_window, tighter.per_day) == (2, 4)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"per_window": 0}, "inbound.reply_limits.per_window 0"),
        ({"per_day": 3, "per_window": 5}, "per_window 5 must not exceed per_day 3"),
        ({"window_minutes": 2000}, "inbound.reply_limits.window_minutes 2000"),
        ({"same_text_minutes": 1.5}, "inbound.reply_limits.same_text_minutes 1.5"),
        ({"per_hour": 3}, "inbound.reply_limits has unknown settings ['per_hour']"),
    ],
)
def test_bad_reply_limits_fail_naming_the_value(bad, message):
    with pytest.raises(ConfigError) as error:
        parse_config(config(inbound={"reply_limits": bad}))
    assert message in str(error.value)


def test_the_budget_is_an_alarm_and_a_hold_by_default_and_a_hard_stop_on_purpose():
    assert parse_config(config()).monitoring.hard_stop is False
    assert parse_config(config(monitoring={"monthly_budget_usd": 50, "hard_stop": True})).monitoring.hard_stop is True


@pytest.mark.parametrize(
    "section, bad, message",
    [
        ("archive", {"infrequent_access_after_days": 7}, "archive.infrequent_access_after_days 7"),
        ("archive", {"glacier_instant_retrieval_after_days": 30}, "archive.glacier_instant_retrieval_after_days 30"),
        ("archive", {"expire_after_days": 60}, "archive.expire_after_days 60"),
        ("archive", {"retain": True}, "archive has unknown settings ['retain']"),
        ("monitoring", {"alarm_topic_arn": "ops-alerts"}, "monitoring.alarm_topic_arn 'ops-alerts'"),
        ("monitoring", {"alarm_emails": ["not-an-address"]}, "monitoring.alarm_emails entry 'not-an-address'"),
        ("monitoring", {"monthly_budget_usd": 0}, "monitoring.monthly_budget_usd 0"),
        ("monitoring", {"delivery_failure_rate_percent": 150}, "monitoring.delivery_failure_rate_percent 150"),
        ("monitoring", {"monthly_budget_usd": float("inf")}, "monitoring.monthly_budget_usd inf"),
        ("monitoring", {"hard_stop": "yes"}, "monitoring.hard_stop"),
        (
            "monitoring",
            {"monthly_budget_usd": None, "hard_stop": True},
            "monitoring.hard_stop true needs a monthly_budget",
        ),
    ],
)
def test_bad_archive_and_monitoring_settings_fail_naming_the_value(section, bad, message):
    with pytest.raises(ConfigError) as error:
        parse_config(config(**{section: bad}))
    assert message in str(error.value)


# -- outbound (the validation of each value: test_outbound.py) ---------------------------------------
def test_cdk_json_outbound_config_has_a_transactional_reminder_the_simulator_can_send():
    parsed = parse_config(config()).outbound
    templates = parsed.templates
    assert {name: template.message_type for name, template in templates.items()} == {
        "appointment_reminder": "TRANSACTIONAL"
    }
    assert (parsed.time_to_live_seconds, parsed.max_parts, parsed.promotional_daily_limit, parsed.max_concurrency) == (
        259200,
        6,
        2,
        2,
    )


def test_outbound_defaults_without_the_section():
    raw = config()
    raw.pop("outbound", None)
    parsed = parse_config(raw).outbound
    assert (parsed.mps, parsed.max_price_usd, parsed.replace_lookalikes, dict(parsed.templates)) == (
        1.0,
        DEFAULT_MAX_PRICE_USD,
        True,
        {},
    )
    assert (parsed.quiet_hours.start, parsed.quiet_hours.end, parsed.quiet_hours.state_rules) == (
        time(8),
        time(21),
        True,
    )


# -- conversations -------------------------------------------------------------------------------------
def conversations(**section: Any) -> dict[str, Any]:
    return config(conversations={"ready_flows": [], "flows": {}, "event_bus_name": None, **section})


def a_flow(**changes: Any) -> dict[str, Any]:
    """A small valid custom flow."""
    return {
        "start": "ask",
        "timeout_seconds": 3600,
        "steps": {
            "ask": {
                "prompt": "Rate your visit 1-5.",
                "answers": [{"match": "1|2|3|4|5", "emit": "reply.received", "close": True}],
            }
        },
        **changes,
    }


def test_cdk_json_switches_on_the_clinics_ready_flows_and_lets_the_stack_create_the_bus():
    """Not the bank's transaction flow: its one-use codes need an HMAC key ($1 a month) a clinic has no use for."""
    parsed = parse_config(config()).conversations
    assert sorted(parsed.flows) == ["appointment", "support"]
    assert parsed.event_bus_name is None
    assert not parsed.needs_a_code


def test_conversations_default_to_no_flow_and_a_new_bus_without_the_section():
    raw = config()
    raw.pop("conversations")
    parsed = parse_config(raw).conversations
    assert (dict(parsed.flows), dict(parsed.specs), parsed.event_bus_name, parsed.needs_a_code) == ({}, {}, None, False)


def test_ready_flows_are_switched_on_by_name_with_their_ready_specs():
    from two_way_sms.conversations.ready_flows import READY_FLOWS

    parsed = parse_config(conversations(ready_flows=["appointment", "support"])).conversations
    assert sorted(parsed.flows) == ["appointment", "support"]
    assert dict(parsed.specs) == {"appointment": READY_FLOWS["appointment"], "support": READY_FLOWS["support"]}
    assert not parsed.needs_a_code


def test_a_custom_flow_named_like_a_ready_one_replaces_it():
    from two_way_sms.conversations.ready_flows import READY_FLOWS

    edited = copy.deepcopy(READY_FLOWS["appointment"])
    edited["timeout_seconds"] = 86400
    parsed = parse_config(
        conversations(ready_flows=["appointment", "support"], flows={"appointment": edited, "survey": a_flow()})
    ).conversations
    assert sorted(parsed.flows) == ["appointment", "support", "survey"]
    assert parsed.flows["appointment"].timeout_seconds == 86400
    assert parsed.specs["appointment"] == edited
    assert READY_FLOWS["appointment"]["timeout_seconds"] == 2 * 86400  # the ready flow itself is untouched


def test_a_custom_flow_replaces_a_ready_one_even_when_it_is_not_switched_on_by_name():
    parsed = parse_config(conversations(flows={"transaction": a_flow()})).conversations
    assert list(parsed.flows) == ["transaction"] and not parsed.needs_a_code


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"ready_flows": ["appointment", "reminder"]},
            "conversations.ready_flows entry 'reminder' is not a ready flow: the ready flows are appointment, support, "
            "transaction",
        ),
        ({"ready_flows": "appointment"}, "conversations.ready_flows 'appointment' must be a list"),
        ({"ready_flows": ["support", "support"]}, "conversations.ready_flows repeat ['support']"),
        ({"flows": ["survey"]}, "conversations.flows ['survey'] must be an object"),
        (
            {"flows": {"survey": a_flow(start="begin")}},
            "conversations: flow survey: start 'begin' is not one of its steps (ask)",
        ),
        ({"flows": {"Survey": a_flow()}}, "conversations: flow name 'Survey' must be 1-40 characters"),
        ({"flows": {"survey": a_flow(timeout_seconds=10)}}, "conversations: flow survey: timeout_seconds 10"),
        (
            {"flows": {"survey": a_flow(start_words=["HOURS"])}},
            "conversations: flow survey: start word HOURS is also a keyword",
        ),
        (
            {"ready_flows": ["support"], "flows": {"survey": a_flow(start_words=["AGENT"])}},
            "conversations: flow survey: start word AGENT also starts flow support",
        ),
        (
            {"event_bus_name": "arn:aws:events:us-east-1:123456789012:event-bus/orders"},
            "conversations.event_bus_name 'arn:aws:events:us-east-1:123456789012:event-bus/orders' must be the name",
        ),
        ({"event_bus_name": "orders bus"}, "conversations.event_bus_name 'orders bus' must be the name"),
        ({"event_bus_name": "x" * 257}, "conversations.event_bus_name 'xxxx"),
        ({"event_bus_name": 7}, "conversations.event_bus_name 7 must be the name"),
        ({"event_bus": "orders"}, "conversations has unknown settings ['event_bus']"),
    ],
)
def test_bad_conversations_settings_fail_naming_the_value(section, message):
    with pytest.raises(ConfigError) as error:
        parse_config(conversations(**section))
    assert message in str(error.value)


def test_conversations_must_be_an_object():
    with pytest.raises(ConfigError, match=r"conversations \['appointment'\] must be an object"):
        parse_config(config(conversations=["appointment"]))


@pytest.mark.parametrize("name", ["default", "orders", "aws.partner/example.com/123/orders", "team-a_bus.1"])
def test_an_existing_bus_is_named_by_its_name_and_the_default_bus_is_allowed(name):
    assert parse_config(conversations(event_bus_name=name)).conversations.event_bus_name == name


# -- conversations.extensions ----------------------------------------------------------------------
EXTENSIONS = Path(__file__).parent / "fixtures" / "extensions"


def with_extensions(extensions: Any) -> dict[str, Any]:
    return config(conversations={"ready_flows": [], "flows": {}, "extensions": extensions})


def test_extensions_name_a_layer_directory_and_the_module_to_import():
    parsed = parse_config(with_extensions({"directory": str(EXTENSIONS), "module": "clinic_handlers"}))

    assert parsed.conversations.extensions.module == "clinic_handlers"
    assert parsed.conversations.extensions.directory == str(EXTENSIONS.resolve())


@pytest.mark.parametrize(
    "extensions, fragment",
    [
        (
            {"directory": str(EXTENSIONS), "module": "clinic-handlers"},
            "module 'clinic-handlers' must be a Python module",
        ),
        ({"directory": str(EXTENSIONS), "module": "other_handlers"}, "has no python/other_handlers package"),
        ({"directory": "", "module": "clinic_handlers"}, "directory '' must be a directory path"),
        ({"directory": str(EXTENSIONS), "module": "clinic_handlers", "layer": "x"}, "unknown"),
        ("clinic_handlers", "must be an object with directory and module"),
    ],
)
def test_bad_extensions_fail_naming_the_value(extensions, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        parse_config(with_extensions(extensions))


# -- protect (issue 12) --------------------------------------------------------------------------------
EXISTING_NUMBER = {
    "existing": {"origination_type": "phone-number", "origination_id": "phone-0123456789abcdef0123456789abcdef"}
}


def protect(**section: Any) -> dict[str, Any]:
    return config(protect=section)


def test_protection_allows_the_new_numbers_country_by_default():
    parsed = parse_config(protect())
    assert parsed.protect.allowed_countries == ("US",)
    assert (parsed.protect.deletion_protection, parsed.protect.account_default) == (False, False)
    assert parsed.protect.defaulted
    raw = protect()
    raw["origination"] = {"new_number": {"iso_country_code": "GB", "number_type": "LONG_CODE"}}
    assert parse_config(raw).protect.allowed_countries == ("GB",)


def test_the_cdk_json_leaves_the_countries_to_the_default():
    assert parse_config(config()).protect.allowed_countries == ("US",)
    assert parse_config(config()).warnings == ()


def test_an_existing_identity_defaults_to_the_us_with_a_warning_naming_the_key():
    parsed = parse_config(config(origination=EXISTING_NUMBER, protect={}))
    assert parsed.protect.allowed_countries == ("US",)
    (warning,) = parsed.warnings
    assert warning.id == "two-way-sms:protect-countries-defaulted"
    assert "protect.allowed_countries" in warning.message


def test_configured_countries_are_kept_in_upper_case_with_no_warning():
    parsed = parse_config(config(origination=EXISTING_NUMBER, protect={"allowed_countries": ["us", "ca", "MX"]}))
    assert parsed.protect.allowed_countries == ("US", "CA", "MX")
    assert parsed.warnings == ()


def test_deletion_protection_of_the_protect_configuration_follows_the_stacks_unless_set():
    assert parse_config(config(deletion_protection=True, protect={})).protect.deletion_protection is True
    assert (
        parse_config(
            config(deletion_protection=True, protect={"deletion_protection": False})
        ).protect.deletion_protection
        is False
    )


def test_account_default_is_opt_in():
    assert parse_config(protect(account_default=True)).protect.account_default is True


@pytest.mark.parametrize(
    "section, fragment",
    [
        ({"allowed_countries": []}, "protect.allowed_countries [] must name at least one country"),
        ({"allowed_countries": ["US", "UK"]}, "protect.allowed_countries entry 'UK' is not an ISO 3166-1 alpha-2"),
        ({"allowed_countries": ["US", "XK"]}, "protect.allowed_countries entry 'XK' is not an ISO 3166-1 alpha-2"),
        ({"allowed_countries": ["US", 1]}, "protect.allowed_countries entry 1 is not"),
        ({"allowed_countries": "US"}, "protect.allowed_countries 'US' must be a list"),
        ({"allowed_countries": ["US", "us"]}, "protect.allowed_countries repeat ['US']"),
        ({"allowed_countries": ["CA"]}, "protect.allowed_countries ['CA'] leaves out 'US', the country of the stack's"),
        ({"account_default": "yes"}, "protect.account_default 'yes' must be true or false"),
        ({"deletion_protection": 1}, "protect.deletion_protection 1 must be true or false"),
        ({"countries": ["US"]}, "protect has unknown settings ['countries']"),
    ],
)
def test_bad_protection_fails_naming_the_value(section, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        parse_config(protect(**section))


def test_protection_that_is_not_an_object_is_rejected():
    with pytest.raises(ConfigError, match=re.escape("protect ['US'] must be an object")):
        parse_config(config(protect=["US"]))


# -- inbound (issue 12) ----------------------------------------------------------------------------------
def test_no_test_publisher_by_default():
    assert parse_config(config(inbound={})).inbound.test_publisher_role_arn is None
    raw = config()
    raw.pop("inbound", None)
    assert parse_config(raw).inbound.test_publisher_role_arn is None


def test_a_test_publisher_role_is_kept():
    arn = "arn:aws:iam::123456789012:role/path/two-way-sms-tester"
    assert parse_config(config(inbound={"test_publisher_role_arn": arn})).inbound.test_publisher_role_arn == arn


@pytest.mark.parametrize(
    "inbound, fragment",
    [
        (
            {"test_publisher_role_arn": "arn:aws:iam::123456789012:user/alice"},
            "'arn:aws:iam::123456789012:user/alice' is not an IAM role ARN",
        ),
        ({"test_publisher_role_arn": "tester"}, "inbound.test_publisher_role_arn 'tester' is not an IAM role ARN"),
        ({"publisher": "x"}, "inbound has unknown settings ['publisher']"),
        ("tester", "inbound 'tester' must be an object"),
    ],
)
def test_bad_inbound_settings_fail_naming_the_value(inbound, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        parse_config(config(inbound=inbound))


# -- the price ceiling (issue 12) ----------------------------------------------------------------------------
def test_every_text_gets_a_price_ceiling_by_default():
    raw = config()
    raw["outbound"] = {key: value for key, value in raw["outbound"].items() if key != "max_price_usd"}
    assert parse_config(raw).outbound.max_price_usd == DEFAULT_MAX_PRICE_USD == "0.10"
    assert parse_config(config()).outbound.max_price_usd == "0.10"  # cdk.json says it too


def test_no_price_ceiling_only_when_set_to_null_on_purpose():
    raw = config()
    raw["outbound"] = {**raw["outbound"], "max_price_usd": None}
    assert parse_config(raw).outbound.max_price_usd is None


def test_a_number_outside_the_us_with_the_us_derived_ceiling_gets_a_warning():
    raw = config(origination={"new_number": {"iso_country_code": "GB", "number_type": "LONG_CODE"}})
    raw["outbound"] = {key: value for key, value in raw["outbound"].items() if key != "max_price_usd"}
    (warning,) = parse_config(raw).warnings
    assert warning.id == "two-way-sms:max-price-defaulted"
    assert "outbound.max_price_usd" in warning.message and "GB" in warning.message
    raw["outbound"]["max_price_usd"] = "0.08"
    assert parse_config(raw).warnings == ()
