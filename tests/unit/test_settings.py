"""The inbound function's settings contract: what the construct sets is what the handler reads."""

from __future__ import annotations

import pytest

from two_way_sms.reply_log import ReplyLimits
from two_way_sms.settings import OPTIONAL, REQUIRED, InboundSettings

MINIMAL = {
    "RESPONDER_SETTINGS": "{}",
    "CONTACTS_TABLE": "contacts",
    "CONFIGURATION_SET": "replies",
    "OPT_OUT_LIST": "opt-outs",
    "MESSAGE_TYPE": "TRANSACTIONAL",
}
FULL = {
    **MINIMAL,
    "LEDGER_TABLE": "ledger",
    "LEDGER_RETENTION_DAYS": "90",
    "FLOWS_PARAMETER": "/flows",
    "FLOWS_DIGEST": "0123456789abcdef",
    "CONVERSATIONS_TABLE": "conversations",
    "EVENT_BUS_NAME": "business",
    "CODES_KEY_ID": "key-1",
    "DEAD_LETTER_QUEUE_URL": "https://sqs/dlq",
    "OUR_NUMBERS": "+12125550101",
    "ORIGINATION_POOL_ID": "pool-1",
    "MAX_RECEIVE_COUNT": "7",
    "REPLY_MAX_PRICE": "0.10",
    "REPLY_TIME_TO_LIVE": "3600",
    "REPLY_LIMITS": "3/600/10/300",
    "MONTHLY_BUDGET_USD": "100",
    "BUDGET_HARD_STOP": "true",
    "EXTENSIONS_MODULE": "clinic_handlers",
}


def test_every_variable_of_the_contract_reads_back_as_it_was_set():
    settings = InboundSettings.from_environment(FULL)

    assert settings.to_environment() == FULL
    assert set(FULL) == set(REQUIRED) | set(OPTIONAL)
    assert (settings.max_receive_count, settings.reply_time_to_live) == (7, 3600)
    assert settings.reply_limits == ReplyLimits(3, 600, 10, 300)


def test_the_optional_settings_have_their_defaults():
    settings = InboundSettings.from_environment(MINIMAL)

    assert (settings.max_receive_count, settings.ledger_retention_days, settings.reply_limits) == (
        5,
        400,
        ReplyLimits(),
    )
    assert settings.ledger_table is None and settings.conversations_table is None


@pytest.mark.parametrize(
    "environment, message",
    [
        ({k: v for k, v in MINIMAL.items() if k != "OPT_OUT_LIST"}, "missing environment variables ['OPT_OUT_LIST']"),
        ({**MINIMAL, "FLOWS_PARAMETER": "/flows"}, "needs all of ['FLOWS_PARAMETER', 'CONVERSATIONS_TABLE']"),
        ({**MINIMAL, "MAX_RECEIVE_COUNT": "five"}, "MAX_RECEIVE_COUNT 'five' must be a whole number"),
        ({**MINIMAL, "REPLY_LIMITS": "5/600"}, "REPLY_LIMITS '5/600'"),
    ],
)
def test_a_missing_or_bad_variable_fails_at_start_naming_it(environment, message):
    with pytest.raises(RuntimeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        InboundSettings.from_environment(environment)


def test_a_functions_contract_is_imported_without_the_other_functions():
    # Each handler imports its own settings: the sender's and the campaigns' bring the outbound policy.
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "from two_way_sms.settings import InboundSettings\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('two_way_sms.settings.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=dict(os.environ), capture_output=True, text=True, check=True
    )
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert "two_way_sms.settings.inbound" in imported
    assert not {f"two_way_sms.settings.{other}" for other in ("sender", "campaigns", "events")} & set(imported)


def test_a_name_the_settings_do_not_have_is_an_attribute_error():
    import two_way_sms.settings as settings

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        settings.Nope  # noqa: B018
