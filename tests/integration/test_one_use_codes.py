"""One-use codes from a KMS HMAC key (moto): stable per conversation, different across conversations and keys."""

from __future__ import annotations

import boto3
import pytest

from two_way_sms.adapters.one_use_codes import OneUseCodes
from two_way_sms.conversations.engine import advance, open_conversation
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms_local.emulation import REGION


def hmac_key(kms) -> str:
    return kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]


@pytest.fixture
def kms(emulated_aws):
    return boto3.client("kms", region_name=REGION)


def test_a_conversation_always_gets_the_same_code_of_six_digits(kms):
    codes = OneUseCodes(kms, hmac_key(kms))

    first, again = codes.code_for("t-1"), codes.code_for("t-1")

    assert first == again and len(first) == 6 and first.isdigit()


def test_codes_differ_across_conversations_and_keys(kms):
    codes, other_key = OneUseCodes(kms, hmac_key(kms)), OneUseCodes(kms, hmac_key(kms))

    many = {codes.code_for(f"t-{n}") for n in range(200)}

    assert len(many) >= 195  # a million codes: a few collisions in 200 at most
    assert codes.code_for("t-1") != other_key.code_for("t-1")


def test_the_code_opens_a_verification_that_accepts_it(kms):
    codes = OneUseCodes(kms, hmac_key(kms), digits=8)
    code = codes.code_for("t-1")
    flow = parse_flows(READY_FLOWS)["transaction"]
    conversation, prompt = open_conversation(
        flow,
        conversation_id="t-1",
        customer_number="+14255550182",
        our_number="+18445550100",
        now=0.0,
        variables={"merchant": "Example", "amount": "$5", "card_last4": "4242"},
        code=code,
    )

    assert f"YES {code}" in prompt
    turn = advance(conversation, flow, f"yes {code}", now=1.0, inbound_message_id="in-1", code_for=codes.code_for)
    assert [e.detail_type for e in turn.events] == ["transaction.approved"]


def test_a_key_that_is_not_an_hmac_key_is_refused(kms):
    encryption_key = kms.create_key()["KeyMetadata"]["KeyId"]

    with pytest.raises(kms.exceptions.InvalidKeyUsageException):
        OneUseCodes(kms, encryption_key).code_for("t-1")
    with pytest.raises(ValueError, match="digits 3 must be 4-10"):
        OneUseCodes(kms, encryption_key, digits=3)
