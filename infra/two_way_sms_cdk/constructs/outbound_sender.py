"""From the outbound queue to SendTextMessage: queue, dead-letter queue, outbound table and the sender."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IValidation

from two_way_sms.outbound.budget import budget_text
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.templates import Template, templates_to_json
from two_way_sms.services.slot_booking import SEND_SPACING_SECONDS
from two_way_sms.settings.sender import SenderFunctionSettings
from two_way_sms_cdk.config.environment_limits import SENDER_SETTINGS_BYTES, settings_size
from two_way_sms_cdk.constructs.conversations import Conversations
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs, grant_key_via_service, new_key
from two_way_sms_cdk.constructs.handler_function import FunctionSizing, handler_function
from two_way_sms_cdk.constructs.message_ledger import MessageLedger
from two_way_sms_cdk.constructs.policies import default_policy
from two_way_sms_cdk.constructs.queues import encrypted_queue
from two_way_sms_cdk.constructs.reply_configuration_set import ReplyConfigurationSet
from two_way_sms_cdk.constructs.tables import TABLE_KEY_READ_ACTIONS, encrypted_table, grant_table_actions
from two_way_sms_cdk.constructs.two_way_number import TwoWayNumber
from two_way_sms_cdk.nag import (
    acknowledge,
    acknowledge_dead_letter_queue,
    acknowledge_sqs_event_source,
    nag_resource_name,
)

MAX_SETTINGS_BYTES = SENDER_SETTINGS_BYTES  # of Lambda's 4 KB (config/environment_limits.py says why)
SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
QUEUE_RETENTION = Duration.days(4)
DEAD_LETTER_RETENTION = Duration.days(14)  # the most SQS keeps a message

# The contacts-table actions the sender calls (two_way_sms.adapters.contacts), and no others.
SENDER_CONTACTS_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# What an application gets on the key to enqueue (SQS's documented producer actions), and to read the table.
_ENQUEUE_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
_READ_TABLE_ACTIONS = (  # CDK's grant_read_data, without the stream actions (the table has no stream)
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
_RELEASE_ENVIRONMENT = ("SCHEDULE_GROUP", "RELEASE_TARGET_ARN", "SCHEDULER_ROLE_ARN", "SCHEDULE_DEAD_LETTER_QUEUE_ARN")


def grant_create_schedules(
    grantee: iam.IGrantable, schedule_group: scheduler.IScheduleGroup, scheduler_role: iam.IRole
) -> iam.Grant:
    """``scheduler:CreateSchedule`` in ``schedule_group`` and passing ``scheduler_role`` to EventBridge Scheduler.

    All a principal needs to schedule a one-off invocation that ``scheduler_role`` carries out.
    The cdk-nag finding of the schedule wildcard is acknowledged on a role of this stack.
    """
    grant = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["scheduler:CreateSchedule"],
        resource_arns=[schedules_arn(schedule_group)],
    )
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[scheduler_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_PRINCIPAL}},
        )
    )
    policy = default_policy(grantee.grant_principal)
    if policy is not None:
        acknowledge(
            policy.node.default_child,
            f"AwsSolutions-IAM5[Resource::{nag_resource_name(Stack.of(policy).resolve(schedules_arn(schedule_group)))}]",
            "Schedule names are made at run time (one per held minute or campaign continuation); the wildcard is "
            "limited to scheduler:CreateSchedule in this stack's one schedule group",
        )
    return grant


def schedules_arn(schedule_group: scheduler.IScheduleGroup) -> str:
    """Every schedule of the group: ``arn:...:scheduler:<region>:<account>:schedule/<group>/*``."""
    return Stack.of(schedule_group).format_arn(
        service="scheduler", resource="schedule", resource_name=f"{schedule_group.schedule_group_name}/*"
    )


class OutboundSender(Construct):
    """Sends what applications and campaigns put on the outbound queue, paced to the number's throughput.

    Builds: the outbound SQS queue (customer-managed key, HTTPS only, 4 days' retention)
    with a redrive dead-letter queue after ``max_receive_count`` failed receives (14 days);
    the outbound DynamoDB table (partition ``pk``, sort ``sk``, strings; TTL on
    ``expires_at``; on demand, point-in-time recovery, deletion protection, retained) that
    holds the throughput schedule, held requests, request outcomes and campaign runs; and
    the sender function on the queue, with partial batch responses.

    For each request the sender checks consent and opt-outs in ``contacts_table``, renders
    the template, holds PROMOTIONAL texts through quiet hours (held requests are written to
    the table and released by a one-off EventBridge Scheduler schedule that invokes the
    release target), books a slot on the number's throughput schedule and sends with
    ``SendTextMessage`` from the number (or pool) through ``configuration_set``, recording
    each send in ``ledger``. Each request is texted at most once: its send is claimed in the
    outbound table before ``SendTextMessage`` and completed after it.

    Concurrency: the event source runs at most ``max_concurrency`` batches at once
    (default: sized from the number's MPS, ``sized_max_concurrency``), and the function
    reserves as many. Pacing is shared across invocations through the outbound table (one
    conditional write per batch on the identity's schedule item) and each invocation sends
    its texts one after another, each at its booked slot, so one invocation sends at most
    about 14 texts a second: a short code needs several at once. More than the MPS needs
    add no throughput: they only hold more messages in flight, pay for more waiting and
    contend on the one schedule item. Two keep one batch sending while the next one books. Slots further ahead than the
    handler's horizon (up to 30 s) are not booked: the request goes back on the queue with
    a delay. The timeout must leave room for that: at least 10 s plus a second per request
    of a batch.

    A request that can never be sent (not JSON, an unsupported number, an unknown field)
    is not retried: the sender puts it in the dead-letter queue at once, as it was, with
    its reason as a message attribute (``DEAD_LETTER_QUEUE_URL``). Every other failed
    record is logged once with its SQS message id and reason.

    The release schedules (``SCHEDULE_GROUP`` and friends) are added with
    ``add_release_schedules``, usually from a ``Campaigns`` construct, which is built
    after this one because it needs the queue and the table; synth fails without them.

    Defaults: 256 MB, 60 s timeout (the queue's visibility timeout is six times that, as
    AWS advises for SQS-triggered functions), batches of 10, 5 receives before the
    dead-letter queue, log retention of one year.

    :param number: the origination identity: the sender sends from it (its ARN becomes
        ``settings.origination_identity``) and is granted ``sms-voice:SendTextMessage`` on
        it and on ``configuration_set`` only.
    :param configuration_set: every text is sent through it, which ties it to its delivery events.
    :param contacts_table: consent, opt-outs and promotional counts: the sender may read items
        (``GetItem``, ``Query``, ``BatchGetItem``) and write them (``PutItem``, ``UpdateItem``),
        nothing else (no scans, no deletes).
    :param ledger: every send is recorded there (status ``SENT``).
    :param settings: throughput (MPS), quiet hours, cost and consent limits. Its
        ``origination_identity`` is replaced by the number's origination ARN. With the
        templates it must fit in ``MAX_SETTINGS_BYTES`` of the function's environment.
    :param templates: message templates by id, for requests that name a ``templateId``.
        Default: none.
    :param encryption_key: encrypts the queues, the table, the log group and the
        function's environment. Default: a new key (yearly rotation, retained).
    :param batch_size: requests per invocation, 1-10. Default: 10.
    :param max_concurrency: concurrent batches (and reserved concurrency), 2-1,000. Default:
        sized from ``settings.mps`` (``sized_max_concurrency``): 2 up to 25 MPS, 8 for a
        100 MPS short code.
    :param max_receive_count: receives before a request goes to the dead-letter queue. Default: 5.
    :param conversations: let requests open conversations of these flows
        (``FLOWS_PARAMETER``, ``CONVERSATIONS_TABLE``, ``CODES_KEY_ID`` when a flow takes a
        one-use code, and ``Conversations.grant_open``). Default: none, requests send
        templates and bodies only.
    :param monthly_budget_usd: the month's SMS budget in US dollars, which stops sends and
        does not only alarm: once the UTC month's counted spend (the ledger's
        ``SPEND#<yyyy-mm>`` total) reaches it, PROMOTIONAL and campaign texts are held (outcome
        ``HELD``, reason ``BUDGET_REACHED``) until the budget is raised or the month turns;
        TRANSACTIONAL texts go on. ``MONTHLY_BUDGET_USD`` of the function. None: no budget.
        Default: 100, as the monitoring's spend alarm.
    :param budget_hard_stop: hold every text once the budget is reached, TRANSACTIONAL ones
        too (reason ``BUDGET_HARD_STOP``). ``BUDGET_HARD_STOP`` of the function. Default: false.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        number: TwoWayNumber,
        configuration_set: ReplyConfigurationSet,
        contacts_table: dynamodb.ITable,
        ledger: MessageLedger,
        settings: SenderSettings,
        templates: Mapping[str, Template] | None = None,
        encryption_key: kms.IKey | None = None,
        memory_size: int = 256,
        timeout: Duration = Duration.seconds(60),
        batch_size: int = 10,
        max_concurrency: int | None = None,
        max_receive_count: int = 5,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        conversations: Conversations | None = None,
        monthly_budget_usd: float | None = 100.0,
        budget_hard_stop: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        budget_environment = _budget_environment(monthly_budget_usd, budget_hard_stop)
        self.monthly_budget_usd, self.budget_hard_stop = monthly_budget_usd, budget_hard_stop
        if max_concurrency is None:
            max_concurrency = sized_max_concurrency(settings.mps)
        self.max_concurrency = max_concurrency
        _check_settings(
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            max_receive_count=max_receive_count,
            memory_size=memory_size,
            timeout=timeout,
        )
        self.settings = dataclasses.replace(settings, origination_identity=number.origination_arn)
        self.templates: dict[str, Template] = dict(templates or {})
        settings_json, templates_json = self.settings.to_json(), templates_to_json(self.templates)
        size = settings_size(settings_json, templates_json)
        if size > MAX_SETTINGS_BYTES:
            raise ValueError(
                f"the sender settings and templates take {size} bytes, more than the {MAX_SETTINGS_BYTES} that fit "
                "in the function's environment (4 KB in all): shorten or remove templates"
            )

        self.encryption_key: kms.IKey = encryption_key or new_key(
            self, "Key", "Encrypts the outbound SMS queues, table and logs"
        )
        allow_cloudwatch_logs(self.encryption_key)

        self.dead_letter_queue = encrypted_queue(
            self, "DeadLetters", encryption_key=self.encryption_key, retention=DEAD_LETTER_RETENTION
        )
        self.queue = encrypted_queue(
            self,
            "Queue",
            encryption_key=self.encryption_key,
            retention=QUEUE_RETENTION,
            # AWS's advice for SQS-triggered functions: at least six times the timeout.
            visibility_timeout=Duration.seconds(timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )
        self.table = encrypted_table(
            self,
            "Table",
            encryption_key=self.encryption_key,
            partition_key="pk",
            sort_key="sk",
            time_to_live_attribute="expires_at",
        )

        # Checked against the handler's contract once complete: add_release_schedules adds the rest.
        self._environment = {
            "OUTBOUND_QUEUE_URL": self.queue.queue_url,
            "OUTBOUND_TABLE": self.table.table_name,
            "CONTACTS_TABLE": contacts_table.table_name,
            "LEDGER_TABLE": ledger.table.table_name,
            "LEDGER_RETENTION_DAYS": str(ledger.retention_days),
            "CONFIGURATION_SET": configuration_set.configuration_set_name,
            "SENDER_SETTINGS": settings_json,
            "TEMPLATES": templates_json,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue.queue_url,  # malformed requests, with their reason
            "MAX_RECEIVE_COUNT": str(max_receive_count),  # failure lines say which receive is the last
            **budget_environment,
            **(conversations.sender_environment() if conversations is not None else {}),
        }
        handler = handler_function(
            self,
            "sender",
            "Sends queued SMS: consent, quiet hours, pacing to the number's throughput, cost checks",
            encryption_key=self.encryption_key,
            environment=self._environment,
            contract=None,  # checked once the release schedules complete it (add_release_schedules)
            sizing=FunctionSizing(memory_size, timeout, max_concurrency, log_retention),
        )
        self._handler = handler
        self.function, self.log_group = handler.function, handler.log_group
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )  # also grants the function the queue's consume actions
        self.event_source_mapping: lambda_.EventSourceMapping = next(
            c for c in self.function.node.children if isinstance(c, lambda_.EventSourceMapping)
        )
        self.queue.grant_send_messages(self.function)  # deferrals: back on the queue with a delay
        self.dead_letter_queue.grant_send_messages(self.function)  # malformed requests, parked with their reason
        self.table.grant_read_write_data(self.function)
        # What two_way_sms.adapters.contacts does for the sender: contact_state (Query), contact_states
        # (BatchGetItem), record_promotional_send (GetItem, PutItem), record_consent (PutItem, UpdateItem).
        grant_table_actions(contacts_table, self.function, SENDER_CONTACTS_ACTIONS, write=True)
        ledger.grant_record(self.function)
        if conversations is not None:
            conversations.grant_open(self.function)
        number.grant_send(self.function, *configuration_set.send_resource_arns)
        handler.acknowledge_findings(
            key_scope="this construct's CMK and the keys of the contacts, ledger and conversations tables",
            invoked_by="an SQS event source mapping; failed messages go to the queue's redrive dead-letter queue",
            calls="SQS, DynamoDB, End User Messaging, EventBridge Scheduler"
            + (", Systems Manager, KMS" if conversations else ""),
        )
        self._acknowledge_findings()
        self._release_target: lambda_.IFunction | None = None
        self.node.add_validation(_ReleaseSchedulesAdded(self))

    def add_release_schedules(
        self,
        *,
        target: lambda_.IFunction,
        schedule_group: scheduler.IScheduleGroup,
        scheduler_role: iam.IRole,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        """How held requests come back: a one-off schedule in ``schedule_group`` invokes ``target``.

        Sets the sender's ``SCHEDULE_GROUP``, ``RELEASE_TARGET_ARN``, ``SCHEDULER_ROLE_ARN`` and
        ``SCHEDULE_DEAD_LETTER_QUEUE_ARN`` and lets it create schedules in the group that
        ``scheduler_role`` carries out (it must be allowed to invoke ``target`` and to send to
        ``dead_letter_queue``). Once only.
        """
        if self._release_target is not None:
            raise ValueError(
                f"the release schedules of {self.node.path} are set already (to {self._release_target.node.path})"
            )
        release = dict(
            zip(
                _RELEASE_ENVIRONMENT,
                (
                    schedule_group.schedule_group_name,
                    target.function_arn,
                    scheduler_role.role_arn,
                    dead_letter_queue.queue_arn,
                ),
            )
        )
        # What the handler reads when it is wired: the same contract, on the complete environment.
        SenderFunctionSettings.from_environment({**self._environment, **release})
        self._release_target = target
        for name, value in release.items():
            self.function.add_environment(name, value)
        grant_create_schedules(self.function, schedule_group, scheduler_role)

    def _acknowledge_findings(self) -> None:
        acknowledge_sqs_event_source(self.event_source_mapping)
        acknowledge_dead_letter_queue(self.dead_letter_queue)

    # -- grants -------------------------------------------------------------------------------
    def grant_enqueue(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put send requests on the outbound queue (``sqs:SendMessage``), and the key's data-key
        actions only through SQS: the key may encrypt other stores too (``TwoWaySms``'s data key)."""
        grant = self.queue.grant(grantee, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
        return grant.combine(grant_key_via_service(self.encryption_key, grantee, _ENQUEUE_KEY_ACTIONS, service="sqs"))

    def grant_read_outcomes(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the outbound table (request outcomes and campaign run counters), and decrypt only
        through DynamoDB."""
        grant = self.table.grant(grantee, *_READ_TABLE_ACTIONS)
        return grant.combine(
            grant_key_via_service(self.encryption_key, grantee, TABLE_KEY_READ_ACTIONS, service="dynamodb")
        )

    # -- metrics ------------------------------------------------------------------------------
    def metric_backlog(self, **kwargs: Any) -> cloudwatch.Metric:
        """Requests waiting on the outbound queue (ApproximateNumberOfMessagesVisible, Maximum)."""
        return self.queue.metric_approximate_number_of_messages_visible(**{"statistic": "Maximum", **kwargs})

    def metric_oldest_request_age(self, **kwargs: Any) -> cloudwatch.Metric:
        """Age in seconds of the oldest request on the queue (Maximum): rising means sends fall behind."""
        return self.queue.metric_approximate_age_of_oldest_message(**{"statistic": "Maximum", **kwargs})

    def metric_dead_letters(self, **kwargs: Any) -> cloudwatch.Metric:
        """Requests in the dead-letter queue (Maximum): each one failed every receive."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            **{"statistic": "Maximum", **kwargs}
        )


@jsii.implements(IValidation)
class _ReleaseSchedulesAdded:
    def __init__(self, sender: OutboundSender) -> None:
        self.sender = sender

    def validate(self) -> list[str]:
        if self.sender._release_target is None:
            return [
                f"{self.sender.node.path} has no release schedules: call add_release_schedules (held requests "
                "would never be released)"
            ]
        return []


def _budget_environment(monthly_budget_usd: float | None, hard_stop: bool) -> dict[str, str]:
    """``MONTHLY_BUDGET_USD`` and ``BUDGET_HARD_STOP`` for the sender; fails early naming a bad value."""
    if not isinstance(hard_stop, bool):
        raise ValueError(f"budget_hard_stop {hard_stop!r} must be true or false")
    if monthly_budget_usd is None:
        if hard_stop:
            raise ValueError("budget_hard_stop needs a monthly_budget_usd to stop at (it is None)")
        return {}
    text = budget_text(monthly_budget_usd)  # first: a non-finite number must not reach jsii (JSON has no Infinity)
    if Token.is_unresolved(monthly_budget_usd):
        raise ValueError("monthly_budget_usd must be a number known at synth: the sender gets it in its environment")
    return {"MONTHLY_BUDGET_USD": text, "BUDGET_HARD_STOP": "true" if hard_stop else "false"}


# Concurrent batches that keep a number fed: one invocation sends a text at most every
# SEND_SPACING_SECONDS (70 ms: its own slots are booked that far apart, above the 52 ms
# critical path per text bench/sender_throughput.py measures with DynamoDB 5 ms and
# SendTextMessage 40 ms, a margin for slower calls), and spends about a tenth of its time receiving and booking
# batches, so ceil(mps x 0.07 / 0.9) at once hold the MPS; at least 2 (SQS's least), at
# most 1,000 (SQS's maximum concurrency).
BUSY_SHARE = 0.9


def sized_max_concurrency(mps: float) -> int:
    """Concurrent sender batches for a number of ``mps`` parts per second: ceil(mps x 0.07 / 0.9), 2-1,000."""
    return min(1000, max(2, math.ceil(round(mps * SEND_SPACING_SECONDS / BUSY_SHARE, 9))))


def _least_timeout_seconds(batch_size: int) -> int:
    # As the handler budgets it (services/send_requests.py: SEND_MARGIN_SECONDS, SECONDS_PER_SEND): with
    # less, every batch would be deferred for lack of time, over and over.
    return 5 + batch_size + 5


def _check_settings(
    *, batch_size: int, max_concurrency: int, max_receive_count: int, memory_size: int, timeout: Duration
) -> None:
    """Fails early, naming the bad value; unresolved tokens are left to CloudFormation."""

    def check_range(name: str, value: int, low: int, high: int, why: str = "") -> None:
        if not Token.is_unresolved(value) and not low <= value <= high:
            raise ValueError(f"{name} {value} must be {low:,}-{high:,}{why}")

    check_range("batch_size", batch_size, 1, 10, " (an SQS batch without a batching window)")
    check_range(
        "max_concurrency", max_concurrency, 2, 1000, " (the range of an SQS event source's maximum concurrency)"
    )
    check_range("max_receive_count", max_receive_count, 1, 1000)
    check_range("memory_size", memory_size, 128, 10_240)
    if not timeout.is_unresolved() and not 1 <= timeout.to_seconds() <= 900:
        raise ValueError(f"timeout {timeout.to_human_string()} must be 1 second to 15 minutes")
    if (
        not timeout.is_unresolved()
        and not Token.is_unresolved(batch_size)
        and timeout.to_seconds() < _least_timeout_seconds(batch_size)
    ):
        raise ValueError(
            f"timeout {timeout.to_human_string()} must be at least {_least_timeout_seconds(batch_size)} "
            f"seconds for batches of {batch_size}: the sender keeps 5 s back, a second for each send's "
            "bookkeeping, and at least 5 s to wait for the batch's slots"
        )
    if not timeout.is_unresolved() and timeout.to_seconds() * 6 > 43_200:
        raise ValueError(
            f"timeout {timeout.to_human_string()} is too long: the queue's visibility timeout "
            "(six times it) would exceed SQS's 12 hours"
        )
