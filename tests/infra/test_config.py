"""Configuration that must fail the synth, with a message naming the bad value; reply reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import CONTEXT_KEY, ConfigError, parse_config

# cdk.json read directly: no CDK import, so these tests need no synth.
VALID: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"][CONTEXT_KEY]


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
