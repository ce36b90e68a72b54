"""The sandbox engine: the stack's real handlers on emulated AWS, fed and read through ``Sandbox``'s public API.

The default stack (``cdk.json``) is synthesized once for the module; every test builds a fresh
sandbox from its template, on a fixed clock (Wednesday 2026-03-04, noon in Seattle), and asserts
what the emulated services hold afterwards. The promotional hold needs a number that may send
promotional texts, and the verification codes the transaction flow: a toll-free stack with every
ready flow on, synthesized once from a config file.
"""

from __future__ import annotations

import copy
import io
import json
import sys
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from two_way_sms_local.sandbox.__main__ import main, parser
from two_way_sms_local.sandbox.chat import Chat
from two_way_sms_local.sandbox.contract import Refused
from two_way_sms_local.sandbox.engine import Sandbox
from two_way_sms_local.sandbox.template import REPO_ROOT, synthesize

NOON_IN_SEATTLE = datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc)  # Wednesday 12:00 PST
ELEVEN_PM_IN_SEATTLE = datetime(2026, 3, 5, 7, 0, tzinfo=timezone.utc)  # Wednesday 23:00 PST
SEATTLE = "+12065550123"
DENVER, DALLAS, NEW_YORK = "+13035550123", "+12145550123", "+12125550123"
CONFIG: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["two-way-sms"]
VISIT = {"first_name": "Ana", "when": "Mon 9 Mar at 11:00"}
SLOTS = ["Tue 10 Mar 10:00", "Wed 11 Mar 14:30", "Fri 13 Mar 09:00"]
CHARGE = {"merchant": "Example Bank", "amount": "$412.00", "card_last4": "0042"}
FLU_SHOT_OFFER = {
    "body": "Example Clinic: flu shots are in, {first_name}. Walk in Mon-Fri 8:00-18:00. Reply STOP to opt out",
    "message_type": "PROMOTIONAL",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesize().template


@pytest.fixture
def sandbox(template):
    with Sandbox.from_template(template, start=NOON_IN_SEATTLE) as built:
        yield built


def texts(sandbox: Sandbox, customer: str = SEATTLE) -> list[dict[str, Any]]:
    return list(sandbox.state(customer)["customers"][customer]["texts"])


def bodies(sandbox: Sandbox, customer: str = SEATTLE, direction: str = "out") -> list[str]:
    return [text["body"] for text in texts(sandbox, customer) if text["direction"] == direction]


def bus_types(sandbox: Sandbox) -> list[str]:
    return [event["detail_type"] for event in reversed(sandbox.state()["bus_events"])]  # oldest first


def outcome(sandbox: Sandbox, key: str) -> dict[str, Any]:
    return next(item for item in sandbox.state()["outbound"] if item["key"] == key)


def consent(sandbox: Sandbox, customer: str = SEATTLE) -> dict[str, Any]:
    return dict(sandbox.state(customer)["customers"][customer]["consent"])


def code_in(prompt: str) -> str:
    return prompt.split("Reply YES ")[1].split(" ")[0]


# -- what the sandbox is built from -------------------------------------------------------------------------
def test_the_sandbox_runs_every_function_of_the_template_with_its_settings(sandbox):
    described = sandbox.describe()

    assert described["functions"] == {
        "inbound": "two_way_sms.handlers.inbound.handler",
        "sender": "two_way_sms.handlers.sender.handler",
        "events": "two_way_sms.handlers.events.handler",
        "campaigns": "two_way_sms.handlers.campaigns.handler",
    }
    assert all(function.problem is None for function in sandbox.functions.values())
    assert described["number_type"] == "SIMULATOR" and described["mps"] == 1.0
    assert described["business_number"] == "+12065550100"
    assert described["flows"] == ["appointment", "support"]  # the clinic's (cdk.json)
    assert described["templates"]["appointment_reminder"]["variables"] == ["first_name", "when"]
    assert {"HELP", "STOP", "START", "HOURS"} <= set(described["keywords"])
    # The settings are the template's: the inbound function reads the table the stack created.
    contacts = sandbox.functions["inbound"].settings.contacts_table
    assert (
        contacts.startswith("TwoWaySms-TwoWaySmsInboundProcessorContacts")
        and contacts == sandbox.tables["contacts"].name
    )


# -- consent -------------------------------------------------------------------------------------------------
def test_stop_sends_one_confirmation_records_the_proof_and_a_template_send_is_then_refused(sandbox):
    sandbox.text_in(SEATTLE, "STOP")

    assert bodies(sandbox) == [CONFIG["stop_reply"]]  # End User Messaging's own STOP reply, and no other
    state = consent(sandbox)
    assert state["opted_out"] is True and state["on_opt_out_list"] is True
    [proof] = state["proofs"]
    assert (proof["change"], proof["source"], proof["detail"]["keyword"]) == ("OPTED_OUT", "INBOUND", "STOP")
    assert bus_types(sandbox) == ["optout.recorded"]

    key = sandbox.send(SEATTLE, template_id="appointment_reminder", variables=VISIT)

    refused = outcome(sandbox, key)
    assert refused["status"] == "REFUSED" and "OPTED_OUT" in refused["reason"]
    assert refused["destination"] == SEATTLE
    assert bodies(sandbox) == [CONFIG["stop_reply"]]


def test_help_is_answered_and_start_opts_back_in(sandbox):
    sandbox.text_in(SEATTLE, "STOP")
    sandbox.text_in(SEATTLE, "HELP")
    sandbox.text_in(SEATTLE, "START")

    assert bodies(sandbox) == [CONFIG["stop_reply"], CONFIG["help_reply"], CONFIG["opt_in_reply"]]
    state = consent(sandbox)
    assert state["opted_out"] is False and state["on_opt_out_list"] is False
    assert [proof["change"] for proof in state["proofs"]] == ["OPTED_OUT", "OPTED_IN"]


def test_a_reply_shows_its_encoding_parts_cost_and_delivery_statuses(sandbox):
    sandbox.text_in(SEATTLE, "hello")
    [reply] = [text for text in texts(sandbox) if text["direction"] == "out"]
    assert reply["body"] == CONFIG["default_reply"] and reply["sent_by"] == "inbound"
    assert (reply["encoding"], reply["parts"], reply["status"]) == ("GSM-7", 1, "SENT")
    assert reply["price_estimated"] is True and reply["price_usd"] == "0.00581"

    sandbox.advance(10)

    [reply] = [text for text in texts(sandbox) if text["direction"] == "out"]
    assert reply["statuses"] == ["SENT", "PENDING", "SUCCESSFUL", "DELIVERED"]
    assert reply["status"] == "DELIVERED" and reply["price_estimated"] is False


# -- the ready flows ------------------------------------------------------------------------------------
def test_an_appointment_reminder_answered_2_then_a_slot_is_rebooked(sandbox):
    key = sandbox.send(SEATTLE, flow="appointment", variables=VISIT, slots=SLOTS)
    assert bodies(sandbox)[-1].startswith("Hi Ana, this is a reminder of your appointment on Mon 9 Mar at 11:00.")

    sandbox.advance(60)
    sandbox.text_in(SEATTLE, "2")
    sandbox.advance(60)
    sandbox.text_in(SEATTLE, "B")

    assert bodies(sandbox)[-1] == "You are booked for Wed 11 Mar 14:30. See you then."
    assert bus_types(sandbox) == ["appointment.cancelled", "appointment.rebooked"]
    rebooked = sandbox.state()["bus_events"][0]
    assert rebooked["detail"]["slot"] == "Wed 11 Mar 14:30" and rebooked["detail"]["reference"] == key
    [conversation] = sandbox.state(SEATTLE)["customers"][SEATTLE]["conversations"]
    assert (conversation["flow"], conversation["step"], conversation["status"]) == ("appointment", "rebook", "CLOSED")


def test_a_verification_code_right_approves_the_charge(coded_sandbox):
    coded_sandbox.send(SEATTLE, flow="transaction", variables=CHARGE)
    code = code_in(bodies(coded_sandbox)[-1])

    coded_sandbox.advance(60)
    coded_sandbox.text_in(SEATTLE, f"YES {code}")

    assert bodies(coded_sandbox)[-1] == "Thank you, the charge is approved."
    assert bus_types(coded_sandbox) == ["transaction.approved"]


def test_a_wrong_verification_code_is_asked_again_and_approves_nothing(coded_sandbox):
    coded_sandbox.send(SEATTLE, flow="transaction", variables=CHARGE)
    code = code_in(bodies(coded_sandbox)[-1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    coded_sandbox.advance(60)
    coded_sandbox.text_in(SEATTLE, f"YES {wrong}")

    assert bodies(coded_sandbox)[-1].startswith("Please reply YES or NO, then the code we sent")
    assert "transaction.approved" not in bus_types(coded_sandbox)
    [conversation] = coded_sandbox.state(SEATTLE)["customers"][SEATTLE]["conversations"]
    assert conversation["status"] == "OPEN"


def test_an_expired_verification_code_gets_the_default_reply(coded_sandbox):
    coded_sandbox.send(SEATTLE, flow="transaction", variables=CHARGE)
    code = code_in(bodies(coded_sandbox)[-1])

    coded_sandbox.advance(16 * 60)  # the flow's 15 minutes are over
    [conversation] = coded_sandbox.state(SEATTLE)["customers"][SEATTLE]["conversations"]
    assert conversation["status"] == "EXPIRED"
    coded_sandbox.text_in(SEATTLE, f"YES {code}")

    assert bodies(coded_sandbox)[-1] == CONFIG["default_reply"]
    assert "transaction.approved" not in bus_types(coded_sandbox)


def test_a_support_hand_off_reaches_the_bus(sandbox):
    sandbox.text_in(SEATTLE, "AGENT please, my bill is wrong")
    sandbox.text_in(SEATTLE, "It says $40 but I paid $30")

    assert bodies(sandbox) == ["Thanks, an agent will text you back shortly. Reply STOP to opt out."]
    assert bus_types(sandbox) == ["support.requested", "reply.received"]
    message = sandbox.state()["bus_events"][0]
    assert message["detail"]["text"] == "It says $40 but I paid $30"


# -- delivery ------------------------------------------------------------------------------------------------
def test_a_text_the_carrier_fails_ends_failed_in_the_ledger(sandbox):
    sandbox.set_carrier(SEATTLE, "fail")
    sandbox.send(SEATTLE, template_id="appointment_reminder", variables=VISIT)

    sandbox.advance(10)

    [text] = texts(sandbox)
    assert text["status"] == "CARRIER_UNREACHABLE"
    assert text["statuses"] == ["SENT", "PENDING", "CARRIER_UNREACHABLE"]
    [item] = [item for item in sandbox.state()["ledger"] if item["message_id"] == text["message_id"]]
    assert item["is_final"] is True and item["event_type"] == "TEXT_CARRIER_UNREACHABLE"


def test_a_carrier_that_reports_the_number_opted_out_marks_the_contact_opted_out(sandbox):
    sandbox.set_carrier(SEATTLE, "opted_out")
    sandbox.send(SEATTLE, template_id="appointment_reminder", variables=VISIT)

    sandbox.advance(10)

    state = consent(sandbox)
    assert state["opted_out"] is True and state["on_opt_out_list"] is False  # the carrier's list, not the number's
    [proof] = state["proofs"]
    assert (proof["change"], proof["source"], proof["detail"]["keyword"]) == (
        "OPTED_OUT",
        "DELIVERY_EVENT",
        "TEXT_BLOCKED",
    )


# -- campaigns and holds ------------------------------------------------------------------------------
def test_a_campaign_from_a_csv_of_three_rows_sends_three_texts(sandbox):
    csv = "phone_number,first_name,when\n" + "".join(
        f"{number},{name},Tue 10 Mar 10:00\n" for number, name in ((DENVER, "Bo"), (DALLAS, "Cy"), (NEW_YORK, "Di"))
    )

    campaign_id = sandbox.start_campaign(csv, "appointment_reminder")
    sandbox.advance(30)

    [run] = sandbox.state()["campaigns"]
    assert run["campaign_id"] == campaign_id and run["status"] == "QUEUED_ALL"
    assert run["counts"]["queued"] == 3 and run["counts"]["sent"] == 3 and run["counts"]["delivered"] == 3
    assert bodies(sandbox, DALLAS) == [
        "Example Clinic: Cy, your appointment is on Tue 10 Mar 10:00. To change it, call +1 206 555 0100."
    ]


def test_a_malformed_inbound_payload_is_parked_in_the_inbound_dead_letter_queue_with_its_reason(sandbox):
    sandbox.publish_raw("this is not JSON")

    [parked] = sandbox.state()["dead_letters"]["inbound processing"]
    assert parked["reason"].startswith("MALFORMED") and parked["source"] == "inbound-handler"
    assert json.loads(parked["body"])["Message"] == "this is not JSON"  # the SNS envelope, as it arrived
    assert sandbox.state()["dead_letters"]["inbound processing"] == [parked]  # peeked, not taken


def broken(event: Any, context: Any) -> Any:
    raise RuntimeError("the table is gone")


def test_an_inbound_record_that_always_fails_is_redriven_after_five_receives_on_the_sandbox_clock(sandbox):
    sandbox.functions["inbound"].handler = broken  # a fault, for this test: the stack's wiring does the rest

    sandbox.text_in(SEATTLE, "hello")
    sandbox.advance(4 * 180)  # the queue's visibility timeout (6 x 30 s), four more times
    assert sandbox.state()["dead_letters"]["inbound processing"] == []

    sandbox.advance(181)  # the fifth receive failed too: moto's redrive (maxReceiveCount 5) parks it

    [parked] = sandbox.state()["dead_letters"]["inbound processing"]
    assert json.loads(json.loads(parked["body"])["Message"])["messageBody"] == "hello"
    inbound = [i for i in sandbox.invocations() if i["function"] == "inbound"]
    assert len(inbound) == 5 and all(i["error"] == "RuntimeError: the table is gone" for i in inbound)


def test_a_scheduled_invocation_that_keeps_failing_is_retried_twice_then_sent_to_its_destination(sandbox):
    sandbox.functions["campaigns"].handler = broken
    scheduler, outputs = sandbox.runtime.scheduler, sandbox.outputs
    scheduler.create_schedule(
        Name="release-test",
        GroupName=outputs["ScheduleGroupName"],
        ScheduleExpression="at(2026-03-04T20:05:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": outputs["CampaignsFunctionArn"], "RoleArn": outputs["SchedulerRoleArn"], "Input": "{}"},
    )

    sandbox.advance(5 * 60 + 3 * 60)  # fired at 20:05, retried 1 and 2 minutes later

    [parked] = sandbox.state()["dead_letters"]["campaign invocations"]
    assert parked["reason"] == "RetriesExhausted: RuntimeError: the table is gone"
    record = json.loads(parked["body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3 and record["requestPayload"] == {}
    attempts = [i["at"] for i in sandbox.invocations() if i["trigger"].startswith("schedule release-test")]
    assert attempts == ["2026-03-04T20:05:00.000Z", "2026-03-04T20:06:00.000Z", "2026-03-04T20:08:00.000Z"]


def test_inputs_the_stack_would_never_get_are_refused(sandbox):
    with pytest.raises(Refused, match="not a phone number"):
        sandbox.text_in("hello", "hi")
    with pytest.raises(Refused, match="no template 'nope'"):
        sandbox.send(SEATTLE, template_id="nope")
    with pytest.raises(Refused, match="no flow 'nope'"):
        sandbox.send(SEATTLE, flow="nope")
    with pytest.raises(Refused, match="carrier outcome"):
        sandbox.set_carrier(SEATTLE, "lost")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def toll_free_template(tmp_path_factory) -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["origination"] = {
        "new_number": {"iso_country_code": "US", "number_type": "TOLL_FREE", "capabilities": ["SMS"]}
    }
    config["outbound"]["templates"]["flu_shot_offer"] = FLU_SHOT_OFFER
    config["conversations"]["ready_flows"] = ["appointment", "transaction", "support"]
    path: Path = tmp_path_factory.mktemp("config") / "toll-free.json"
    path.write_text(json.dumps(config))
    return synthesize(str(path)).template


@pytest.fixture
def coded_sandbox(toll_free_template):
    """A stack with the transaction flow on (its one-use codes), which cdk.json's clinic leaves off."""
    with Sandbox.from_template(toll_free_template, start=NOON_IN_SEATTLE) as built:
        yield built


def test_a_promotional_text_at_night_is_held_until_morning(toll_free_template):
    with Sandbox.from_template(toll_free_template, start=ELEVEN_PM_IN_SEATTLE) as sandbox:
        sandbox.text_in(SEATTLE, "START")  # the opt-in a promotional text needs (End User Messaging answers it)
        key = sandbox.send(SEATTLE, template_id="flu_shot_offer", variables={"first_name": "Ana"})

        held = outcome(sandbox, key)
        assert (held["status"], held["reason"], held["release_at"]) == ("HELD", "QUIET_HOURS", "2026-03-05T16:00:00Z")
        sandbox.advance(8 * 3600)  # 07:00 in Seattle: still quiet
        assert outcome(sandbox, key)["status"] == "HELD"

        sandbox.advance(3600 + 60)

        assert outcome(sandbox, key)["status"] == "SENT"
        [offer] = [t for t in texts(sandbox) if t["sent_by"] == "sender"]
        assert offer["body"].startswith("Example Clinic: flu shots are in, Ana.") and offer["at"] >= "2026-03-05T16:00"


def test_a_toll_free_stop_is_the_carriers(toll_free_template):
    with Sandbox.from_template(toll_free_template, start=NOON_IN_SEATTLE) as sandbox:
        sandbox.text_in(SEATTLE, "STOP")

        [reply] = [t for t in texts(sandbox) if t["direction"] == "out"]
        assert reply["sent_by"] == "carrier" and reply["body"].startswith("NETWORK MSG")
        assert consent(sandbox)["opted_out"] is True


# -- the terminal --------------------------------------------------------------------------------------
def test_the_chat_mode_fed_with_lines(sandbox):
    out = io.StringIO()
    lines = [
        "hello",
        "/send appointment_reminder first_name=Ana 'when=Mon 9 Mar'",
        "/wait 10",
        "/as 4055550123",
        "HOURS",
        "/carrier fail",
        "/state",
        "/nonsense",
        "/quit",
        "never read",
    ]

    assert Chat(sandbox, out).run(lines) == 0

    printed = out.getvalue()
    assert f"< {CONFIG['default_reply']}" in printed
    assert "< Example Clinic: Ana, your appointment is on Mon 9 Mar." in printed
    assert "(sender: GSM-7, 1 part(s), $0.00581, DELIVERED)" in printed
    assert "now texting as +14055550123" in printed
    assert "< Example Clinic is open Mon-Fri 8:00-18:00 and Sat 9:00-13:00." in printed
    assert "+14055550123: not opted out; carrier: fail" in printed
    assert "! unknown command /nonsense" in printed
    assert sandbox.state(SEATTLE)["customers"]["+14055550123"]["texts"][0]["body"] == "HOURS"


def test_the_command_line_has_chat_and_hands_serve_to_the_server(monkeypatch):
    args = parser().parse_args(["chat", "--config", "c.json", "--customer", "+12145550123"])
    assert (args.command, args.config, args.customer) == ("chat", "c.json", "+12145550123")
    received = []
    server = types.ModuleType("two_way_sms_local.sandbox.server")
    server.main = lambda argv: received.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "two_way_sms_local.sandbox.server", server)

    assert main(["serve", "--port", "9000"]) == 0
    assert received == [["--port", "9000"]]
