"""Config mistakes people make on a first run: each fails when the config is read, in one line
that names the value and says what to give instead (issue 14: a clean first run)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from two_way_sms_cdk.config import CONTEXT_KEY, ConfigError, parse_config
from two_way_sms_cdk.config.environment_limits import INBOUND_SETTINGS_BYTES, SENDER_SETTINGS_BYTES

VALID: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"][
    CONTEXT_KEY
]
PHONE_ID = "phone-0123456789abcdef0123456789abcdef"
POOL_ID = "pool-0123456789abcdef0123456789abcdef"


def changed(change) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    change(raw)
    return raw


def existing(origination_id: Any, origination_type: str = "phone-number"):
    return lambda raw: raw.update(
        origination={"existing": {"origination_type": origination_type, "origination_id": origination_id}}
    )


def template(body: str, message_type: str = "TRANSACTIONAL", name: str = "long"):
    return lambda raw: raw["outbound"]["templates"].update({name: {"body": body, "message_type": message_type}})


def failure(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    message = str(error.value)
    assert "\n" not in message  # one line
    return message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (existing(12065550100), "origination_id 12065550100 is a number, not an id: give the phone-number's id"),
        (existing("+12065550100"), "origination_id '+12065550100' is a phone number, not its id"),
        (
            existing(f"arn:aws:sms-voice:us-east-1:123456789012:phone-number/{PHONE_ID}"),
            f"is an ARN: give the id after its last '/' ('{PHONE_ID}')",
        ),
        (existing(POOL_ID), "is a pool id, but origination_type is 'phone-number'"),
        (existing(PHONE_ID, "pool"), "is a phone-number id, but origination_type is 'pool'"),
        (existing("phone_0123"), "is not a phone-number id (phone- and letters or digits)"),
    ],
    ids=["json-number", "e164", "arn", "pool-for-phone", "phone-for-pool", "short"],
)
def test_an_origination_id_given_as_a_number_or_an_arn_says_what_to_give(change, expected):
    assert expected in failure(changed(change))


def test_the_ids_of_an_existing_number_and_pool_are_accepted():
    assert parse_config(changed(existing(PHONE_ID))).origination.origination_id == PHONE_ID
    assert parse_config(changed(existing(POOL_ID, "pool"))).origination.origination_id == POOL_ID


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (template("x" * 1100), "outbound.templates.long takes 8 parts (GSM-7, 1,100 characters"),
        (template("Olá {name} 😀 " * 60), "outbound.templates.long takes"),
        # A promotional template gets "Reply STOP to opt out" appended: 910 + 22 characters is 7 parts.
        (template("y" * 910, "PROMOTIONAL"), "takes 7 parts"),
    ],
    ids=["gsm", "ucs2", "promotional-with-its-stop-line"],
)
def test_a_template_longer_than_max_parts_with_its_variables_empty_fails(change, expected):
    def on_a_toll_free_number(raw):  # promotional texts need a real number
        raw["origination"] = {"new_number": {"iso_country_code": "US", "number_type": "TOLL_FREE"}}
        change(raw)

    message = failure(changed(on_a_toll_free_number))
    assert expected in message
    assert "more than outbound.max_parts 6: every send would be refused" in message


def test_a_template_whose_variables_could_make_it_long_is_still_accepted():
    raw = changed(template("{a}{b}{c} " + "z" * 900))  # 6 parts at least, as many as max_parts allows
    assert "long" in parse_config(raw).outbound.templates


def test_a_flow_prompt_longer_than_max_parts_fails_naming_the_flow_and_step():
    survey = {
        "start": "ask",
        "timeout_seconds": 3600,
        "steps": {
            "ask": {
                "prompt": "Rate us, {first_name}. " + "y" * 1000,
                "answers": [{"match": "*", "reply": "Thanks", "close": True}],
            }
        },
    }
    message = failure(changed(lambda raw: raw["conversations"]["flows"].update(survey=survey)))
    assert message.startswith("conversations: flow survey: step ask: prompt takes 7 parts (GSM-7")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda raw: raw["outbound"].update(max_price_usd=0.1),
            'outbound.max_price_usd 0.1 must be a string of dollars, such as "0.10"',
        ),
        (
            lambda raw: raw["origination"]["new_number"].update(capabilities="SMS"),
            "origination.new_number.capabilities 'SMS' must be a list, such as [\"SMS\"]",
        ),
        (lambda raw: raw["outbound"].update(mps="3"), "outbound.mps '3' must be a positive number"),
        (lambda raw: raw["outbound"].update(max_parts="6"), "outbound.max_parts '6' must be an integer from 1 to 10"),
    ],
    ids=["max-price-as-number", "capabilities-as-string", "mps-as-string", "max-parts-as-string"],
)
def test_type_errors_are_worded_for_people(change, expected):
    assert expected in failure(changed(change))


def test_replies_too_big_for_the_inbound_environment_fail_naming_the_largest():
    keywords = [{"keyword": f"KW{i}", "reply": "z" * (150 + i)} for i in range(20)]
    message = failure(changed(lambda raw: raw.update(keywords=keywords)))
    assert f"more than the {INBOUND_SETTINGS_BYTES:,} that fit" in message
    assert message.endswith("shorten the largest: keyword KW19 (171 bytes), keyword KW18 (170), keyword KW17 (169)")


def test_templates_too_big_for_the_sender_environment_fail_naming_the_largest():
    templates = {f"t{i:02}": {"body": "Example Clinic: " + "w" * (100 + i)} for i in range(20)}
    message = failure(changed(lambda raw: raw["outbound"].update(templates=templates)))
    assert f"more than the {SENDER_SETTINGS_BYTES:,} that fit" in message
    assert "largest templates: t19 (" in message


def test_the_readme_states_the_environment_limits_the_code_checks():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"{INBOUND_SETTINGS_BYTES:,} bytes" in readme
    assert f"{SENDER_SETTINGS_BYTES:,} bytes" in readme
