"""Alarms and (optionally) one dashboard for the whole two-way SMS system, from the metrics it already emits."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from two_way_sms import metric_names
from two_way_sms_cdk.constructs.encryption import new_key
from two_way_sms_cdk.constructs.monitoring_dashboard import (
    DEAD_LETTER_PERIOD,
    GRAPH_PERIOD,
    SPEND_PERIOD,
    DashboardLayout,
)
from two_way_sms_cdk.constructs.policies import regional_arn, source_conditions
from two_way_sms_cdk.constructs.queues import encrypted_queue
from two_way_sms_cdk.nag import acknowledge, acknowledge_dead_letter_queue

CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
SNS_PRINCIPAL = "sns.amazonaws.com"

# Fixed alarm settings, documented on ``Monitoring``.
FUNCTION_ERROR_PERIOD = Duration.minutes(5)
FUNCTION_ERROR_PERIODS = 3  # a function failing in 3 consecutive 5-minute periods, not a single blip
THROTTLING_PERIOD = Duration.minutes(5)
THROTTLING_PERIODS = 3  # throttled in 3 consecutive 5-minute periods: the pacing is set too fast
NOTIFICATIONS_LABEL = "alarm notifications"  # the dead-letter queue of the email subscriptions


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def known_metric_names() -> frozenset[str]:
    """Every custom metric the handlers emit, as ``metric_names`` names them."""
    names = {
        value
        for key, value in vars(metric_names).items()
        if key.isupper() and isinstance(value, str) and key not in ("NAMESPACE", "SERVICE")
    }
    names |= {
        name
        for key, value in vars(metric_names).items()
        if key.isupper() and isinstance(value, Mapping)
        for name in value.values()
    }  # INBOUND_BY_INTENT, OUTBOUND_REFUSED_BY_REASON
    names |= {metric_names.event_type_metric(t) for t in metric_names.TEXT_EVENT_TYPES}
    return frozenset(names)


def _id_part(label: str) -> str:
    """``inbound-redrive`` -> ``InboundRedrive``: the part of a construct id a label gives."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", label) if part)


def _check_labels(kind: str, labels: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for label in labels:
        part = _id_part(label) if isinstance(label, str) else ""
        if not part:
            raise ValueError(f"{kind} label {label!r} must contain a letter or digit (it names the alarm)")
        if part in seen:
            raise ValueError(f"{kind} labels {seen[part]!r} and {label!r} give the same construct id {part!r}")
        seen[part] = label


def _unresolved(value: object) -> bool:
    """A token CDK resolves later. NaN and infinities never are (and jsii cannot even pass them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return Token.is_unresolved(value)


def _shown(value: float, template: str) -> str:
    """A number for a description; a token's value is known at deploy time only."""
    return "the configured value" if _unresolved(value) else template.format(value)


def _positive_duration(name: str, value: Duration) -> None:
    if not Token.is_unresolved(value.to_string()) and value.to_seconds() <= 0:
        raise ValueError(f"{name} {value.to_human_string()} must be longer than zero")


class Monitoring(Construct):
    """Alarms on what needs a person, and a dashboard of the whole two-way SMS system.

    It takes the AWS metrics it watches from their owners: the queues' and functions' own
    ``metric_*`` methods, and metrics the components give (``DeliveryEvents.metric_iterator_age``,
    ``EventArchive.metric_data_freshness``, ``EncryptedInboundTopic.metric_published``, ...), or
    any ``IMetric`` of your own. Those are alarmed and graphed as given: their statistic,
    period and label are the alarm's. The custom metrics the handlers emit it builds itself.

    Alarms (each notifies ``alarm_topic`` when it fires *and* when it recovers; missing
    data never fires one, since a quiet system emits no data):

    - ``dead-letters:<label>``, one per queue of ``dead_letter_queues``: a message is
      waiting (ApproximateNumberOfMessagesVisible, Maximum, ≥ 1 over 5 minutes). Each
      one is an inbound text nobody answered, a delivery event nobody recorded, an
      outbound request never sent or a campaign step that never ran.
    - ``function-errors:<label>``, one per function of ``functions`` unless
      ``alarm_on_function_errors`` is false: the function failed (Errors ≥ 1) in each
      of three consecutive 5-minute periods, i.e. it keeps failing, not a single retry.
      Errors counts invocations that failed as a whole (exception, timeout, crash), not
      records a handler reported as partial batch failures.
    - ``delivery-failure-rate``: ``100 × failed / (failed + delivered)`` of the messages
      that reached a final status in ``failure_rate_period`` (1 hour) is at or above
      ``delivery_failure_rate_percent`` (10 %), counted only once at least
      ``minimum_final_messages`` (20) messages reached a final status in the period, so
      one failed text on a quiet day pages nobody.
    - ``iterator-age``, when ``iterator_age`` is given: the oldest delivery event the
      events function read (``TwoWaySms`` gives IteratorAge, Maximum over 5 minutes) is at
      least ``iterator_age_threshold`` (15 minutes) old: the events function is falling behind.
    - ``monthly-spend``, unless ``monthly_budget_usd`` is None: the spend of this UTC
      month (MonthToDateSpendUSD, Maximum over 1 hour) reached the budget (100 USD).
    - ``outbound-throttled``, when ``outbound`` is true: End User Messaging
      throttled the sender (OutboundThrottled ≥ 1) in each of three consecutive 5-minute
      periods. The sender paces itself to the configured MPS, so sustained throttling
      means that MPS is above the number's real throughput: lower ``outbound.mps``.
    - ``archive-freshness``, when ``archive_freshness`` is given: the oldest event not yet
      in S3 (``TwoWaySms`` gives DeliveryToS3.DataFreshness, Maximum over 5 minutes) is at least
      ``archive_freshness_threshold`` (30 minutes) old. Firehose buffers for at most 15
      minutes, so twice that means delivery to S3 is failing.

    With no ``alarm_topic``, a topic ``AlarmTopic`` is created: encrypted with
    ``encryption_key`` (default: a new customer-managed key, yearly rotation, kept when the
    stack is deleted), whose policy gets a statement that lets CloudWatch alarms of this
    account and region use it, a topic policy that lets them publish, HTTPS-only. Each
    address of ``alarm_emails`` (none by default) is subscribed to the alarm topic (SNS
    sends it a confirmation email) with a dead-letter queue, encrypted with that key, for
    notifications SNS could not deliver; that queue is alarmed too (``dead-letters:alarm
    notifications``).

    The dashboard (unless ``dashboard`` is false: it costs $3 a month, and the alarms do
    not need it; name generated unless ``dashboard_name``; opens on the last day, each
    graph keeping its own period) shows, under the status of every alarm: inbound
    volume, replies, opt-outs and opt-ins, outbound sends (sent, held, deferred, throttled,
    refused by reason) and campaigns, delivery outcomes and the failure rate, spend
    per day and this month's spend against the budget (the last 31 days), the depth of
    every dead-letter queue, the stream's iterator age, each function's invocations,
    errors, throttles and duration, the archive's records and freshness, and malformed
    inputs. A row or graph of an AWS metric not given is left out.

    The custom metrics are those of ``two_way_sms.metric_names`` (namespace
    ``TwoWaySms``, dimension ``service = two-way-sms``); ``metric`` returns any of them.

    :param dead_letter_queues: label → queue; the label names the alarm and its construct
        id (renaming a label replaces that alarm).
    :param functions: label → function, for the dashboard and the error alarms.
    :param iterator_age: how far the delivery-event stream's reader lags, in milliseconds
        (``DeliveryEvents.metric_iterator_age``): the ``iterator-age`` alarm and graph.
    :param archive_freshness: age of the oldest event not yet archived, in seconds
        (``EventArchive.metric_data_freshness``): the ``archive-freshness`` alarm and graph.
    :param archive_records: graphed as the archive's records (``EventArchive.metric_incoming_records``,
        ``metric_records_delivered``).
    :param inbound_topic_metrics: graphed with the inbound volume, before the texts by
        intent (``EncryptedInboundTopic.metric_published``, ``metric_deliveries_failed``).
    :param outbound: the system sends outbound texts (the handlers emit OutboundThrottled):
        alarm on sustained throttling (``outbound-throttled``). Default: False.
    :param conversations: the functions run conversation flows: alarm when one refuses the
        flows parameter because it no longer holds what the stack deployed
        (``flows-not-as-deployed``). Default: False.
    :param alarm_topic: notify this topic instead of creating one. Its policy (and its
        key's, if encrypted) must let ``cloudwatch.amazonaws.com`` publish.
    :param encryption_key: encrypts the new alarm topic and the email dead-letter queue
        (``TwoWaySms`` gives its data key). The CloudWatch and SNS statements are added to its
        policy when it is a ``kms.Key`` of this app; an imported key's policy must already
        allow them. Default: a new key (one more dollar a month).
    :param dashboard: build the dashboard (``dashboard`` attribute, else None). Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        functions: Mapping[str, lambda_.IFunction],
        iterator_age: cloudwatch.IMetric | None = None,
        archive_freshness: cloudwatch.IMetric | None = None,
        archive_records: Sequence[cloudwatch.IMetric] = (),
        inbound_topic_metrics: Sequence[cloudwatch.IMetric] = (),
        outbound: bool = False,
        conversations: bool = False,
        alarm_topic: sns.ITopic | None = None,
        alarm_emails: Sequence[str] = (),
        monthly_budget_usd: float | None = 100.0,
        delivery_failure_rate_percent: float = 10.0,
        failure_rate_period: Duration = Duration.hours(1),
        minimum_final_messages: int = 20,
        iterator_age_threshold: Duration = Duration.minutes(15),
        archive_freshness_threshold: Duration = Duration.minutes(30),
        alarm_on_function_errors: bool = True,
        dashboard_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        dashboard: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        _validate(
            dead_letter_queues=dead_letter_queues,
            functions=functions,
            alarm_emails=alarm_emails,
            monthly_budget_usd=monthly_budget_usd,
            delivery_failure_rate_percent=delivery_failure_rate_percent,
            failure_rate_period=failure_rate_period,
            minimum_final_messages=minimum_final_messages,
            iterator_age_threshold=iterator_age_threshold,
            archive_freshness_threshold=archive_freshness_threshold,
            dashboard_name=dashboard_name,
        )
        if dashboard_name is not None and not dashboard:
            raise ValueError(f"dashboard_name {dashboard_name!r} needs dashboard=True (there is no dashboard to name)")
        self.monthly_budget_usd = monthly_budget_usd
        self.delivery_failure_rate_percent = delivery_failure_rate_percent
        self.failure_rate_period = failure_rate_period
        self.minimum_final_messages = minimum_final_messages
        self.iterator_age_threshold = iterator_age_threshold
        self.archive_freshness_threshold = archive_freshness_threshold

        self.encryption_key: kms.IKey | None = encryption_key
        self.alarm_topic: sns.ITopic = alarm_topic or self._new_alarm_topic()
        self.notification_dead_letter_queue: sqs.Queue | None = None
        if alarm_emails:
            self.notification_dead_letter_queue = self._subscribe_emails(alarm_emails)
        self.dead_letter_queues: dict[str, sqs.IQueue] = dict(dead_letter_queues)
        if self.notification_dead_letter_queue is not None:
            self.dead_letter_queues[NOTIFICATIONS_LABEL] = self.notification_dead_letter_queue
        self.functions = dict(functions)
        self.iterator_age = iterator_age
        self.archive_freshness = archive_freshness
        self.archive_records = list(archive_records)
        self.inbound_topic_metrics = list(inbound_topic_metrics)

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm_dead_letters()
        if alarm_on_function_errors:
            self._alarm_function_errors()
        self._alarm(
            "delivery-failure-rate",
            "DeliveryFailureRateAlarm",
            metric=self.metric_delivery_failure_rate(),
            threshold=delivery_failure_rate_percent,
            description=(
                f"{_shown(delivery_failure_rate_percent, '{:g}%')} or more of the texts that "
                f"reached a final status in {failure_rate_period.to_human_string()} failed "
                f"(counted once at least {_shown(minimum_final_messages, '{:g}')} did). Look at "
                "the delivery outcomes on the dashboard: carrier blocking, spam filtering, "
                "unreachable or invalid numbers."
            ),
        )
        if iterator_age is not None:
            self._alarm(
                "iterator-age",
                "IteratorAgeAlarm",
                metric=iterator_age,
                threshold=iterator_age_threshold.to_milliseconds(),
                description=(
                    f"The delivery-event stream's oldest unread event is at least "
                    f"{iterator_age_threshold.to_human_string()} old: the events function is "
                    "failing or falling behind, and the message ledger is out of date."
                ),
            )
        if outbound:
            minutes = int(THROTTLING_PERIOD.to_minutes())
            self._alarm(
                "outbound-throttled",
                "OutboundThrottledAlarm",
                metric=self.metric(
                    metric_names.OUTBOUND_THROTTLED, period=THROTTLING_PERIOD, label="Outbound sends throttled"
                ),
                threshold=1,
                evaluation_periods=THROTTLING_PERIODS,
                description=(
                    f"End User Messaging throttled outbound sends in {THROTTLING_PERIODS} "
                    f"consecutive {minutes}-minute periods. The sender paces itself to the "
                    "configured MPS, so that MPS is above the number's real throughput: lower "
                    "outbound.mps (or raise the number's throughput quota)."
                ),
            )
        if monthly_budget_usd is not None:
            self._alarm(
                "monthly-spend",
                "MonthlySpendAlarm",
                metric=self.metric(
                    metric_names.MONTH_TO_DATE_SPEND_USD,
                    statistic="Maximum",
                    period=SPEND_PERIOD,
                    label="Spend this month (USD)",
                ),
                threshold=monthly_budget_usd,
                description=(
                    f"SMS spend this UTC month reached the budget of "
                    f"{_shown(monthly_budget_usd, '{:g} USD')} "
                    "(price and carrier fees of the messages that reached a final status)."
                ),
            )
        if conversations:
            self._alarm(
                "flows-not-as-deployed",
                "FlowsNotAsDeployedAlarm",
                metric=self.metric(metric_names.FLOWS_NOT_AS_DEPLOYED, label="Flows refused"),
                threshold=1,
                description=(
                    "A function refused the conversation flows parameter: it no longer holds "
                    "what the stack deployed (changed by hand, or by someone with "
                    "ssm:PutParameter). Conversation messages fail and go to the dead-letter "
                    "queues until the parameter is restored by a deploy."
                ),
            )
        if archive_freshness is not None:
            self._alarm(
                "archive-freshness",
                "ArchiveFreshnessAlarm",
                metric=archive_freshness,
                threshold=archive_freshness_threshold.to_seconds(),
                description=(
                    f"Delivery events waited {archive_freshness_threshold.to_human_string()} or "
                    "more to reach the S3 archive: Firehose cannot deliver to the bucket."
                ),
            )

        self.dashboard: cloudwatch.Dashboard | None = None
        if dashboard:
            self.dashboard = cloudwatch.Dashboard(
                self,
                "Dashboard",
                dashboard_name=dashboard_name,
                default_interval=Duration.days(1),
                # Each graph keeps its own period: spend stays per day whatever the time range.
                period_override=cloudwatch.PeriodOverride.INHERIT,
            )
            for row in DashboardLayout(self).rows():
                self.dashboard.add_widgets(*row)

    # -- metrics ------------------------------------------------------------------------------
    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration = GRAPH_PERIOD,
        label: str | None = None,
        **kwargs,
    ) -> cloudwatch.Metric:
        """One of the custom metrics the handlers emit (a ``two_way_sms.metric_names`` name).

        Defaults: the Sum over 5 minutes, labelled with the metric's name.
        """
        if metric_name not in known_metric_names():
            raise ValueError(f"metric {metric_name!r} is not one the handlers emit (see two_way_sms.metric_names)")
        return cloudwatch.Metric(
            namespace=metric_names.NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"service": metric_names.SERVICE},
            statistic=statistic,
            period=period,
            label=label or metric_name,
            **kwargs,
        )

    def metric_delivery_failure_rate(self, **kwargs) -> cloudwatch.MathExpression:
        """Percent of the texts with a final status in ``failure_rate_period`` that failed.

        0 while fewer than ``minimum_final_messages`` reached a final status in the period.
        """
        minimum = self.minimum_final_messages
        minimum = Token.as_string(minimum) if _unresolved(minimum) else f"{minimum:g}"
        final = "(FILL(failed, 0) + FILL(delivered, 0))"
        options = {"label": "Delivery failure rate (%)", "period": self.failure_rate_period, **kwargs}
        return cloudwatch.MathExpression(
            expression=f"IF({final} >= {minimum}, 100 * FILL(failed, 0) / {final}, 0)",
            using_metrics={
                "failed": self.metric(metric_names.MESSAGES_FAILED, period=self.failure_rate_period),
                "delivered": self.metric(metric_names.MESSAGES_DELIVERED, period=self.failure_rate_period),
            },
            **options,
        )

    # -- alarm topic --------------------------------------------------------------------------
    def _key(self) -> kms.IKey:
        if self.encryption_key is None:
            self.encryption_key = new_key(self, "Key", "Encrypts the two-way SMS alarm notifications")
        return self.encryption_key

    def _new_alarm_topic(self) -> sns.Topic:
        key = self._key()
        # Confused-deputy guard: only the CloudWatch alarms of this account and region.
        conditions = source_conditions(regional_arn("cloudwatch", "alarm:*"))
        key.add_to_resource_policy(  # a no-op for an imported key
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToNotify",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
                conditions=conditions,
            )
        )
        topic = sns.Topic(self, "AlarmTopic", display_name="Two-way SMS alarms", master_key=key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=conditions,
            )
        )
        return topic

    def _subscribe_emails(self, emails: Sequence[str]) -> sqs.Queue:
        key = self._key()
        dead_letters = encrypted_queue(self, "NotificationDeadLetters", encryption_key=key, retention=Duration.days(14))
        # SNS encrypts what it moves to the encrypted dead-letter queue with this key. The
        # condition names topics of this account and region, not the alarm topic's ARN: that
        # topic is encrypted with this key, and the key policy naming it would be circular.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSnsToFillTheDeadLetterQueue",
                principals=[iam.ServicePrincipal(SNS_PRINCIPAL)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=source_conditions(regional_arn("sns", "*")),
            )
        )
        for index, email in enumerate(emails):
            sns.Subscription(
                # Keyed by address: adding or removing one never re-creates (and unconfirms) another.
                self,
                f"Email{index}" if Token.is_unresolved(email) else f"Email-{email}",
                topic=self.alarm_topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=email,
                dead_letter_queue=dead_letters,
            )
        resource = dead_letters.node.default_child
        acknowledge_dead_letter_queue(
            dead_letters,
            "This queue is itself a dead-letter queue (of the alarm emails); it is alarmed and its messages "
            "are read by hand",
        )
        acknowledge(
            resource,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the alarm topic's email subscriptions (their RedrivePolicy)",
        )
        return dead_letters

    # -- alarms -------------------------------------------------------------------------------
    def _alarm(
        self,
        key: str,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Two-way SMS: {description}",
        )
        action = cloudwatch_actions.SnsAction(self.alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[key] = alarm
        return alarm

    def _alarm_dead_letters(self) -> None:
        for label, queue in self.dead_letter_queues.items():
            self._alarm(
                f"dead-letters:{label}",
                f"DeadLettersAlarm{_id_part(label)}",
                metric=queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=DEAD_LETTER_PERIOD, label=f"{label} dead letters"
                ),
                threshold=1,
                description=(
                    f"Messages are waiting in the {label} dead-letter queue: each failed every retry. "
                    "Find the cause in the logs, fix it, then redrive the queue."
                ),
            )

    def _alarm_function_errors(self) -> None:
        minutes = int(FUNCTION_ERROR_PERIOD.to_minutes())
        for label, function in self.functions.items():
            self._alarm(
                f"function-errors:{label}",
                f"FunctionErrorsAlarm{_id_part(label)}",
                metric=function.metric_errors(statistic="Sum", period=FUNCTION_ERROR_PERIOD, label=f"{label} errors"),
                threshold=1,
                evaluation_periods=FUNCTION_ERROR_PERIODS,
                description=(
                    f"The {label} function failed in {FUNCTION_ERROR_PERIODS} consecutive "
                    f"{minutes}-minute periods: it keeps failing, see its logs."
                ),
            )


def _validate(
    *,
    dead_letter_queues: Mapping[str, sqs.IQueue],
    functions: Mapping[str, lambda_.IFunction],
    alarm_emails: Sequence[str],
    monthly_budget_usd: float | None,
    delivery_failure_rate_percent: float,
    failure_rate_period: Duration,
    minimum_final_messages: int,
    iterator_age_threshold: Duration,
    archive_freshness_threshold: Duration,
    dashboard_name: str | None,
) -> None:
    _check_labels("dead-letter queue", list(dead_letter_queues))
    if NOTIFICATIONS_LABEL in dead_letter_queues and alarm_emails:
        raise ValueError(f"dead-letter queue label {NOTIFICATIONS_LABEL!r} is taken by the alarm emails' own queue")
    _check_labels("function", list(functions))

    if isinstance(alarm_emails, str):
        raise ValueError(f"alarm_emails must be a list of addresses, not the string {alarm_emails!r}")
    seen: set[str] = set()
    for email in alarm_emails:
        if Token.is_unresolved(email):
            continue
        if not _EMAIL.match(email):
            raise ValueError(f"alarm email {email!r} is not an email address")
        if email.lower() in seen:
            raise ValueError(f"alarm email {email!r} is listed twice")
        seen.add(email.lower())

    if monthly_budget_usd is not None and not _unresolved(monthly_budget_usd):
        if not math.isfinite(monthly_budget_usd) or monthly_budget_usd <= 0:
            raise ValueError(f"monthly_budget_usd {monthly_budget_usd} must be more than 0 (or None for no alarm)")
    if not _unresolved(delivery_failure_rate_percent) and not 0 < delivery_failure_rate_percent <= 100:
        raise ValueError(
            f"delivery_failure_rate_percent {delivery_failure_rate_percent} must be more than 0 and at most 100"
        )
    if not _unresolved(minimum_final_messages) and (
        isinstance(minimum_final_messages, bool)
        or not isinstance(minimum_final_messages, (int, float))
        or not float(minimum_final_messages).is_integer()
        or minimum_final_messages < 1
    ):
        raise ValueError(f"minimum_final_messages {minimum_final_messages} must be a whole number of at least 1")

    if not Token.is_unresolved(failure_rate_period.to_string()):
        seconds = failure_rate_period.to_seconds()
        if seconds <= 0 or seconds % 60 or seconds > 86400:
            raise ValueError(
                f"failure_rate_period {failure_rate_period.to_human_string()} must be whole minutes, "
                "from 1 minute to 1 day (a CloudWatch alarm period)"
            )
    _positive_duration("iterator_age_threshold", iterator_age_threshold)
    _positive_duration("archive_freshness_threshold", archive_freshness_threshold)

    if (
        dashboard_name is not None
        and not Token.is_unresolved(dashboard_name)
        and not _DASHBOARD_NAME.match(dashboard_name)
    ):
        raise ValueError(f"dashboard_name {dashboard_name!r} must be 1-255 letters, digits, '-' or '_'")
