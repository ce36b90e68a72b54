"""The number-settings custom resource against a stubbed sms-voice API and a moto SSM.

moto does not implement pinpoint-sms-voice-v2, so its client is wrapped in a botocore
Stubber: every call must be expected, with exactly these parameters, in this order.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

REGION = "us-east-1"
ACCOUNT = "123456789012"
PHONE_ID = "phone-1234567890abcdef"
PHONE_ARN = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/{PHONE_ID}"
POOL_ID = "pool-0123456789abcdef"
POOL_ARN = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:pool/{POOL_ID}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:two-way-inbound"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/two-way-channel"
OLD_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:legacy-inbound"
PARAMETER = f"/two-way-sms/MyStack/previous-settings/{PHONE_ID}"

KEYWORDS = [
    {"Keyword": "HELP", "Message": "Acme alerts. Reply STOP to opt out.", "Action": "AUTOMATIC_RESPONSE"},
    {"Keyword": "STOP", "Message": "You are opted out of Acme alerts.", "Action": "OPT_OUT"},
    {"Keyword": "JOIN", "Message": "Welcome back to Acme alerts.", "Action": "OPT_IN"},
    {"Keyword": "HOURS", "Message": "We are open 9-5.", "Action": "AUTOMATIC_RESPONSE"},
]
# What the number had before: defaults, plus a HOURS keyword someone set by hand.
PREVIOUS_KEYWORDS = [
    {"Keyword": "HELP", "KeywordMessage": "Default help.", "KeywordAction": "AUTOMATIC_RESPONSE"},
    {"Keyword": "STOP", "KeywordMessage": "Default stop.", "KeywordAction": "OPT_OUT"},
    {"Keyword": "HOURS", "KeywordMessage": "Open weekdays.", "KeywordAction": "AUTOMATIC_RESPONSE"},
]


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        app = importlib.import_module("two_way_sms_cdk.custom_resources.number_settings.app")
        sms = boto3.client("pinpoint-sms-voice-v2", region_name=REGION)
        monkeypatch.setattr(app, "sms", sms)
        monkeypatch.setattr(app, "ssm", boto3.client("ssm", region_name=REGION))
        with Stubber(sms) as stubber:
            yield app, stubber, app.ssm
            stubber.assert_no_pending_responses()


# --- Events and stubs -------------------------------------------------------------------


def props(**overrides):
    values = {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:provider",
        "OriginationType": "phone-number",
        "OriginationId": PHONE_ID,
        "TwoWayChannelArn": TOPIC_ARN,
        "TwoWayChannelRole": ROLE_ARN,
        "SelfManagedOptOutsEnabled": "true",
        "OptOutListName": "acme-opt-outs",
        "Keywords": KEYWORDS,
        "SnapshotParameterName": PARAMETER,
    }
    values.update(overrides)
    return values


def event(request_type, properties, old=None, physical_id=None):
    body = {"RequestType": request_type, "ResourceProperties": properties}
    if old is not None:
        body["OldResourceProperties"] = old
    if physical_id is not None:
        body["PhysicalResourceId"] = physical_id
    return body


def phone_number(**overrides):
    values = {
        "PhoneNumberArn": PHONE_ARN,
        "PhoneNumberId": PHONE_ID,
        "PhoneNumber": "+12065550100",
        "Status": "ACTIVE",
        "IsoCountryCode": "US",
        "MessageType": "TRANSACTIONAL",
        "NumberCapabilities": ["SMS"],
        "NumberType": "TOLL_FREE",
        "MonthlyLeasingPrice": "2.00",
        "TwoWayEnabled": True,
        "TwoWayChannelArn": OLD_TOPIC_ARN,
        "SelfManagedOptOutsEnabled": False,
        "OptOutListName": "Default",
        "DeletionProtectionEnabled": False,
        "CreatedTimestamp": datetime(2024, 1, 1, tzinfo=timezone.utc),
    }
    values.update(overrides)
    return values


def pool(**overrides):
    values = {
        "PoolArn": POOL_ARN,
        "PoolId": POOL_ID,
        "Status": "ACTIVE",
        "MessageType": "TRANSACTIONAL",
        "TwoWayEnabled": False,
        "SelfManagedOptOutsEnabled": False,
        "OptOutListName": "Default",
        "SharedRoutesEnabled": False,
        "DeletionProtectionEnabled": False,
        "CreatedTimestamp": datetime(2024, 1, 1, tzinfo=timezone.utc),
    }
    values.update(overrides)
    return values


def expect_describe_phone_number(stubber, number=None, origination_id=PHONE_ID):
    stubber.add_response(
        "describe_phone_numbers",
        {"PhoneNumbers": [number or phone_number()]},
        {"PhoneNumberIds": [origination_id]},
    )


def expect_keyword_pages(stubber, origination_id, *pages):
    for index, keywords in enumerate(pages):
        response = {"Keywords": keywords}
        params = {"OriginationIdentity": origination_id}
        if index + 1 < len(pages):
            response["NextToken"] = f"page-{index + 1}"
        if index:
            params["NextToken"] = f"page-{index}"
        stubber.add_response("describe_keywords", response, params)


def expect_put_keyword(stubber, origination_id, keyword, message, action):
    stubber.add_response(
        "put_keyword",
        {"Keyword": keyword, "KeywordMessage": message, "KeywordAction": action},
        {"OriginationIdentity": origination_id, "Keyword": keyword, "KeywordMessage": message, "KeywordAction": action},
    )


def expect_put_keywords(stubber, origination_id, keywords):
    for k in keywords:
        expect_put_keyword(stubber, origination_id, k["Keyword"], k["Message"], k["Action"])


def expect_delete_keyword(stubber, origination_id, keyword):
    stubber.add_response(
        "delete_keyword",
        {"Keyword": keyword},
        {"OriginationIdentity": origination_id, "Keyword": keyword},
    )


def expect_apply_to_phone_number(stubber, origination_id=PHONE_ID):
    stubber.add_response(
        "update_phone_number",
        {},
        {
            "PhoneNumberId": origination_id,
            "TwoWayEnabled": True,
            "TwoWayChannelArn": TOPIC_ARN,
            "TwoWayChannelRole": ROLE_ARN,
            "SelfManagedOptOutsEnabled": True,
            "OptOutListName": "acme-opt-outs",
        },
    )


def create_on_phone_number(app, stubber, properties=None, number=None):
    """Runs a successful create, leaving the snapshot of ``PREVIOUS_KEYWORDS`` behind."""
    properties = properties or props()
    expect_describe_phone_number(stubber, number)
    expect_keyword_pages(stubber, PHONE_ID, PREVIOUS_KEYWORDS)
    expect_apply_to_phone_number(stubber)
    expect_put_keywords(stubber, PHONE_ID, properties["Keywords"])
    return app.handler(event("Create", properties))


def snapshot(ssm, name=PARAMETER):
    return json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])


def parameter_exists(ssm, name=PARAMETER):
    return bool(ssm.get_parameters(Names=[name])["Parameters"])


# --- Create -----------------------------------------------------------------------------


def test_create_on_a_phone_number_saves_the_snapshot_then_applies_settings_and_keywords(aws):
    app, stubber, ssm = aws
    expect_describe_phone_number(stubber)
    # Keywords come in two pages: the snapshot must hold both.
    expect_keyword_pages(stubber, PHONE_ID, PREVIOUS_KEYWORDS[:2], PREVIOUS_KEYWORDS[2:])
    expect_apply_to_phone_number(stubber)
    expect_put_keywords(stubber, PHONE_ID, KEYWORDS)

    result = app.handler(event("Create", props()))

    assert result == {
        "PhysicalResourceId": f"phone-number/{PHONE_ID}",
        "Data": {"OriginationArn": PHONE_ARN, "PhoneNumber": "+12065550100"},
    }
    saved = snapshot(ssm)
    assert saved["OriginationId"] == PHONE_ID
    assert saved["TwoWayEnabled"] is True
    assert saved["TwoWayChannelArn"] == OLD_TOPIC_ARN
    assert saved["SelfManagedOptOutsEnabled"] is False
    assert saved["OptOutListName"] == "Default"
    assert {word: (k["Message"], k["Action"]) for word, k in saved["Keywords"].items()} == {
        "HELP": ("Default help.", "AUTOMATIC_RESPONSE"),
        "STOP": ("Default stop.", "OPT_OUT"),
        "HOURS": ("Open weekdays.", "AUTOMATIC_RESPONSE"),
    }
    parameter = ssm.describe_parameters()["Parameters"][0]
    assert parameter["Type"] == "String"


def test_create_on_a_pool_updates_the_pool_and_leaves_optional_settings_alone(aws):
    app, stubber, ssm = aws
    name = f"/two-way-sms/MyStack/previous-settings/{POOL_ID}"
    stubber.add_response("describe_pools", {"Pools": [pool()]}, {"PoolIds": [POOL_ID]})
    expect_keyword_pages(stubber, POOL_ID, [])
    # No role and no opt-out list given: neither is sent.
    stubber.add_response(
        "update_pool",
        {},
        {"PoolId": POOL_ID, "TwoWayEnabled": True, "TwoWayChannelArn": TOPIC_ARN, "SelfManagedOptOutsEnabled": False},
    )
    expect_put_keywords(stubber, POOL_ID, KEYWORDS[:2])

    result = app.handler(
        event(
            "Create",
            props(
                OriginationType="pool",
                OriginationId=POOL_ID,
                TwoWayChannelRole="",
                SelfManagedOptOutsEnabled="false",
                OptOutListName="",
                Keywords=KEYWORDS[:2],
                SnapshotParameterName=name,
            ),
        )
    )

    assert result == {
        "PhysicalResourceId": f"pool/{POOL_ID}",
        "Data": {"OriginationArn": POOL_ARN, "PhoneNumber": ""},
    }
    assert snapshot(ssm, name)["TwoWayEnabled"] is False


def test_retried_create_keeps_the_first_snapshot(aws):
    app, stubber, ssm = aws
    create_on_phone_number(app, stubber)
    first = snapshot(ssm)

    # The retry sees the number as the first attempt left it.
    expect_describe_phone_number(
        stubber,
        phone_number(TwoWayChannelArn=TOPIC_ARN, SelfManagedOptOutsEnabled=True, OptOutListName="acme-opt-outs"),
    )
    expect_keyword_pages(
        stubber,
        PHONE_ID,
        [{"Keyword": k["Keyword"], "KeywordMessage": k["Message"], "KeywordAction": k["Action"]} for k in KEYWORDS],
    )
    expect_apply_to_phone_number(stubber)
    expect_put_keywords(stubber, PHONE_ID, KEYWORDS)

    result = app.handler(event("Create", props()))

    assert result["PhysicalResourceId"] == f"phone-number/{PHONE_ID}"
    assert snapshot(ssm) == first
    assert first["TwoWayChannelArn"] == OLD_TOPIC_ARN


def test_create_refuses_a_snapshot_parameter_holding_another_origination(aws):
    app, stubber, ssm = aws
    create_on_phone_number(app, stubber)
    other = "phone-ffffffffffffffff"
    expect_describe_phone_number(stubber, phone_number(PhoneNumberId=other), origination_id=other)
    expect_keyword_pages(stubber, other, [])

    with pytest.raises(ValueError, match=f"{PARAMETER}.*{PHONE_ID}"):
        app.handler(event("Create", props(OriginationId=other)))

    assert snapshot(ssm)["OriginationId"] == PHONE_ID


# --- Validation -------------------------------------------------------------------------


def test_unknown_origination_type_fails_naming_the_value(aws):
    app, _, _ = aws
    with pytest.raises(ValueError, match="OriginationType 'sender-id'"):
        app.handler(event("Create", props(OriginationType="sender-id")))


def test_missing_origination_id_fails_naming_the_property(aws):
    app, _, _ = aws
    with pytest.raises(ValueError, match="OriginationId is required"):
        app.handler(event("Create", props(OriginationId="")))


def test_bad_keyword_action_fails_naming_the_keyword_and_action(aws):
    app, _, _ = aws
    keywords = [{"Keyword": "JOIN", "Message": "Hi", "Action": "SUBSCRIBE"}]
    with pytest.raises(ValueError, match="'JOIN': Action 'SUBSCRIBE'"):
        app.handler(event("Create", props(Keywords=keywords)))


# --- Update -----------------------------------------------------------------------------


def test_update_that_removes_a_keyword_missing_from_the_snapshot_deletes_it(aws):
    app, stubber, _ = aws
    create_on_phone_number(app, stubber)
    without_join = [k for k in KEYWORDS if k["Keyword"] != "JOIN"]
    expect_describe_phone_number(stubber)
    expect_apply_to_phone_number(stubber)
    expect_put_keywords(stubber, PHONE_ID, without_join)
    expect_delete_keyword(stubber, PHONE_ID, "JOIN")

    result = app.handler(
        event("Update", props(Keywords=without_join), old=props(), physical_id=f"phone-number/{PHONE_ID}")
    )

    assert result["PhysicalResourceId"] == f"phone-number/{PHONE_ID}"


def test_update_that_removes_a_keyword_the_snapshot_had_restores_its_previous_version(aws):
    app, stubber, _ = aws
    create_on_phone_number(app, stubber)
    without_hours = [k for k in KEYWORDS if k["Keyword"] != "HOURS"]
    expect_describe_phone_number(stubber)
    expect_apply_to_phone_number(stubber)
    expect_put_keywords(stubber, PHONE_ID, without_hours)
    expect_put_keyword(stubber, PHONE_ID, "HOURS", "Open weekdays.", "AUTOMATIC_RESPONSE")

    app.handler(event("Update", props(Keywords=without_hours), old=props(), physical_id=f"phone-number/{PHONE_ID}"))


def test_update_that_changes_the_origination_id_creates_it_and_returns_the_new_physical_id(aws):
    app, stubber, ssm = aws
    create_on_phone_number(app, stubber)
    new_id = "phone-ffffffffffffffff"
    new_parameter = f"/two-way-sms/MyStack/previous-settings/{new_id}"
    expect_describe_phone_number(
        stubber, phone_number(PhoneNumberId=new_id, PhoneNumber="+12065550199"), origination_id=new_id
    )
    expect_keyword_pages(stubber, new_id, PREVIOUS_KEYWORDS[:2])
    expect_apply_to_phone_number(stubber, origination_id=new_id)
    expect_put_keywords(stubber, new_id, KEYWORDS)

    result = app.handler(
        event(
            "Update",
            props(OriginationId=new_id, SnapshotParameterName=new_parameter),
            old=props(),
            physical_id=f"phone-number/{PHONE_ID}",
        )
    )

    assert result["PhysicalResourceId"] == f"phone-number/{new_id}"
    assert result["Data"]["PhoneNumber"] == "+12065550199"
    assert snapshot(ssm, new_parameter)["OriginationId"] == new_id
    # The old one stays until CloudFormation's Delete restores it.
    assert snapshot(ssm)["OriginationId"] == PHONE_ID


# --- Delete -----------------------------------------------------------------------------


def test_delete_restores_the_previous_settings_and_keywords_and_removes_the_snapshot(aws):
    app, stubber, ssm = aws
    create_on_phone_number(app, stubber)
    stubber.add_response(
        "update_phone_number",
        {},
        {
            "PhoneNumberId": PHONE_ID,
            "TwoWayEnabled": True,
            "SelfManagedOptOutsEnabled": False,
            "TwoWayChannelArn": OLD_TOPIC_ARN,
            "OptOutListName": "Default",
        },
    )
    expect_put_keyword(stubber, PHONE_ID, "HELP", "Default help.", "AUTOMATIC_RESPONSE")
    expect_put_keyword(stubber, PHONE_ID, "STOP", "Default stop.", "OPT_OUT")
    expect_delete_keyword(stubber, PHONE_ID, "JOIN")
    expect_put_keyword(stubber, PHONE_ID, "HOURS", "Open weekdays.", "AUTOMATIC_RESPONSE")

    result = app.handler(event("Delete", props(), physical_id=f"phone-number/{PHONE_ID}"))

    assert result == {"PhysicalResourceId": f"phone-number/{PHONE_ID}"}
    assert not parameter_exists(ssm)


def test_delete_never_deletes_help_or_stop_even_when_the_snapshot_lacks_them(aws):
    app, stubber, ssm = aws
    # A number that had no keywords and no two-way channel at all.
    number = phone_number(TwoWayEnabled=False)
    del number["TwoWayChannelArn"]
    expect_describe_phone_number(stubber, number)
    expect_keyword_pages(stubber, PHONE_ID, [])
    expect_apply_to_phone_number(stubber)
    expect_put_keywords(stubber, PHONE_ID, KEYWORDS)
    app.handler(event("Create", props()))

    # No channel ARN or role to send back: the API rejects empty strings.
    stubber.add_response(
        "update_phone_number",
        {},
        {
            "PhoneNumberId": PHONE_ID,
            "TwoWayEnabled": False,
            "SelfManagedOptOutsEnabled": False,
            "OptOutListName": "Default",
        },
    )
    expect_delete_keyword(stubber, PHONE_ID, "JOIN")
    expect_delete_keyword(stubber, PHONE_ID, "HOURS")

    app.handler(event("Delete", props(), physical_id=f"phone-number/{PHONE_ID}"))

    assert not parameter_exists(ssm)


def test_delete_when_the_number_is_gone_succeeds_and_removes_the_snapshot(aws):
    app, stubber, ssm = aws
    create_on_phone_number(app, stubber)
    stubber.add_client_error(
        "update_phone_number", service_error_code="ResourceNotFoundException", http_status_code=404
    )

    result = app.handler(event("Delete", props(), physical_id=f"phone-number/{PHONE_ID}"))

    assert result == {"PhysicalResourceId": f"phone-number/{PHONE_ID}"}
    assert not parameter_exists(ssm)


def test_delete_without_a_snapshot_succeeds_without_touching_the_number(aws):
    app, _, _ = aws
    result = app.handler(event("Delete", props(), physical_id=f"phone-number/{PHONE_ID}"))
    assert result == {"PhysicalResourceId": f"phone-number/{PHONE_ID}"}


def test_delete_after_a_create_rejected_for_invalid_properties_succeeds(aws):
    app, _, _ = aws
    result = app.handler(event("Delete", props(OriginationType="sender-id"), physical_id="request-id"))
    assert result == {"PhysicalResourceId": "request-id"}
