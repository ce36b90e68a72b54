"""The template's resources created in moto, with the names and attributes CloudFormation would give them.

``EmulatedStack`` first gives every resource a physical name (deterministic: ``<stack>-<logical
id>-<digest>``, as CloudFormation generates them, or the name the template sets) and the
attributes the template reads (``Arn``, ``QueueUrl``, ``PhoneNumber``...), then creates what moto
emulates, in dependency order, from the resolved properties:

- KMS keys (``KeySpec``/``KeyUsage``: the codes key is an HMAC key; moto implements GenerateMac);
- DynamoDB tables (key schema, attribute definitions, indexes, billing mode, TTL);
- SQS queues (visibility timeout, retention, ``RedrivePolicy``: dead-letter queues first, so
  moto's maxReceiveCount redrive finds them);
- SNS topics and their SQS subscriptions (``RawMessageDelivery``, ``RedrivePolicy``): moto
  delivers a publish to a subscribed queue in process, in its envelope;
- the Kinesis stream, EventBridge buses (with their policy) and rules, SSM parameters, S3
  buckets, the Scheduler group and its schedules.

What moto does not run is kept here for the pumps (``two_way_sms_local.sandbox.pumps``): the
Lambda functions (run in process by the engine), their event source mappings and async
invoke configs, EventBridge targets moto cannot reach (Kinesis), and End User Messaging's
resources (the number, its keywords and opt-out list, the configuration set), which the SMS
emulator and ``sandbox.number`` stand for. Alarms, dashboards, IAM, log groups, Firehose
and custom resources are not emulated: nothing in the sandbox reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from two_way_sms_local.sandbox.template import ACCOUNT, REGION, Resolver, Unresolvable

# A new number gets a 555-01xx number of its type (555-0100 to 555-0199 are fictional).
BUSINESS_NUMBERS = {"TOLL_FREE": "+18445550100"}
DEFAULT_BUSINESS_NUMBER = "+12065550100"
ORIGINATION_SETTINGS = "Custom::TwoWaySmsOrigination"  # an existing number's or pool's settings
# Created here, in this order; the rest is kept for the pumps or not emulated.
CREATION_ORDER = (
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::Kinesis::Stream",
    "AWS::Events::EventBus",
    "AWS::SSM::Parameter",
    "AWS::S3::Bucket",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::Scheduler::Schedule",
    "AWS::Events::Rule",
)


@dataclass
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]  # as the template has them (unresolved)
    ref: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)  # the properties, resolved (created resources)


@dataclass
class Number:
    """The End User Messaging number the template creates or names."""

    logical_id: str | None
    e164: str
    number_type: str
    arn: str
    number_id: str
    self_managed_opt_outs: bool
    mandatory_keywords: dict[str, str]  # HELP/STOP -> reply
    optional_keywords: list[dict[str, str]]  # {Keyword, Message, Action}
    opt_out_list: str
    topic_arn: str | None  # two-way destination


class EmulatedStack:
    def __init__(self, template: dict[str, Any], *, stack_name: str, number_type: str | None = None) -> None:
        self.template = template
        self.stack_name = stack_name
        self.resources: dict[str, Resource] = {
            logical_id: Resource(logical_id, body["Type"], dict(body.get("Properties", {})))
            for logical_id, body in template.get("Resources", {}).items()
        }
        self.resolver = Resolver(
            ref=self._ref,
            get_att=self._get_att,
            stack_name=stack_name,
            conditions=template.get("Conditions"),
            parameters=template.get("Parameters"),
        )
        self.unresolved: list[str] = []  # "<logical id>.<attribute>" the sandbox made up a value for
        numbers = self.of_type("AWS::SMSVOICE::PhoneNumber")
        declared = numbers[0].properties.get("NumberType") if numbers else None
        self.number_type = str(declared or number_type or self._responder_number_type() or "SIMULATOR")
        self.business_number = BUSINESS_NUMBERS.get(self.number_type, DEFAULT_BUSINESS_NUMBER)
        self._queue_urls: dict[str, str] = {}

    def _responder_number_type(self) -> str | None:
        """An existing number's type, as the inbound function is told it (``RESPONDER_SETTINGS``)."""
        for function in self.of_type("AWS::Lambda::Function"):
            settings = function.properties.get("Environment", {}).get("Variables", {}).get("RESPONDER_SETTINGS")
            if isinstance(settings, str):
                number_type = json.loads(settings).get("number_type")
                return str(number_type) if number_type else None
        return None

    # -- lookups --------------------------------------------------------------------------------
    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == resource_type]

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def by_arn(self, arn: str) -> Resource | None:
        for resource in self.resources.values():
            if resource.attributes.get("Arn") == arn:
                return resource
        return None

    def queue_url(self, arn: str) -> str:
        """The URL of the queue with ``arn`` (the stack's, or one created by the sandbox)."""
        name = arn.rsplit(":", 1)[-1]
        return self._queue_urls.get(name) or f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"

    def _ref(self, logical_id: str) -> Any:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise Unresolvable(f"Ref {logical_id}: no such resource or parameter")
        return resource.ref

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
        if attribute in resource.attributes:
            return resource.attributes[attribute]
        if attribute == "PhoneNumber":  # an existing number's settings, read by a custom resource
            return self.business_number
        self.unresolved.append(f"{logical_id}.{attribute}")
        return f"{resource.ref}.{attribute}"

    # -- naming (before anything is created: properties refer to each other) ----------------------
    def assign_names(self, kms: Any) -> None:
        for resource in self.resources.values():
            _name(self, resource, kms)

    # -- creating ------------------------------------------------------------------------------
    def create(self, client: dict[str, Any]) -> None:
        """Creates every emulated resource in moto (inside ``mock_aws``); ``client``: boto3 clients by service
        (kms, dynamodb, sqs, sns, kinesis, events, ssm, s3, scheduler)."""
        self.assign_names(client["kms"])
        for resource_type in CREATION_ORDER:
            resources = self.of_type(resource_type)
            if resource_type == "AWS::SQS::Queue":  # dead-letter queues before the queues that redrive to them
                resources.sort(key=lambda r: "RedrivePolicy" in r.properties)
            for resource in resources:
                resource.resolved = self.resolve(resource.properties)
                _CREATE[resource_type](self, resource, client)

    def number(self) -> Number:
        numbers = self.of_type("AWS::SMSVOICE::PhoneNumber")
        lists = self.of_type("AWS::SMSVOICE::OptOutList")
        if numbers:
            number = numbers[0]
            props = self.resolve(number.properties)
            return Number(
                logical_id=number.logical_id,
                e164=self.business_number,
                number_type=self.number_type,
                arn=number.attributes["Arn"],
                number_id=number.ref,
                self_managed_opt_outs=bool(props.get("SelfManagedOptOutsEnabled", False)),
                mandatory_keywords={k: v["Message"] for k, v in props.get("MandatoryKeywords", {}).items()},
                optional_keywords=list(props.get("OptionalKeywords", [])),
                opt_out_list=str(props.get("OptOutListName") or "Default"),
                topic_arn=(props.get("TwoWay") or {}).get("ChannelArn"),
            )
        # An existing number or pool: the stack applies its settings with a custom resource
        # (``Custom::TwoWaySmsOrigination``); the sandbox reads them from its properties.
        settings = next(iter(self.of_type(ORIGINATION_SETTINGS)), None)
        props = self.resolve(settings.properties) if settings else {}
        keywords = list(props.get("Keywords", []))
        origination_id = str(props.get("OriginationId") or "phone-" + _digest("existing-number", 32).lower())
        topics = self.of_type("AWS::SNS::Topic")
        inbound_topic = next((t for t in topics if "Inbound" in t.logical_id), topics[0] if topics else None)
        return Number(
            logical_id=settings.logical_id if settings else None,
            e164=self.business_number,
            number_type=self.number_type,
            arn=self._origination_arn(props),
            number_id=origination_id,
            self_managed_opt_outs=str(props.get("SelfManagedOptOutsEnabled", "false")).lower() == "true",
            mandatory_keywords={k["Keyword"]: k["Message"] for k in keywords if k["Keyword"] in ("HELP", "STOP")},
            optional_keywords=[k for k in keywords if k["Keyword"] not in ("HELP", "STOP")],
            opt_out_list=str(props.get("OptOutListName") or (lists[0].ref if lists else "Default")),
            topic_arn=props.get("TwoWayChannelArn") or (str(inbound_topic.ref) if inbound_topic else None),
        )

    @staticmethod
    def _origination_arn(props: dict[str, Any]) -> str:
        kind = "pool" if props.get("OriginationType") == "pool" else "phone-number"
        identity = str(props.get("OriginationId") or "phone-" + _digest("existing-number", 32).lower())
        return identity if identity.startswith("arn:") else _arn("sms-voice", f"{kind}/{identity}")


def _digest(text: str, length: int = 12) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length].upper()


def _generated(stack: EmulatedStack, resource: Resource, limit: int, *, lower: bool = False) -> str:
    """``<stack>-<logical id>-<digest>`` cut to ``limit``, as CloudFormation names what the template leaves unnamed."""
    suffix = _digest(f"{stack.stack_name}/{resource.logical_id}")
    head = f"{stack.stack_name}-{resource.logical_id}"[: limit - len(suffix) - 1]
    name = f"{head}-{suffix}"
    return name.lower() if lower else name


def _arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


def _name(stack: EmulatedStack, resource: Resource, kms: Any) -> None:
    props, kind = resource.properties, resource.type
    given = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::Kinesis::Stream": "Name",
        "AWS::Events::EventBus": "Name",
        "AWS::Events::Rule": "Name",
        "AWS::SSM::Parameter": "Name",
        "AWS::S3::Bucket": "BucketName",
        "AWS::Lambda::Function": "FunctionName",
        "AWS::IAM::Role": "RoleName",
        "AWS::Scheduler::ScheduleGroup": "Name",
        "AWS::Scheduler::Schedule": "Name",
        "AWS::SMSVOICE::OptOutList": "OptOutListName",
        "AWS::SMSVOICE::ConfigurationSet": "ConfigurationSetName",
    }.get(kind)
    name = props.get(given) if given else None
    if name is not None and not isinstance(name, str):
        name = stack.resolve(name)
    attributes = resource.attributes
    if kind == "AWS::KMS::Key":
        spec = {"KeySpec": props["KeySpec"]} if isinstance(props.get("KeySpec"), str) else {}
        usage = {"KeyUsage": props["KeyUsage"]} if isinstance(props.get("KeyUsage"), str) else {}
        key = kms.create_key(Description=f"{stack.stack_name} {resource.logical_id}", **spec, **usage)["KeyMetadata"]
        resource.ref = key["KeyId"]
        attributes.update(Arn=key["Arn"], KeyId=key["KeyId"])
    elif kind == "AWS::DynamoDB::Table":
        resource.ref = name or _generated(stack, resource, 255)
        attributes.update(Arn=_arn("dynamodb", f"table/{resource.ref}"))
        attributes["StreamArn"] = f"{attributes['Arn']}/stream/sandbox"
    elif kind == "AWS::SQS::Queue":
        queue = name or _generated(stack, resource, 80)
        resource.ref = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}"
        attributes.update(Arn=_arn("sqs", queue), QueueName=queue, QueueUrl=resource.ref)
    elif kind == "AWS::SNS::Topic":
        topic = name or _generated(stack, resource, 256)
        resource.ref = _arn("sns", topic)
        attributes.update(TopicArn=resource.ref, TopicName=topic)
    elif kind == "AWS::Kinesis::Stream":
        resource.ref = name or _generated(stack, resource, 128)
        attributes.update(Arn=_arn("kinesis", f"stream/{resource.ref}"))
    elif kind == "AWS::Events::EventBus":
        resource.ref = name or _generated(stack, resource, 256)
        attributes.update(Arn=_arn("events", f"event-bus/{resource.ref}"), Name=resource.ref)
    elif kind == "AWS::Events::Rule":
        rule = name or _generated(stack, resource, 64)
        resource.ref = rule
        attributes.update(Arn=_arn("events", f"rule/{rule}"))
    elif kind == "AWS::SSM::Parameter":
        resource.ref = name or f"CFN-{resource.logical_id}-{_digest(resource.logical_id)}"
        attributes.update(Type=props.get("Type", "String"), Value=props.get("Value"))
    elif kind == "AWS::S3::Bucket":
        resource.ref = name or _generated(stack, resource, 63, lower=True)
        attributes.update(
            Arn=f"arn:aws:s3:::{resource.ref}",
            DomainName=f"{resource.ref}.s3.amazonaws.com",
            RegionalDomainName=f"{resource.ref}.s3.{REGION}.amazonaws.com",
        )
    elif kind == "AWS::Lambda::Function":
        resource.ref = name or _generated(stack, resource, 64)
        attributes.update(Arn=_arn("lambda", f"function:{resource.ref}"))
    elif kind == "AWS::IAM::Role":
        resource.ref = name or _generated(stack, resource, 64)
        attributes.update(Arn=f"arn:aws:iam::{ACCOUNT}:role/{resource.ref}", RoleId="AROA" + _digest(resource.ref, 17))
    elif kind == "AWS::Scheduler::ScheduleGroup":
        resource.ref = name or _generated(stack, resource, 64)
        attributes.update(Arn=_arn("scheduler", f"schedule-group/{resource.ref}"))
    elif kind == "AWS::Scheduler::Schedule":
        resource.ref = name or _generated(stack, resource, 64)
        attributes.update(Arn=_arn("scheduler", f"schedule/default/{resource.ref}"))
    elif kind == "AWS::SMSVOICE::PhoneNumber":
        resource.ref = "phone-" + _digest(f"{stack.stack_name}/{resource.logical_id}", 32).lower()
        attributes.update(
            Arn=_arn("sms-voice", f"phone-number/{resource.ref}"),
            PhoneNumberId=resource.ref,
            PhoneNumber=stack.business_number,
        )
    elif kind == "AWS::SMSVOICE::OptOutList":
        resource.ref = name or _generated(stack, resource, 64)
        attributes.update(Arn=_arn("sms-voice", f"opt-out-list/{resource.ref}"))
    elif kind == "AWS::SMSVOICE::ConfigurationSet":
        resource.ref = name or _generated(stack, resource, 64)
        attributes.update(Arn=_arn("sms-voice", f"configuration-set/{resource.ref}"))
    elif kind == "AWS::SMSVOICE::ProtectConfiguration":
        resource.ref = "protect-" + _digest(resource.logical_id, 32).lower()
        attributes.update(
            Arn=_arn("sms-voice", f"protect-configuration/{resource.ref}"), ProtectConfigurationId=resource.ref
        )
    elif kind == "AWS::SMSVOICE::Pool":
        resource.ref = "pool-" + _digest(resource.logical_id, 32).lower()
        attributes.update(Arn=_arn("sms-voice", f"pool/{resource.ref}"), PoolId=resource.ref)
    elif kind == ORIGINATION_SETTINGS:
        resource.ref = _generated(stack, resource, 64)
        props = stack.resolve({k: v for k, v in props.items() if k in ("OriginationType", "OriginationId")})
        attributes.update(OriginationArn=EmulatedStack._origination_arn(props), PhoneNumber=stack.business_number)
    else:
        resource.ref = name or _generated(stack, resource, 64)
        service = kind.split("::")[1].lower() if kind.count("::") == 2 else "custom"
        attributes.setdefault("Arn", _arn(service, f"{kind.rsplit('::', 1)[-1].lower()}/{resource.ref}"))


# -- creating, by type ---------------------------------------------------------------------------------
def _create_key(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    pass  # created when named: its id is moto's


def _create_table(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    arguments: dict[str, Any] = {
        "TableName": resource.ref,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if arguments["BillingMode"] == "PROVISIONED":
        arguments["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for name in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(name):
            arguments[name] = [
                {
                    k: v
                    for k, v in index.items()
                    if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
                }
                for index in props[name]
            ]
    if props.get("StreamSpecification"):
        arguments["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    client["dynamodb"].create_table(**arguments)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client["dynamodb"].update_time_to_live(
            TableName=resource.ref, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )


# Queue attributes moto takes as they are. ReceiveMessageWaitTimeSeconds is left out on purpose:
# a long-polling default would make moto wait on the sandbox clock, which does not move by itself.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _create_queue(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    attributes = {
        name: str(props[name]).lower() if isinstance(props[name], bool) else str(props[name])
        for name in _QUEUE_ATTRIBUTES
        if name in props
    }
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    name = resource.attributes["QueueName"]
    url = client["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    stack._queue_urls[name] = url
    resource.ref = resource.attributes["QueueUrl"] = url


def _create_topic(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    attributes = {"KmsMasterKeyId": str(props["KmsMasterKeyId"])} if props.get("KmsMasterKeyId") else {}
    client["sns"].create_topic(Name=resource.attributes["TopicName"], Attributes=attributes)


def _create_subscription(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    if props.get("Protocol") not in ("sqs", "lambda"):
        return  # e-mail and HTTP endpoints: nothing of the sandbox's listens there
    attributes: dict[str, str] = {}
    for name in ("RawMessageDelivery", "RedrivePolicy", "FilterPolicy", "FilterPolicyScope"):
        if name in props:
            value = props[name]
            attributes[name] = json.dumps(value) if isinstance(value, dict) else str(value).lower()
    arn = client["sns"].subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    resource.ref = arn


def _create_stream(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    mode = (props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    arguments: dict[str, Any] = {"StreamName": resource.ref}
    if mode == "ON_DEMAND":
        arguments["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
    else:
        arguments["ShardCount"] = int(props.get("ShardCount", 1))
    client["kinesis"].create_stream(**arguments)
    resource.attributes["Arn"] = client["kinesis"].describe_stream_summary(StreamName=resource.ref)[
        "StreamDescriptionSummary"
    ]["StreamARN"]


def _create_bus(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    client["events"].create_event_bus(Name=resource.ref)
    if props.get("Policy"):  # moto keeps it; it does not enforce it
        client["events"].put_permission(EventBusName=resource.ref, Policy=json.dumps(props["Policy"]))


def _create_rule(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    arguments: dict[str, Any] = {"Name": resource.ref, "State": props.get("State", "ENABLED")}
    if props.get("EventBusName"):
        arguments["EventBusName"] = str(props["EventBusName"]).rsplit("/", 1)[-1]
    if props.get("EventPattern"):
        arguments["EventPattern"] = json.dumps(props["EventPattern"])
    if props.get("ScheduleExpression"):
        arguments["ScheduleExpression"] = props["ScheduleExpression"]
    client["events"].put_rule(**arguments)
    # Targets moto delivers to (SQS, another bus) are put on the rule; the others (Kinesis, Lambda)
    # are delivered by the pumps, through a tap queue of their own (pumps.RuleTap).
    reachable = [t for t in props.get("Targets", []) if ":sqs:" in t["Arn"] or ":event-bus/" in t["Arn"]]
    if reachable:
        client["events"].put_targets(
            Rule=resource.ref,
            EventBusName=arguments.get("EventBusName", "default"),
            Targets=[
                {k: v for k, v in t.items() if k in ("Id", "Arn", "Input", "InputPath", "SqsParameters")}
                for t in reachable
            ],
        )


def _create_parameter(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    value = props["Value"]
    client["ssm"].put_parameter(
        Name=resource.ref,
        Value=value if isinstance(value, str) else json.dumps(value),
        Type=props.get("Type", "String"),
        **({"Description": props["Description"]} if props.get("Description") else {}),
    )
    resource.attributes["Value"] = value


def _create_bucket(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    client["s3"].create_bucket(Bucket=resource.ref)


def _create_schedule_group(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    client["scheduler"].create_schedule_group(Name=resource.ref)


def _create_schedule(stack: EmulatedStack, resource: Resource, client: dict[str, Any]) -> None:
    props = resource.resolved
    group = props.get("GroupName") or "default"
    resource.attributes["Arn"] = _arn("scheduler", f"schedule/{group}/{resource.ref}")
    target = {
        k: v for k, v in props["Target"].items() if k in ("Arn", "RoleArn", "Input", "RetryPolicy", "DeadLetterConfig")
    }
    arguments: dict[str, Any] = {
        "Name": resource.ref,
        "GroupName": group,
        "ScheduleExpression": props["ScheduleExpression"],
        "FlexibleTimeWindow": props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
        "Target": target,
        "State": props.get("State", "ENABLED"),
    }
    if props.get("ScheduleExpressionTimezone"):
        arguments["ScheduleExpressionTimezone"] = props["ScheduleExpressionTimezone"]
    client["scheduler"].create_schedule(**arguments)


_CREATE = {
    "AWS::KMS::Key": _create_key,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::SNS::Topic": _create_topic,
    "AWS::SNS::Subscription": _create_subscription,
    "AWS::Kinesis::Stream": _create_stream,
    "AWS::Events::EventBus": _create_bus,
    "AWS::Events::Rule": _create_rule,
    "AWS::SSM::Parameter": _create_parameter,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::Scheduler::ScheduleGroup": _create_schedule_group,
    "AWS::Scheduler::Schedule": _create_schedule,
}


def session() -> Any:
    """A boto3 session for moto (fake credentials: never a real account)."""
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
