"""The operator's reading commands (ledger, spend, campaigns, conversations, config) and the templates' forms,
against emulated AWS (test_cli_operate's world)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli_operate import CALLER, CONFIG, OUR_NUMBER, OperateWorld, one_error_line, operate_world
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.ledger import MessageLedger, SentText
from two_way_sms.adapters.schedules import create_one_time_schedule
from two_way_sms.conversations.engine import Conversation
from two_way_sms.delivery import parse_delivery_event
from two_way_sms_local.emulation import REGION, REQUESTED_AT_MS, delivery_event

LEDGER_CUSTOMER = "+14255550182"  # the delivery event sample's destination
CAMPAIGN = {"campaignId": "spring-sale", "templateId": "spring", "audience": {"query": {"attributes": {"tier": "vip"}}}}
SPRING = {"body": "Hi {first_name}, 20% off at Example Shop. Reply STOP to opt out.", "message_type": "PROMOTIONAL"}
CLOSURE = {"body": "Example Clinic is closed on {day} – call us to rebook.", "message_type": "TRANSACTIONAL"}


@pytest.fixture
def operate(emulated_aws, monkeypatch, tmp_path) -> Iterator[OperateWorld]:
    yield operate_world(monkeypatch, tmp_path)


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def config_with_templates(**templates: Any) -> dict[str, Any]:
    return {**CONFIG, "outbound": {"templates": templates}}


# -- ledger and spend -------------------------------------------------------------------------------------
def fill_ledger(operate: Any) -> None:
    ledger = MessageLedger(operate.ledger, retention_days=400)
    for event_type, after, final in (("TEXT_SUCCESSFUL", 400, False), ("TEXT_DELIVERED", 2500, True)):
        ledger.apply(
            parse_delivery_event(
                delivery_event(
                    event_type, after_ms=after, is_final=final, message_id="m-1", context={"campaign": "c/r"}
                )
            )
        )
    ledger.record_sent(
        SentText(
            message_id="m-2",
            destination=LEDGER_CUSTOMER,
            origination=OUR_NUMBER,
            context={"sendKey": "otp-7"},
            sent_at_ms=REQUESTED_AT_MS + 60_000,
            message_type="TRANSACTIONAL",
            estimated_parts=2,
            sent_by="sender",
        )
    )


def test_ledger_message_shows_a_texts_fate_and_history(operate):
    fill_ledger(operate)
    code, out, _ = operate.operate("ledger", "message", "m-1")
    assert code == 0
    assert out.startswith("message m-1: DELIVERED (final)\n")
    assert f"to {LEDGER_CUSTOMER} from {OUR_NUMBER}" in out
    assert "1 part(s), $0.00581 + carrier fee $0.00266" in out and "context campaign=c/r" in out
    assert "history:\n    2025-10-01T18:20:41.378+00:00 TEXT_SUCCESSFUL SUCCESSFUL" in out
    item = json.loads(operate.operate("ledger", "message", "m-1", "--json")[1])
    assert (item["status"], item["parts"], item["is_final"]) == ("DELIVERED", 1, True)
    err = one_error_line(*operate.operate("ledger", "message", "m-404"))
    assert "message m-404 is not in the ledger" in err


def test_ledger_number_lists_the_recent_texts_newest_first(operate):
    fill_ledger(operate)
    code, out, _ = operate.operate("ledger", "number", LEDGER_CUSTOMER)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"2 text(s) to {LEDGER_CUSTOMER}, newest first"
    assert "m-2  SENT  2 part(s) (estimated)  price not reported yet  context sendKey=otp-7" in lines[1]
    assert "m-1  DELIVERED (final)  1 part(s)" in lines[2]
    data = json.loads(operate.operate("ledger", "number", LEDGER_CUSTOMER, "--limit", "1", "--json")[1])
    assert [t["message_id"] for t in data["texts"]] == ["m-2"]


def test_spend_prints_the_months_counted_spend_against_the_budget(operate):
    fill_ledger(operate)
    code, out, _ = operate.operate("spend", "--month", "2025-10", "--budget", "0.5")
    assert code == 0
    assert "2025-10: $0.00847 for 1 text(s), 1 part(s); 1.7% of the $0.50 budget" in out
    (operate.tmp_path / "cdk.json").write_text(json.dumps({"context": {"two-way-sms": CONFIG}}))
    data = json.loads(operate.operate("spend", "--month", "2025-10", "--months", "2", "--json")[1])
    assert (data["budgetUsd"], data["budgetSource"]) == (100, "cdk.json")  # the config's monthly_budget_usd
    assert [(m["month"], m["spendUsd"], m["messages"]) for m in data["months"]] == [
        ("2025-09", 0, 0),
        ("2025-10", 0.00847, 1),
    ]


# -- campaigns ------------------------------------------------------------------------------------------------
def test_campaigns_list_status_and_cancel(operate):
    write_json(operate.tmp_path / "cdk.json", {"context": {"two-way-sms": config_with_templates(spring=SPRING)}})
    code, _, err = operate.operate(
        "campaigns", "schedule", "--id", "spring-sale", "--template", "spring", "--where", "tier=vip",
        "--at", "2099-03-02T15:00:00Z", "--run-id", "r1",
    )  # fmt: skip
    assert (code, err) == (0, "")
    runs = CampaignRuns(operate.outbound)
    runs.start("spring-sale", "r0", datetime(2026, 12, 1, 15, tzinfo=timezone.utc), template_id="spring")
    runs.add_counts("spring-sale", "r0", {"queued": 500, "skipped_OPTED_OUT": 3, "sent": 480})
    create_one_time_schedule(  # the running run's next page, as the campaigns function schedules it
        operate.scheduler,
        name="campaign-spring-sale-r0-1",
        at=datetime.now(timezone.utc) + timedelta(minutes=1),
        group="two-way-sms",
        target_arn=operate.outputs["CampaignsFunctionArn"],
        role_arn=operate.outputs["SchedulerRoleArn"],
        dead_letter_queue_arn=None,
        payload={"kind": "campaign", "campaign": CAMPAIGN, "runId": "r0", "cursor": "500", "continuation": 1},
    )
    code, out, _ = operate.operate("campaigns", "list")
    assert code == 0 and out.startswith("1 run(s) on record, 1 scheduled\n")
    assert "spring-sale  run r0  RUNNING  started 2026-12-01T15:00:00+00:00  queued 500  sent 480" in out
    assert "spring-sale  run r1  SCHEDULED  at 2099-03-02T15:00:00" in out
    code, out, _ = operate.operate("campaign", "status", "spring-sale")  # the old name still works
    assert code == 0 and "campaign spring-sale: 1 run(s) on record, 2 schedule(s) pending" in out
    assert "recipients 503: queued 500, skipped 3 (OPTED_OUT 3)" in out and "awaiting send 20" in out
    assert "scheduled: run r0 next page at" in out and "scheduled: run r1 run start at 2099-03-02T15:00:00" in out
    code, out, _ = operate.operate("campaigns", "cancel", "spring-sale")
    assert code == 0
    assert "1 scheduled run(s) deleted (r1); 1 running run(s) stopped at their next page (r0)" in out
    assert operate.schedules() == {}
    report = runs.read("spring-sale", "r0")
    assert report is not None and (report.status, report.failure) == ("FAILED", f"cancelled by {CALLER}")
    err = one_error_line(*operate.operate("campaigns", "cancel", "spring-sale"))
    assert "no schedule pending: nothing to cancel" in err
    data = json.loads(operate.operate("campaigns", "status", "spring-sale", "--json")[1])
    assert [r["status"] for r in data["runs"]] == ["FAILED"] and data["scheduled"] == []
    err = one_error_line(*operate.operate("campaigns", "status", "autumn"))
    assert "campaign autumn has no run on record and none scheduled" in err


def test_campaign_schedule_reads_the_templates_from_cdk_json_by_default(operate):
    write_json(operate.tmp_path / "cdk.json", {"context": {"two-way-sms": config_with_templates(spring=SPRING)}})
    err = one_error_line(
        *operate.operate("campaigns", "schedule", "--id", "autumn", "--template", "autumn", "--where", "tier=vip")
    )
    assert "no template autumn in cdk.json (spring)" in err
    assert operate.schedules() == {}


# -- conversations -------------------------------------------------------------------------------------------
def test_conversations_show_lists_them_newest_first_without_the_variables_values(operate):
    store = ConversationStore(operate.conversations)
    now = time.time()
    for conversation_id, opened, expires in (("c-old", now - 7200, now - 3600), ("c-new", now - 60, now + 3600)):
        store.create(
            Conversation(
                conversation_id=conversation_id,
                flow="appointment",
                step="confirm",
                customer_number=LEDGER_CUSTOMER,
                our_number=OUR_NUMBER,
                opened_at=opened,
                expires_at=expires,
                reference="A-1042",
                variables={"first_name": "Ana", "when": "Tue 10:00"},
                slots=("Tue 10:00", "Wed 9:00"),
            )
        )
    code, out, _ = operate.operate("conversations", "show", LEDGER_CUSTOMER)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"2 conversation(s) with {LEDGER_CUSTOMER}, newest first"
    assert lines[1] == "  c-new  flow appointment  step confirm  OPEN"
    assert "c-old  flow appointment  step confirm  EXPIRED" in out
    assert "reference A-1042" in out and "variables first_name, when; 2 slot(s) offered" in out
    assert "Ana" not in out and "Tue 10:00" not in out
    data = json.loads(operate.operate("conversations", "show", LEDGER_CUSTOMER, "--json")[1])
    assert [c["conversationId"] for c in data["conversations"]] == ["c-new", "c-old"]


# -- config -----------------------------------------------------------------------------------------------------
def test_config_validate_runs_the_synths_parse(operate):
    good = write_json(operate.tmp_path / "clinic.json", CONFIG)
    assert operate.run("config", "validate", "--config", good)[:2] == (0, "valid\n")
    bad = write_json(operate.tmp_path / "bad.json", {**CONFIG, "stop_reply": "Bye."})
    err = one_error_line(*operate.run("config", "validate", "--config", bad))
    assert err.startswith(f"error: {bad}: ") and "stop_reply" in err
    err = one_error_line(*operate.run("config", "validate"))
    assert "no config: pass --config FILE" in err
    # A cdk.json, with the config inline or named by its configFile (relative to the cdk.json).
    (operate.tmp_path / "cdk.json").write_text(json.dumps({"context": {"configFile": "clinic.json"}}))
    assert operate.run("config", "validate")[:2] == (0, "valid\n")
    assert operate.sessions == 0  # no AWS


def test_config_schema_prints_the_published_json_schema(operate):
    code, out, _ = operate.run("config", "schema")
    schema = json.loads(out)
    assert code == 0 and schema["$schema"].startswith("https://json-schema.org/") and "help_reply" in schema["required"]


def test_config_explain_prices_every_text_for_the_number_type(operate):
    config = write_json(operate.tmp_path / "clinic.json", config_with_templates(closure=CLOSURE, spring=SPRING))
    code, out, _ = operate.run("config", "explain", "--config", config, "--number-type", "TOLL_FREE")
    assert code == 0
    assert "a TOLL_FREE number, texts to US; cost per send is an estimate (" in out
    assert "  reply help_reply: GSM-7, 62 characters, 1 part  ~$0.00831 per send" in out
    assert "  keyword HOURS: GSM-7" in out
    assert "  template closure: GSM-7, 49 characters, 1 part  ~$0.00831 per send (variables empty)" in out  # – replaced
    data = json.loads(operate.run("config", "explain", "--config", config, "--json")[1])
    assert data["numberType"] == "SIMULATOR" and data["prices"].startswith("estimate (")
    texts = {(t["kind"], t["name"]): t for t in data["texts"]}
    assert texts[("template", "spring")]["parts"] == 1
    assert texts[("reply", "stop_reply")]["estimatedUsdPerSend"] == 0.00581
    code, out, _ = operate.run("config", "explain", "--config", config, "--country", "DE")
    assert code == 0 and "no price estimate for DE (US only)" in out and "per send" not in out


def test_config_explain_adds_the_idle_cost_table_only_when_asked(operate, monkeypatch):
    import two_way_sms_cdk.costs as costs

    priced = []
    monkeypatch.setattr(costs, "idle_cost_lines", lambda config: priced.append(config) or ["TOTAL (estimate) $23.28"])
    config = write_json(operate.tmp_path / "clinic.json", config_with_templates(closure=CLOSURE))
    assert "TOTAL (estimate)" not in operate.run("config", "explain", "--config", config)[1]
    code, out, _ = operate.run("config", "explain", "--config", config, "--idle-cost")
    assert code == 0 and out.rstrip().endswith("TOTAL (estimate) $23.28") and len(priced) == 1


def test_config_commands_never_import_aws_cdk(operate, tmp_path):
    config = write_json(tmp_path / "clinic.json", CONFIG)
    program = (
        "import sys; from two_way_sms_client.cli import main; "
        f"codes = [main(['config', c, '--config', {config!r}]) for c in ('validate', 'explain')]; "
        "print(codes, 'aws_cdk' in sys.modules, 'boto3' in sys.modules)"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.splitlines()[-1] == "[0, 0] False False", result.stderr


# -- the templates' forms --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["config form", "whole config", "cdk.json", "default cdk.json"])
def test_send_reads_the_config_form_of_the_templates(operate, form):
    path = operate.tmp_path / "templates.json"
    if form == "config form":
        write_json(path, {"closure": CLOSURE})
    elif form == "whole config":
        write_json(path, config_with_templates(closure=CLOSURE))
    else:
        path = operate.tmp_path / "cdk.json"
        write_json(path, {"app": "python3 app.py", "context": {"two-way-sms": config_with_templates(closure=CLOSURE)}})
    templates = [] if form == "default cdk.json" else ["--templates", str(path)]
    code, out, err = operate.run(
        "send", "--to", "+14255550182", "--template", "closure", "--var", "day=Monday",
        "--queue-url", operate.queue_url, *templates,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert "body: UCS-2 (because of '–'), 55 characters, 1 part" in out
    assert [r.template_id for r in operate.queued()] == ["closure"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"closure": {**CLOSURE, "messageType": "TRANSACTIONAL"}}, ("outbound.templates.closure", "messageType")),
        ({"closure": {"body": "Hi {0}", "message_type": "TRANSACTIONAL"}}, ("closure", "{0}")),
        (config_with_templates(closure={"body": "x", "message_type": "SPAM"}), ("message_type", "SPAM")),
        ({"context": {"two-way-sms": {**CONFIG, "help_reply": "Help!"}}}, ("cdk.json", "help_reply")),
        (["closure"], ("templates must be a JSON object",)),
    ],
)
def test_templates_in_a_bad_form_exit_2_naming_the_problem(operate, content, message):
    name = "cdk.json" if "cdk.json" in message else "templates.json"
    path = write_json(operate.tmp_path / name, content)
    send = ["send", "--to", "+14255550182", "--template", "closure", "--var", "day=Monday"]
    err = one_error_line(*operate.run(*send, "--templates", path))
    assert all(word in err for word in message) and operate.sessions == 0


# -- input checked before any AWS call ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ledger", "message", "SPEND#2026-11"], "is not a message id"),
        (["ledger", "number", "+1 425 555 0182"], "is not E.164"),
        (["ledger", "number", LEDGER_CUSTOMER, "--limit", "0"], "0 is not between 1 and 1000"),
        (["spend", "--month", "2026-13"], "is not a month like 2026-11"),
        (["spend", "--budget", "-5"], "must be a positive amount"),
        (["spend", "--config", "nowhere.json"], "file nowhere.json does not exist"),
        (["campaigns", "status", "spring sale"], "is not a campaign id"),
        (["campaigns", "cancel", "a" * 65], "is not a campaign id"),
        (["campaigns", "report", "--id", "spring", "--run", "r 1"], "is not a run id"),
        (["conversations", "show", "12"], "not a possible phone number"),
        (["config", "explain", "--number-type", "SHORT_CODE"], "invalid choice: 'SHORT_CODE'"),
        (["config", "explain", "--country", "usa"], "is not an ISO 3166-1 alpha-2 country code"),
        (["config", "explain", "--config", "nowhere.json"], "file nowhere.json does not exist"),
    ],
)
def test_invalid_input_exits_2_with_one_line_before_any_aws_call(operate, argv, message):
    err = one_error_line(*operate.operate(*argv))
    assert message in err
    assert operate.sessions == 0 and operate.stack_reads == 0


def test_campaigns_list_adds_the_counts_of_shards_still_reading(operate):
    runs = CampaignRuns(operate.outbound)
    runs.start("autumn", "r1", datetime(2026, 12, 1, 15, tzinfo=timezone.utc))
    runs.plan_shards("autumn", "r1", 2)
    runs.add_counts("autumn", "r1", {"queued": 300, "sent": 250}, shard=0)
    runs.finish_shard("autumn", "r1", 0, 2, datetime(2026, 12, 1, 15, 5, tzinfo=timezone.utc))  # folded in
    runs.add_counts("autumn", "r1", {"queued": 120, "sent": 100}, shard=1)  # still reading

    code, out, _ = operate.operate("campaigns", "list")

    assert code == 0 and "autumn  run r1  RUNNING" in out and "queued 420  sent 350" in out
    assert runs.read("autumn", "r1").queued == 420  # the same figures as one run's report
