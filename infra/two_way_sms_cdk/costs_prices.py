"""List prices for the idle-cost table (``two_way_sms_cdk.costs``): US East (N. Virginia), US dollars.

AN ESTIMATE, NOT A QUOTE. Each price names where it was read and when, and how sure it is:

- ``official``: the figure was read on AWS's own pricing page;
- ``secondary``: AWS's page was found but its figure was not in the stored text; the figure
  comes from a third-party page that quotes AWS's (named in ``source``);
- ``unverified``: no figure found on AWS's page or a page quoting it; a commonly cited one.

Read on 2026-12-05 through the project's document search (AWS pricing pages and pages
quoting them). Check the pages before relying on a figure: prices change, and free tiers
are per account (a stack shares them with everything else in the account).

A month here is 730 hours (AWS's own convention for monthly estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

READ_ON = "2026-12-05"
REGION = "us-east-1"
HOURS_PER_MONTH = Decimal(730)

OFFICIAL, SECONDARY, UNVERIFIED = "official", "secondary", "unverified"


@dataclass(frozen=True)
class Price:
    """One unit's monthly list price (``usd``), where it was read (``source``, on ``READ_ON``) and how sure it is."""

    usd: Decimal
    unit: str  # what one unit is: "key", "shard", "alarm metric", ...
    source: str
    status: str  # OFFICIAL, SECONDARY or UNVERIFIED
    note: str = ""


# -- KMS -------------------------------------------------------------------------------------------------
KMS_PRICING = "https://aws.amazon.com/kms/pricing/"
KMS_KEY = Price(
    Decimal("1.00"),
    "key",
    KMS_PRICING,
    OFFICIAL,
    "each KMS key costs $1/month (prorated hourly), symmetric, asymmetric or HMAC alike",
)
# "If you enable automatic key rotation, each newly generated backing key costs an additional $1/month"
# (the official page); the cap at the second rotation (May 2024) is from a secondary source.
KMS_ROTATION = Price(
    Decimal("1.00"),
    "rotation",
    f"{KMS_PRICING}; cap: https://cloudburn.io/blog/aws-kms-pricing (May 2024 update)",
    SECONDARY,
    "a key with rotation on costs $1 more after each yearly rotation, for the first two only: $3 from year 3",
)
KMS_ROTATIONS_BILLED = 2

# -- Kinesis Data Streams ----------------------------------------------------------------------------------
KINESIS_PRICING = "https://aws.amazon.com/kinesis/data-streams/pricing/"
KINESIS_SOURCE = (
    f"{KINESIS_PRICING} (figures quoted by https://www.trek10.com/blog/"
    "amazon-kinesis-data-streams-on-demand-vs.-provisioned-billing-mode-cost-comparison, us-east-1)"
)
KINESIS_SHARD_HOUR = Price(Decimal("0.015"), "shard-hour", KINESIS_SOURCE, SECONDARY, "PROVISIONED mode")
KINESIS_STREAM_HOUR = Price(
    Decimal("0.04"), "stream-hour", KINESIS_SOURCE, SECONDARY, "ON_DEMAND mode, plus $0.08 per GB written"
)

# -- CloudWatch ------------------------------------------------------------------------------------------
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"
CLOUDWATCH_UNIT_SOURCE = (
    f"{CLOUDWATCH_PRICING} (free tier read there; unit prices quoted by "
    "https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm)"
)
ALARM_METRIC = Price(
    Decimal("0.10"),
    "alarm metric",
    CLOUDWATCH_UNIT_SOURCE,
    SECONDARY,
    "standard resolution, per metric an alarm evaluates (a metric-math alarm pays for each metric in it)",
)
HIGH_RESOLUTION_ALARM_METRIC = Price(
    Decimal("0.30"), "alarm metric", CLOUDWATCH_UNIT_SOURCE, SECONDARY, "a period under 60 seconds"
)
COMPOSITE_ALARM = Price(Decimal("0.50"), "alarm", CLOUDWATCH_UNIT_SOURCE, SECONDARY)
DASHBOARD = Price(Decimal("3.00"), "dashboard", CLOUDWATCH_UNIT_SOURCE, SECONDARY)
# The always-free tier (official page): 10 alarm metrics, "only applicable to Standard resolution alarms
# that list metrics directly and don't use a Metrics Insights query"; 3 dashboards of up to 50 metrics each.
FREE_ALARM_METRICS = 10
FREE_DASHBOARDS = 3
FREE_DASHBOARD_METRICS = 50

# -- End User Messaging: the number's lease by type --------------------------------------------------------
SMS_PRICING = "https://aws.amazon.com/end-user-messaging/pricing/"
_LEASE_NOTE = "the pricing page's figure was not in the stored text: check it before relying on this"
NUMBER_LEASE: dict[str, Price] = {
    "SIMULATOR": Price(Decimal("1.00"), "number", SMS_PRICING, UNVERIFIED, _LEASE_NOTE),
    "LONG_CODE": Price(
        Decimal("1.00"),
        "number",
        "https://aws.amazon.com/blogs/messaging-and-targeting/send-sms-messages-at-scale-using-10dlc-and-amazon-pinpoint/",
        UNVERIFIED,
        "AWS's 2021 blog: unregistered US long codes were $1/month; " + _LEASE_NOTE,
    ),
    "TOLL_FREE": Price(Decimal("2.00"), "number", SMS_PRICING, UNVERIFIED, _LEASE_NOTE),
    "TEN_DLC": Price(Decimal("2.00"), "number", SMS_PRICING, UNVERIFIED, _LEASE_NOTE),
    "SHORT_CODE": Price(
        Decimal("995.00"),
        "number",
        "https://aws.amazon.com/blogs/messaging-and-targeting/send-sms-messages-at-scale-using-10dlc-and-amazon-pinpoint/",
        UNVERIFIED,
        "AWS's 2021 blog: short codes cost $995 per month (not requested through CloudFormation)",
    ),
}
# A 10DLC number sends only under a registered campaign: the Campaign Registry's monthly fee, passed through
# (one-time brand and vetting fees apart). Not a template resource: printed when the number is 10DLC.
TEN_DLC_CAMPAIGN = Price(
    Decimal("10.00"),
    "campaign",
    "https://docs.aws.amazon.com/sms-voice/latest/userguide/registrations-10dlc.html",
    UNVERIFIED,
    "monthly campaign fee (lower for low-volume campaigns); brand registration and vetting are one-time",
)

# -- what is billed only by use ---------------------------------------------------------------------------
SQS_PRICING = "https://aws.amazon.com/sqs/pricing/"
SQS_REQUEST = Price(Decimal("0.40") / Decimal(1_000_000), "request", SQS_PRICING, SECONDARY, "standard queue")
# An SQS event source long-polls the queue even when it is empty, and empty receives are billed
# (https://aws.amazon.com/premiumsupport/knowledge-center/sqs-high-charges/). How many pollers an idle
# mapping keeps is not published: 5 long polls of 20 s each, always, is an assumption.
SQS_IDLE_POLLERS = 5
SQS_LONG_POLL_SECONDS = 20
SQS_IDLE_POLLING = Price(
    SQS_REQUEST.usd * SQS_IDLE_POLLERS * (3600 // SQS_LONG_POLL_SECONDS) * HOURS_PER_MONTH,
    "mapping",
    "https://aws.amazon.com/premiumsupport/knowledge-center/sqs-high-charges/",
    UNVERIFIED,
    f"empty receives of an idle mapping: {SQS_IDLE_POLLERS} pollers x a {SQS_LONG_POLL_SECONDS} s long poll "
    "(assumed) at $0.40 per million requests; within SQS's 1 million free requests if nothing else uses them",
)
SCHEDULER_PRICING = "https://aws.amazon.com/eventbridge/pricing/"
SCHEDULER_INVOCATION = Price(
    Decimal("1.00") / Decimal(1_000_000),
    "invocation",
    SCHEDULER_PRICING,
    UNVERIFIED,
    "EventBridge Scheduler: $1 per million invocations after 14 million free a month",
)
SSM_ADVANCED_PARAMETER = Price(
    Decimal("0.05"), "parameter", "https://aws.amazon.com/systems-manager/pricing/", UNVERIFIED, "Standard: free"
)

# Types that cost nothing while idle (billed by use or storage, or never): why, per type. Storage
# starts at zero in a new stack; the figures after "by use" are what the first traffic adds.
NO_IDLE_COST: dict[str, str] = {
    "AWS::DynamoDB::Table": "on demand: by request; storage $0.25/GB-month after 25 GB free (PITR $0.20/GB-month)",
    "AWS::S3::Bucket": "by storage and request (starts empty)",
    "AWS::S3::BucketPolicy": "free",
    "AWS::Logs::LogGroup": "by GB ingested and stored (starts empty)",
    "AWS::Logs::LogStream": "free",
    "AWS::KinesisFirehose::DeliveryStream": "by GB ingested (each record billed as at least 5 KB)",
    "AWS::Events::EventBus": "custom events $1 per million",
    "AWS::Events::Rule": "free (the events it matches are billed on the bus)",
    "AWS::Events::Archive": "by GB archived and stored ($0.10/GB-month; starts empty)",
    "AWS::SNS::Topic": "by request and delivery",
    "AWS::SNS::Subscription": "free (SNS to SQS delivery is free)",
    "AWS::SNS::TopicPolicy": "free",
    "AWS::SQS::Queue": "by request (an event source's idle polling is priced on the mapping)",
    "AWS::SQS::QueuePolicy": "free",
    "AWS::Lambda::Function": "by request and duration (no provisioned concurrency)",
    "AWS::Lambda::LayerVersion": "free (code storage)",
    "AWS::Lambda::EventInvokeConfig": "free",
    "AWS::Lambda::Permission": "free",
    "AWS::IAM::Role": "free",
    "AWS::IAM::Policy": "free",
    "AWS::IAM::ManagedPolicy": "free",
    "AWS::KMS::Alias": "free",
    "AWS::Scheduler::ScheduleGroup": "free",
    "AWS::SMSVOICE::OptOutList": "no charge (unverified)",
    "AWS::SMSVOICE::ConfigurationSet": "no charge (unverified); its event destination's Firehose is billed by use",
    "AWS::SMSVOICE::ProtectConfiguration": "no charge (unverified)",
    "Custom::TwoWaySmsOrigination": "runs at deploy only; the existing number's lease is outside the stack",
    "Custom::SmsAccountDefaultProtectConfiguration": "its function runs at deploy only",
    "AWS::CloudFormation::CustomResource": "its function runs at deploy only",
    "Custom::AWS": "its function runs at deploy only",
}

# -- the goal, and what stands in its way ----------------------------------------------------------------
# Issue 15: the default stack's idle cost at most $15 a month. Each priced type the stack keeps whatever it
# costs, and why; the table lists them, dearest first, when the total is over the goal. A priced type not
# here is optional (the dashboard: ``monitoring.dashboard``).
GOAL_USD = Decimal(15)
WHY_KEPT: dict[str, str] = {
    "AWS::Kinesis::Stream": (
        "the delivery-event stream the stack is built around; one PROVISIONED shard is its cheapest idle "
        f"form (ON_DEMAND: ${KINESIS_STREAM_HOUR.usd * HOURS_PER_MONTH:.2f} a month)"
    ),
    "AWS::KMS::Key": "one key per trust boundary",  # the table names each key's boundary from the template
    "AWS::CloudWatch::Alarm": (
        "each alarm is a failure that needs a person: dead letters (lost work), the month's spend (an "
        "unbounded bill), delivery failures, a stalled stream or archive, throttled sends, flows not as "
        "deployed (a function that keeps failing: monitoring.function_error_alarms, $0.40 more)"
    ),
    "AWS::SMSVOICE::PhoneNumber": "the number customers text",
    "AWS::Lambda::EventSourceMapping": "the inbound and outbound functions read their queues (idle long polls)",
    "AWS::Scheduler::Schedule": "the budget check that releases held texts",
}
# Why each kind of key is its own (``costs.key_boundary`` tells them apart in a template).
KEY_BOUNDARIES: dict[str, str] = {
    "topic": "an inbound topic's own, which End User Messaging (sms-voice) uses to publish (a topic key passed in)",
    "codes": "the HMAC key of one-use codes (a flow takes codes): another key spec, it cannot encrypt",
    "data": (
        "the data key of every store and of the inbound topic (End User Messaging may use it for SNS "
        "topics' messages only): CloudWatch Logs takes only a customer-managed key, and the HIPAA, NIST "
        "and PCI packs want log groups encrypted"
    ),
}
