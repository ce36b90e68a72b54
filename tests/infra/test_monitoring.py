"""The Monitoring construct: its alarms, alarm topic, email subscriptions and dashboard.

One stack of stand-ins (encrypted queues, inline functions, a topic, an imported Firehose
stream) and a ``Monitoring`` built on them with metrics of its own, as a user would, is
synthesized once for the module, with the four cdk-nag rule packs; a second, plugin-free
stack covers the other prop paths with ``Template.from_stack``. Validation errors are checked without any synth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from tests.infra.synth import FAIL_SYNTH_ON_VALIDATION_ERRORS, FEATURE_FLAGS, Finding, read_findings
from tests.infra.test_cfn_lint import ACCEPTED_WARNINGS, REGIONS
from two_way_sms import metric_names
from two_way_sms_cdk.constructs.monitoring import Monitoring, known_metric_names
from two_way_sms_cdk.nag import register_rule_packs

STACK = "MonitoringTest"
MONITORING_PATH = f"{STACK}/Monitoring/"
RULE_PACKS = ("AwsSolutions", "Serverless", "HIPAA.Security", "NIST.800.53.R5")
EMAILS = ("ops@example.com", "On-Call@example.org")
BUDGET = 250.0
FAILURE_RATE = 7.5
MINIMUM_FINAL = 25
ARCHIVE_STREAM = "two-way-sms-archive"
ITERATOR_AGE_LABEL = "Oldest event read (ms)"
USER_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
LINT_WARNINGS_OF_THE_STAND_INS = {
    **ACCEPTED_WARNINGS,
    # The imported stand-in Firehose stream brings aws-cdk-lib's Firehose CIDR mapping along.
    "W7001": "unused mapping of the imported stand-in delivery stream",
}


# -- the stacks ---------------------------------------------------------------------------------
def _function(stack: cdk.Stack, construct_id: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


class Built:
    def __init__(
        self,
        stack: cdk.Stack,
        monitoring: Monitoring,
        template: dict[str, Any],
        findings: tuple[Finding, ...],
        template_text: str,
        stand_ins: dict[str, Any],
    ) -> None:
        self.stack, self.monitoring, self.template = stack, monitoring, template
        self.findings, self.template_text, self.stand_ins = findings, template_text, stand_ins

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def logical_id(self, construct: Any) -> str:
        resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        return self.stack.resolve(resource.logical_id)

    def alarm(self, key: str) -> dict[str, Any]:
        return self.resources[self.logical_id(self.monitoring.alarms[key])]["Properties"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    outdir: Path = tmp_path_factory.mktemp("cdk-monitoring")
    app = cdk.App(outdir=str(outdir), context={**FEATURE_FLAGS, FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    stack = cdk.Stack(app, STACK)
    key = kms.Key(stack, "StandInKey", enable_key_rotation=True)
    queues = {
        label: sqs.Queue(
            stack, construct_id, encryption=sqs.QueueEncryption.KMS, encryption_master_key=key, enforce_ssl=True
        )
        for label, construct_id in (("inbound redrive", "InboundDlq"), ("events on-failure", "EventsDlq"))
    }
    inbound, events = _function(stack, "InboundFunction"), _function(stack, "EventsFunction")
    topic = sns.Topic(stack, "InboundTopic", master_key=key, enforce_ssl=True)
    archive = firehose.DeliveryStream.from_delivery_stream_name(stack, "Archive", ARCHIVE_STREAM)
    monitoring = Monitoring(
        stack,
        "Monitoring",
        dead_letter_queues=queues,
        functions={"inbound": inbound, "events": events},
        iterator_age=events.metric("IteratorAge", statistic="Maximum", label=ITERATOR_AGE_LABEL),
        archive_freshness=archive.metric("DeliveryToS3.DataFreshness", statistic="Maximum", label="Not in S3 (s)"),
        archive_records=[archive.metric_incoming_records(statistic="Sum")],
        inbound_topic_metrics=[topic.metric_number_of_messages_published()],
        alarm_emails=EMAILS,
        monthly_budget_usd=BUDGET,
        delivery_failure_rate_percent=FAILURE_RATE,
        minimum_final_messages=MINIMUM_FINAL,
        iterator_age_threshold=Duration.minutes(10),
    )
    register_rule_packs(app)
    app.synth()
    template = Template.from_stack(stack)  # reuses the assembly just synthesized
    return Built(
        stack,
        monitoring,
        template.to_json(),
        read_findings(outdir),
        (outdir / stack.template_file).read_text(),
        {"queues": queues, "inbound": inbound, "events": events, "topic": topic},
    )


@pytest.fixture(scope="module")
def bare() -> Built:
    """A user's alarm topic, no budget, no emails, no function alarms, nothing optional: no plugins."""
    app = cdk.App(context=FEATURE_FLAGS)
    stack = cdk.Stack(app, "MonitoringBare")
    queue = sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS_MANAGED)
    monitoring = Monitoring(
        stack,
        "Monitoring",
        dead_letter_queues={"inbound": queue},
        functions={"inbound": _function(stack, "InboundFunction")},
        alarm_topic=sns.Topic.from_topic_arn(stack, "OpsAlarms", USER_TOPIC_ARN),
        monthly_budget_usd=None,
        alarm_on_function_errors=False,
        dashboard_name="two-way-sms-ops",
    )
    return Built(stack, monitoring, Template.from_stack(stack).to_json(), (), "", {"queue": queue})


def _new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Validation")


# -- helpers ------------------------------------------------------------------------------------
def dashboard_body(built: Built) -> dict[str, Any]:
    """The dashboard JSON, every CloudFormation reference in it replaced by ``"<token>"``."""
    (dashboard,) = built.of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else "<token>" for part in parts))


def metric_of(alarm: dict[str, Any], metric_id: str = "m1") -> dict[str, Any]:
    return next(m for m in alarm["Metrics"] if m["Id"] == metric_id)


def metric_stat(alarm: dict[str, Any], metric_id: str = "m1") -> dict[str, Any]:
    return metric_of(alarm, metric_id)["MetricStat"]


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


# -- alarms -------------------------------------------------------------------------------------
def test_alarm_keys_name_what_each_alarm_watches(built):
    assert set(built.monitoring.alarms) == {
        "dead-letters:inbound redrive",
        "dead-letters:events on-failure",
        "dead-letters:alarm notifications",
        "function-errors:inbound",
        "function-errors:events",
        "delivery-failure-rate",
        "iterator-age",
        "monthly-spend",
        "archive-freshness",
    }
    assert len(built.of_type("AWS::CloudWatch::Alarm")) == len(built.monitoring.alarms)


def test_each_dead_letter_queue_alarms_on_one_visible_message(built):
    queues = {**built.stand_ins["queues"], "alarm notifications": built.monitoring.notification_dead_letter_queue}
    for label, queue in queues.items():
        alarm = built.alarm(f"dead-letters:{label}")
        stat = metric_stat(alarm)
        assert stat["Metric"] == {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [built.logical_id(queue), "QueueName"]}}],
        }
        assert (stat["Stat"], stat["Period"]) == ("Maximum", 300)
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        assert alarm["TreatMissingData"] == "notBreaching"


def test_dead_letter_alarm_ids_come_from_the_labels(built):
    assert built.logical_id(built.monitoring.alarms["dead-letters:inbound redrive"]).startswith(
        "MonitoringDeadLettersAlarmInboundRedrive"
    )
    assert built.logical_id(built.monitoring.alarms["dead-letters:events on-failure"]).startswith(
        "MonitoringDeadLettersAlarmEventsOnFailure"
    )


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_recovers(built):
    topic = ref(built.logical_id(built.monitoring.alarm_topic))
    for logical_id, alarm in built.of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [topic], logical_id
        assert props["OKActions"] == [topic], logical_id
        assert props.get("ActionsEnabled", True) is True
        assert props["AlarmDescription"].startswith("Two-way SMS: ")


def test_failure_rate_alarm_counts_only_periods_with_enough_final_messages(built):
    alarm = built.alarm("delivery-failure-rate")
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    (expression,) = [m for m in metrics.values() if "Expression" in m]
    assert expression["Expression"] == (
        f"IF((FILL(failed, 0) + FILL(delivered, 0)) >= {MINIMUM_FINAL}, "
        "100 * FILL(failed, 0) / (FILL(failed, 0) + FILL(delivered, 0)), 0)"
    )
    assert expression["ReturnData"] is True
    for metric_id, name in (("failed", metric_names.MESSAGES_FAILED), ("delivered", metric_names.MESSAGES_DELIVERED)):
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"] == {
            "Namespace": "TwoWaySms",
            "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": "two-way-sms"}],
        }
        assert (stat["Stat"], stat["Period"]) == ("Sum", 3600)
        assert metrics[metric_id]["ReturnData"] is False
    assert alarm["Threshold"] == FAILURE_RATE
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


def test_iterator_age_alarm_reads_the_events_function_in_milliseconds(built):
    alarm = built.alarm("iterator-age")
    stat = metric_stat(alarm)
    assert stat["Metric"] == {
        "Namespace": "AWS/Lambda",
        "MetricName": "IteratorAge",
        "Dimensions": [{"Name": "FunctionName", "Value": ref(built.logical_id(built.stand_ins["events"]))}],
    }
    assert (stat["Stat"], stat["Period"]) == ("Maximum", 300)
    assert alarm["Threshold"] == 10 * 60 * 1000
    assert metric_of(alarm)["Label"] == ITERATOR_AGE_LABEL, "the given metric, as given"


def test_outbound_alarms_on_throttling_in_three_consecutive_periods():
    stack = _new_stack()
    monitoring = Monitoring(stack, "Monitoring", dead_letter_queues={}, functions={}, outbound=True)
    resources = Template.from_stack(stack).to_json()["Resources"]
    alarm = resources[stack.resolve(monitoring.alarms["outbound-throttled"].node.default_child.logical_id)]
    stat = metric_stat(alarm["Properties"])
    assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("TwoWaySms", "OutboundThrottled")
    assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
    assert (alarm["Properties"]["EvaluationPeriods"], alarm["Properties"]["DatapointsToAlarm"]) == (3, 3)


def test_spend_alarm_fires_when_this_months_spend_reaches_the_budget(built):
    alarm = built.alarm("monthly-spend")
    stat = metric_stat(alarm)
    assert stat["Metric"] == {
        "Namespace": "TwoWaySms",
        "MetricName": "MonthToDateSpendUSD",
        "Dimensions": [{"Name": "service", "Value": "two-way-sms"}],
    }
    assert (stat["Stat"], stat["Period"]) == ("Maximum", 3600)
    assert alarm["Threshold"] == BUDGET
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_function_error_alarms_fire_on_errors_in_three_consecutive_periods(built):
    for label in ("inbound", "events"):
        alarm = built.alarm(f"function-errors:{label}")
        stat = metric_stat(alarm)
        assert stat["Metric"]["MetricName"] == "Errors"
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "FunctionName", "Value": ref(built.logical_id(built.stand_ins[label]))}
        ]
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
        assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 3, 3)


def test_archive_alarm_fires_when_events_wait_half_an_hour_for_s3(built):
    alarm = built.alarm("archive-freshness")
    stat = metric_stat(alarm)
    assert stat["Metric"] == {
        "Namespace": "AWS/Firehose",
        "MetricName": "DeliveryToS3.DataFreshness",
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": ARCHIVE_STREAM}],
    }
    assert (stat["Stat"], stat["Period"]) == ("Maximum", 300)
    assert alarm["Threshold"] == 1800


def test_without_a_budget_there_is_no_spend_alarm(bare):
    assert "monthly-spend" not in bare.monitoring.alarms
    names = {
        metric_stat(a["Properties"])["Metric"]["MetricName"]
        for a in bare.of_type("AWS::CloudWatch::Alarm").values()
        if "MetricStat" in a["Properties"]["Metrics"][0]
    }
    assert "MonthToDateSpendUSD" not in names


def test_optional_alarms_are_absent_without_their_inputs(bare):
    assert set(bare.monitoring.alarms) == {"dead-letters:inbound", "delivery-failure-rate"}


# -- alarm topic --------------------------------------------------------------------------------
def test_created_alarm_topic_is_encrypted_with_a_key_cloudwatch_alarms_of_this_account_may_use(built):
    topic_id = built.logical_id(built.monitoring.alarm_topic)
    key_id = built.logical_id(built.monitoring.encryption_key)
    assert topic_id.startswith("MonitoringAlarmTopic")
    assert built.resources[topic_id]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = built.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    (statement,) = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}


def test_created_alarm_topic_lets_cloudwatch_publish_over_https_only(built):
    topic = ref(built.logical_id(built.monitoring.alarm_topic))
    (policy,) = [
        p["Properties"] for p in built.of_type("AWS::SNS::TopicPolicy").values() if p["Properties"]["Topics"] == [topic]
    ]
    statements = policy["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    (publish,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert (publish["Effect"], publish["Action"], publish["Resource"]) == ("Allow", "sns:Publish", topic)
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}


def test_a_users_alarm_topic_is_notified_and_no_topic_or_key_is_created(bare):
    assert bare.monitoring.alarm_topic.topic_arn == USER_TOPIC_ARN
    assert bare.of_type("AWS::SNS::Topic") == {}
    assert bare.of_type("AWS::KMS::Key") == {}
    for alarm in bare.of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [USER_TOPIC_ARN]
        assert alarm["Properties"]["OKActions"] == [USER_TOPIC_ARN]


def test_each_alarm_email_is_subscribed_with_a_dead_letter_queue(built):
    topic = ref(built.logical_id(built.monitoring.alarm_topic))
    dead_letters = built.logical_id(built.monitoring.notification_dead_letter_queue)
    subscriptions = [
        s["Properties"]
        for s in built.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(EMAILS)
    for subscription in subscriptions:
        assert subscription["TopicArn"] == topic
        assert subscription["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]}}


def test_notification_dead_letter_queue_is_encrypted_and_sns_may_use_its_key(built):
    queue = built.resources[built.logical_id(built.monitoring.notification_dead_letter_queue)]["Properties"]
    key_id = built.logical_id(built.monitoring.encryption_key)
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    statements = built.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    (sns_statement,) = [s for s in statements if s.get("Principal") == {"Service": "sns.amazonaws.com"}]
    assert set(sns_statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert sns_statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}


def test_no_email_means_no_subscription_and_no_notification_queue(bare):
    assert bare.of_type("AWS::SNS::Subscription") == {}
    assert bare.monitoring.notification_dead_letter_queue is None


# -- dashboard ----------------------------------------------------------------------------------
def test_dashboard_shows_every_custom_metric_the_handlers_emit(built):
    shown = {
        metric[1]
        for widget in dashboard_body(built)["widgets"]
        for metric in widget["properties"].get("metrics", [])
        if isinstance(metric[0], str) and metric[0] == metric_names.NAMESPACE
    }
    assert shown == known_metric_names()
    assert {metric_names.event_type_metric(t) for t in metric_names.TEXT_EVENT_TYPES} <= shown


def test_dashboard_shows_the_aws_metrics_of_every_part(built):
    shown = {
        (metric[0], metric[1])
        for widget in dashboard_body(built)["widgets"]
        for metric in widget["properties"].get("metrics", [])
        if isinstance(metric[0], str)
    }
    assert {
        ("AWS/SNS", "NumberOfMessagesPublished"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Firehose", "DeliveryToS3.DataFreshness"),
        ("AWS/Firehose", "IncomingRecords"),
    } <= shown


def test_dashboard_graphs_every_dead_letter_queue(built):
    (graph,) = [
        w for w in dashboard_body(built)["widgets"] if w["properties"].get("title") == "Messages in dead-letter queues"
    ]
    labels = {metric[-1]["label"] for metric in graph["properties"]["metrics"]}
    assert labels == {"inbound redrive", "events on-failure", "alarm notifications"}


def test_dashboard_opens_with_the_status_of_every_alarm(built):
    widgets = dashboard_body(built)["widgets"]
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(built.monitoring.alarms)
    assert status["y"] < min(w["y"] for w in widgets if w["type"] == "metric")


def test_dashboard_draws_the_budget_on_this_months_spend_and_spend_per_day(built):
    widgets = {w["properties"].get("title"): w for w in dashboard_body(built)["widgets"]}
    month = widgets["Spend this month (USD)"]["properties"]
    assert month["annotations"]["horizontal"][0]["value"] == BUDGET
    assert month["metrics"][0][-1]["stat"] == "Maximum"
    daily = widgets["Spend per day (USD)"]["properties"]
    assert (daily["metrics"][0][1], daily["metrics"][0][-1]["period"]) == ("SpendUSD", 86400)


def test_dashboard_has_a_header_for_each_part(built):
    headers = {
        w["properties"]["markdown"].splitlines()[0] for w in dashboard_body(built)["widgets"] if w["type"] == "text"
    }
    assert {
        "## Inbound",
        "## Opt-outs and opt-ins",
        "## Delivery outcomes",
        "## Spend",
        "## Dead-letter queues",
        "## Delivery-event stream",
        "## Functions",
        "## Event archive",
    } <= headers


def test_dashboard_takes_the_given_name(bare):
    (dashboard,) = bare.of_type("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "two-way-sms-ops"


# -- metrics ------------------------------------------------------------------------------------
def test_metric_returns_the_custom_metric_with_the_service_dimension(built):
    metric = built.monitoring.metric(metric_names.REPLIES_SENT)
    assert (metric.namespace, metric.metric_name, metric.statistic) == ("TwoWaySms", "RepliesSent", "Sum")
    assert metric.dimensions == {"service": "two-way-sms"}
    assert metric.period.to_seconds() == 300


def test_metric_rejects_a_name_the_handlers_do_not_emit(built):
    with pytest.raises(ValueError, match="'RepliesSend' is not one the handlers emit"):
        built.monitoring.metric("RepliesSend")


# -- cdk-nag and cfn-lint -------------------------------------------------------------------------
def test_monitoring_has_no_unacknowledged_finding_from_the_rule_packs(built):
    mine = [f for f in built.findings if f.construct_path.startswith(MONITORING_PATH)]
    assert not [f for f in mine if f.plugin in RULE_PACKS], "\n".join(map(str, mine))


def test_monitoring_has_no_validation_finding_at_all(built):
    """Nothing from CloudFormation's own template validation either (circular references, ...)."""
    mine = [f for f in built.findings if f.construct_path.startswith(MONITORING_PATH)]
    assert not mine, "\n".join(map(str, mine))


def test_template_has_no_cfn_lint_error_or_unexpected_warning(built):
    matches = lint(built.template_text, config=ManualArgs(regions=REGIONS))
    problems = [m for m in matches if m.rule.id.startswith("E") or m.rule.id not in LINT_WARNINGS_OF_THE_STAND_INS]
    assert not problems, "\n".join(f"{m.rule.id} {m.message} at {m.path}" for m in problems)


# -- validation (no synth) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"monthly_budget_usd": 0}, "monthly_budget_usd 0 must be more than 0"),
        ({"monthly_budget_usd": -5.0}, "monthly_budget_usd -5.0 must be more than 0"),
        ({"monthly_budget_usd": float("nan")}, "monthly_budget_usd nan must be more than 0"),
        ({"delivery_failure_rate_percent": 0}, "delivery_failure_rate_percent 0 must be more than 0 and at most 100"),
        ({"delivery_failure_rate_percent": 100.5}, "delivery_failure_rate_percent 100.5 must be more than 0"),
        ({"minimum_final_messages": 0}, "minimum_final_messages 0 must be a whole number of at least 1"),
        ({"minimum_final_messages": 2.5}, "minimum_final_messages 2.5 must be a whole number"),
        (
            {"failure_rate_period": Duration.seconds(90)},
            "failure_rate_period 1 minute 30 seconds must be whole minutes",
        ),
        ({"failure_rate_period": Duration.days(2)}, "failure_rate_period 2 days must be whole minutes, from 1 minute"),
        ({"iterator_age_threshold": Duration.seconds(0)}, "iterator_age_threshold 0 seconds must be longer than zero"),
        ({"archive_freshness_threshold": Duration.minutes(0)}, "archive_freshness_threshold 0 minutes must be longer"),
        ({"alarm_emails": ["not-an-address"]}, "alarm email 'not-an-address' is not an email address"),
        ({"alarm_emails": ["a@example.com", "A@Example.com"]}, "alarm email 'A@Example.com' is listed twice"),
        ({"alarm_emails": "ops@example.com"}, "alarm_emails must be a list of addresses, not the string"),
        ({"dashboard_name": "two way sms"}, "dashboard_name 'two way sms' must be 1-255 letters, digits"),
        ({"dead_letter_queues": {"--": None}}, "dead-letter queue label '--' must contain a letter or digit"),
        (
            {"dead_letter_queues": {"inbound-dlq": None, "inbound dlq": None}},
            "dead-letter queue labels 'inbound-dlq' and 'inbound dlq' give the same construct id 'InboundDlq'",
        ),
        (
            {"dead_letter_queues": {"alarm notifications": None}, "alarm_emails": ["ops@example.com"]},
            "dead-letter queue label 'alarm notifications' is taken",
        ),
        ({"functions": {"": None}}, "function label '' must contain a letter or digit"),
    ],
)
def test_invalid_props_fail_early_with_a_message_naming_the_value(props, message):
    stack = _new_stack()
    props = {"dead_letter_queues": {}, "functions": {}, **props}
    with pytest.raises(ValueError, match=re.escape(message)):
        Monitoring(stack, "Monitoring", **props)
    assert not stack.node.find_child("Monitoring").node.children, "nothing is built before the props are checked"


def test_unresolved_tokens_are_not_validated_and_resolve_at_deploy_time():
    stack = _new_stack()
    budget = cdk.CfnParameter(stack, "Budget", type="Number").value_as_number
    minimum = cdk.CfnParameter(stack, "Minimum", type="Number").value_as_number
    email = cdk.CfnParameter(stack, "Email").value_as_string
    monitoring = Monitoring(
        stack,
        "Monitoring",
        dead_letter_queues={},
        functions={},
        monthly_budget_usd=budget,
        minimum_final_messages=minimum,
        alarm_emails=[email],
    )
    resources = Template.from_stack(stack).to_json()["Resources"]

    def alarm(key: str) -> dict[str, Any]:
        return resources[stack.resolve(monitoring.alarms[key].node.default_child.logical_id)]["Properties"]

    assert alarm("monthly-spend")["Threshold"] == ref("Budget")
    assert "the configured value" in alarm("monthly-spend")["AlarmDescription"]
    (expression,) = [m["Expression"] for m in alarm("delivery-failure-rate")["Metrics"] if "Expression" in m]
    assert {"Ref": "Minimum"} in expression["Fn::Join"][1]
    (subscription,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription["Endpoint"] == ref("Email")


# -- optional dashboard, a given key (issue 15: idle cost) ---------------------------------------
def test_without_the_dashboard_every_alarm_stays_and_no_dashboard_is_built():
    stack = _new_stack()
    queue = sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS_MANAGED)
    monitoring = Monitoring(stack, "Monitoring", dead_letter_queues={"inbound": queue}, functions={}, dashboard=False)
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert monitoring.dashboard is None
    assert not [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == len(monitoring.alarms) and "dead-letters:inbound" in monitoring.alarms


def test_a_dashboard_name_without_a_dashboard_is_refused():
    with pytest.raises(ValueError, match="dashboard_name 'ops' needs dashboard=True"):
        Monitoring(
            _new_stack(), "Monitoring", dead_letter_queues={}, functions={}, dashboard=False, dashboard_name="ops"
        )


def test_a_given_key_encrypts_the_alarm_topic_and_its_email_dead_letters_and_no_key_is_created():
    stack = _new_stack()
    key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    monitoring = Monitoring(
        stack, "Monitoring", dead_letter_queues={}, functions={}, alarm_emails=EMAILS[:1], encryption_key=key
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    key_id = stack.resolve(key.node.default_child.logical_id)
    assert [k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key"] == [key_id]
    assert monitoring.encryption_key is key
    (topic,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::Topic"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (queue,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::Queue"]
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    sids = {s.get("Sid") for s in resources[key_id]["Properties"]["KeyPolicy"]["Statement"]}
    assert {"AllowCloudWatchAlarmsToNotify", "AllowSnsToFillTheDeadLetterQueue"} <= sids
