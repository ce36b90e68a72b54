"""``Sandbox``: the stack's real handlers on emulated AWS, driven by one sped-up clock (``contract.SandboxApi``).

Built from the synthesized template (``from_config`` synthesizes it in-process the way
``app.py`` does; ``from_template`` takes one already made): every resource moto emulates is
created from it (``sandbox.stack``), every function of the package gets the settings the
template gives it and its handler from ``make_handler`` (``sandbox.functions``), and the
wiring AWS does between them runs in ``sandbox.pumps``. Nothing here decides what a handler
would do: the sandbox feeds the stack events and reads the emulated services' state
(``sandbox.views``).

The clock (``sandbox.clock``) starts at the real "now" unless told otherwise; ``advance``
moves it, running everything that falls due in order. ``text_in`` and ``send`` run the stack
until it is quiet: no visible message in any mapped queue, no due schedule, no due delivery
event left. Every public method holds one lock: the page's server may call from threads.

One sandbox at a time in a process: moto's state and its clock are process-wide.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from moto import mock_aws

from two_way_sms.adapters.dynamodb_tables import DynamoDbTables
from two_way_sms.handlers.wiring import AwsClients
from two_way_sms.outbound.request import InvalidSendRequest
from two_way_sms.pacing import DEFAULT_MPS
from two_way_sms.phone import InvalidPhoneNumber, to_e164
from two_way_sms_local import moto_transactions
from two_way_sms_local.sandbox.clock import SandboxClock, moto_reads
from two_way_sms_local.sandbox.contract import (
    CarrierOutcome,
    Description,
    Refused,
    SandboxApi,
    State,
    TemplateInfo,
)
from two_way_sms_local.sandbox.functions import (
    Activity,
    Function,
    FunctionOutput,
    label_of,
    powertools_environment,
    wire,
)
from two_way_sms_local.sandbox.number import EmulatedNumber, FunctionSms
from two_way_sms_local.sandbox.pumps import (
    PRICE_PER_PART_USD,
    AsyncInvocations,
    BusCapture,
    DeliveryEvents,
    KinesisMapping,
    RuleTap,
    Runtime,
    Scheduler,
    SqsMapping,
)
from two_way_sms_local.sandbox.stack import EmulatedStack, session
from two_way_sms_local.sandbox.template import ACCOUNT, DEFAULT_STACK_NAME, REGION, REPO_ROOT, synthesize
from two_way_sms_local.sms_emulator import SmsEmulator

# Numbers to pick from: US, one per time zone, and the states whose quiet hours differ (FACTS.md).
SAMPLE_CUSTOMERS = (
    "+12065550123",  # Seattle, WA (Pacific)
    "+13035550123",  # Denver, CO (Mountain)
    "+14055550123",  # Oklahoma City, OK (Central; 8:00-20:00, 3 a day)
    "+12145550123",  # Dallas, TX (Central; Sunday from noon)
    "+13055550123",  # Miami, FL (Eastern; 8:00-20:00)
    "+12125550123",  # New York, NY (Eastern)
)
CARRIER_OUTCOMES = ("deliver", "fail", "opted_out")
QUIET_AFTER = 10_000  # pump passes without the stack going quiet: a loop somewhere, stop and say so
DEFAULT_SPEED = 60.0
MIN_TEXT_GAP = 1.0  # seconds between two texts of one customer
_SANDBOX_CLIENTS = ("kms", "dynamodb", "sqs", "sns", "kinesis", "events", "ssm", "s3", "scheduler")
_FUNCTION_CLIENTS = {"sqs": "sqs", "events": "events", "ssm": "ssm", "kms": "kms", "scheduler": "scheduler", "s3": "s3"}


@dataclass(frozen=True)
class InboundText:
    customer: str
    body: str
    at: float
    message_id: str
    sequence: int


class StackNotQuiet(RuntimeError):
    """The stack kept doing something for QUIET_AFTER passes: a loop between functions."""


class Sandbox:
    """The stack on emulated AWS; implements ``contract.SandboxApi``. Use it as a context manager (or ``close``)."""

    _open: Sandbox | None = None  # moto's state and its clock are process-wide: one sandbox at a time

    def __init__(
        self,
        template: dict[str, Any],
        config: Any = None,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        config_source: str = "template",
        start: float | datetime | None = None,
        speed: float = DEFAULT_SPEED,
    ) -> None:
        if Sandbox._open is not None:
            raise RuntimeError("a sandbox is already running in this process: close it first (moto's state is global)")
        self._lock = threading.RLock()
        self.config = config
        self.config_source = config_source
        self.speed = float(speed)
        start_at = start.timestamp() if isinstance(start, datetime) else start
        self.clock = SandboxClock(time.time() if start_at is None else float(start_at))
        self.inbound_texts: list[InboundText] = []
        self.destinations: dict[str, str] = {}  # idempotency key -> destination, from the requests queued
        self._ids = itertools.count(1)
        moto_transactions.install()  # a campaign's thousands of transactions stay linear in the table's size
        self._mock = mock_aws()
        self._time = moto_reads(self.clock)
        self._closed = False
        self._mock.start()
        self._time.__enter__()
        self.output: FunctionOutput | None = None
        self._environment_added: list[str] = []
        Sandbox._open = self
        try:
            self._build(template, stack_name)
        except BaseException:
            self.close()
            raise

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, config_file: str | None = None, *, repo_root: Path | str = REPO_ROOT, **options: Any
    ) -> Sandbox:
        """Synthesizes the stack for ``config_file`` (None: ``cdk.json``'s context value) and builds it."""
        made = synthesize(config_file, repo_root=repo_root)
        return cls(made.template, made.config, stack_name=made.stack_name, config_source=made.config_source, **options)

    @classmethod
    def from_template(cls, template: dict[str, Any], config: Any = None, **options: Any) -> Sandbox:
        """Builds the stack of a template already synthesized (tests synthesize once and share it)."""
        return cls(template, config, **options)

    def _build(self, template: dict[str, Any], stack_name: str) -> None:
        self.session = boto = session()  # one session: its clients share the loaded service models
        client = {name: boto.client(name, region_name=REGION) for name in _SANDBOX_CLIENTS}
        number_type = getattr(self.config, "number_type", None)
        self.stack = stack = EmulatedStack(template, stack_name=stack_name, number_type=number_type)
        stack.create(client)
        self.outputs = self._outputs()
        self.sqs, self.sns, self.s3, self.ssm = client["sqs"], client["sns"], client["s3"], client["ssm"]
        dynamodb = boto.resource("dynamodb", region_name=REGION)
        described = stack.number()
        sms = SmsEmulator(
            clock=self.clock,
            mps=DEFAULT_MPS.get(described.number_type, 1.0),
            price_per_part_usd=Decimal(PRICE_PER_PART_USD.get(described.number_type, "0.00581")),
            aliases={described.arn: described.e164, described.number_id: described.e164},
        )
        self.number = EmulatedNumber(described, sms, self.clock)

        self.functions: dict[str, Function] = {}
        for resource in stack.of_type("AWS::Lambda::Function"):
            handler_path = str(resource.properties.get("Handler", ""))
            label = label_of(handler_path)
            if label is None:
                continue  # a custom resource's function: infrastructure, not run here
            variables = stack.resolve(resource.properties.get("Environment", {}).get("Variables", {}))
            environment = {name: str(value) for name, value in variables.items()}
            self._environment_added += powertools_environment(environment)
            self.functions[label] = Function(
                logical_id=resource.logical_id,
                label=label,
                name=resource.ref,
                arn=resource.attributes["Arn"],
                handler_path=handler_path,
                timeout=int(resource.properties.get("Timeout", 3)),
                memory=int(resource.properties.get("MemorySize", 128)),
                environment=environment,
            )
        # The functions' own clients (the sandbox reads the services through its own).
        clients = AwsClients(
            dynamodb=DynamoDbTables(boto.client("dynamodb", region_name=REGION)),
            sms=None,
            **{name: boto.client(service, region_name=REGION) for name, service in _FUNCTION_CLIENTS.items()},
        )
        for function in self.functions.values():
            wire(function, clients, FunctionSms(self.number, function.label), self.clock)
        import importlib

        loggers = set()
        for function in self.functions.values():
            try:
                loggers.add(importlib.import_module(function.handler_path.rsplit(".", 1)[0]).logger.name)
            except (ImportError, AttributeError):
                pass
        self.output = FunctionOutput(loggers)
        self.output.install()

        self.activity = Activity()
        self.runtime = Runtime(
            clock=self.clock,
            sqs=self.sqs,
            kinesis=client["kinesis"],
            events=client["events"],
            scheduler=client["scheduler"],
            output=self.output,
            activity=self.activity,
            queue_url=stack.queue_url,
        )
        self.tables = self._tables(dynamodb)
        self._build_pumps()

    def _outputs(self) -> dict[str, Any]:
        values = {}
        for name, output in self.stack.template.get("Outputs", {}).items():
            try:
                values[name] = self.stack.resolve(output["Value"])
            except (ValueError, KeyError, TypeError):
                continue
        return values

    def _tables(self, dynamodb: Any) -> dict[str, Any]:
        names = {
            "contacts": ("ContactsTableName", "inbound", "CONTACTS_TABLE"),
            "ledger": ("LedgerTableName", "events", "LEDGER_TABLE"),
            "outbound": ("OutboundTableName", "sender", "OUTBOUND_TABLE"),
            "conversations": ("ConversationsTableName", "inbound", "CONVERSATIONS_TABLE"),
        }
        tables = {}
        for label, (output, function, variable) in names.items():
            name = self.outputs.get(output) or self.functions.get(function, _NO_FUNCTION).environment.get(variable)
            if name:
                tables[label] = dynamodb.Table(name)
        return tables

    def _build_pumps(self) -> None:
        from moto.sqs.models import sqs_backends

        stack, runtime = self.stack, self.runtime
        self._sqs_backend = sqs_backends[ACCOUNT][REGION]
        by_name = {f.name: f for f in self.functions.values()}
        by_arn = {f.arn: f for f in self.functions.values()}
        configs = {}
        for resource in stack.of_type("AWS::Lambda::EventInvokeConfig"):
            props = stack.resolve(resource.properties)
            function = by_name.get(str(props.get("FunctionName")))
            if function is not None:
                configs[function.arn] = props
        self.async_invocations = AsyncInvocations(by_arn, configs, runtime)
        self.sqs_mappings: list[SqsMapping] = []
        self.kinesis_mappings: list[KinesisMapping] = []
        for resource in stack.of_type("AWS::Lambda::EventSourceMapping"):
            props = stack.resolve(resource.properties)
            function = by_name.get(str(props.get("FunctionName")).rsplit(":", 1)[-1])
            source = str(props.get("EventSourceArn", ""))
            if function is None:
                continue
            reports = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
            if ":sqs:" in source:
                self.sqs_mappings.append(
                    SqsMapping(
                        function,
                        source,
                        int(props.get("BatchSize", 10)),
                        reports,
                        runtime,
                        self._sqs_backend,
                        enabled=props.get("Enabled", True) is not False,
                    )
                )
            elif ":kinesis:" in source:
                destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
                self.kinesis_mappings.append(
                    KinesisMapping(
                        function=function,
                        stream_name=source.rsplit("/", 1)[-1],
                        stream_arn=source,
                        batch_size=int(props.get("BatchSize", 100)),
                        report_failures=reports,
                        bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                        max_retries=int(props.get("MaximumRetryAttempts", -1)),
                        max_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
                        on_failure_arn=destination,
                        runtime=runtime,
                    )
                )
        for mapping in self.sqs_mappings:
            mapping.observe = self._observe_requests
        self.taps: list[RuleTap] = []
        for resource in stack.of_type("AWS::Events::Rule"):
            props = resource.resolved
            unreachable = [t for t in props.get("Targets", []) if ":kinesis:" in t["Arn"] or ":lambda:" in t["Arn"]]
            if unreachable:
                tap = RuleTap(
                    rule=resource.ref,
                    bus=str(props.get("EventBusName") or "default").rsplit("/", 1)[-1],
                    targets=unreachable,
                    runtime=runtime,
                    invoke_async=self.async_invocations.submit,
                )
                tap.install()
                self.taps.append(tap)
        buses = {str(r.ref) for r in stack.of_type("AWS::Events::EventBus")}
        buses |= {
            f.environment["EVENT_BUS_NAME"] for f in self.functions.values() if f.environment.get("EVENT_BUS_NAME")
        }
        existing = {b["Name"] for b in runtime.events.list_event_buses().get("EventBuses", [])}
        for bus in sorted(buses - existing):  # a bus the config names and the stack does not create
            runtime.events.create_event_bus(Name=bus)
        self.bus = BusCapture(sorted(buses), runtime)
        self.bus.install()
        self.scheduler = Scheduler(runtime, self.async_invocations.submit)
        self.delivery = DeliveryEvents(self.number, runtime)
        self.dead_letter_queues = self._dead_letter_labels()

    def _dead_letter_labels(self) -> dict[str, str]:
        """Label (as the monitoring alarms name it) -> queue name, for every dead-letter queue."""
        labels: dict[str, str] = {}
        for resource in self.stack.of_type("AWS::CloudWatch::Alarm"):
            for metric in resource.properties.get("Metrics", []):
                stat = metric.get("MetricStat", {}).get("Metric", {})
                label = str(metric.get("Label", ""))
                if stat.get("Namespace") != "AWS/SQS" or not label.endswith(" dead letters"):
                    continue
                for dimension in stat.get("Dimensions", []):
                    if dimension.get("Name") == "QueueName":
                        labels[label.removesuffix(" dead letters")] = str(self.stack.resolve(dimension["Value"]))
        if not labels:  # no alarms: every queue that is some queue's redrive target
            for resource in self.stack.of_type("AWS::SQS::Queue"):
                policy = resource.resolved.get("RedrivePolicy")
                if policy:
                    target = str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1]
                    labels[target] = target
        return labels

    # -- the contract ------------------------------------------------------------------------------------
    def describe(self) -> Description:
        with self._lock:
            return self._describe()

    def state(self, customer: str | None = None) -> State:
        from two_way_sms_local.sandbox.views import build_state

        with self._lock:
            selected = self._number(customer) if customer else None
            return build_state(self, selected)

    def text_in(self, customer: str, body: str) -> str:
        with self._lock:
            number = self._number(customer)
            if not isinstance(body, str) or not body.strip():
                raise Refused("a text needs a body")
            if len(body) > 1600:
                raise Refused(f"a text has at most 1,600 characters, not {len(body)}")
            # A phone sends one text at a time: a text never shares its second with the customer's
            # previous one (End User Messaging orders them; so does the consent history).
            earlier = [t.at for t in self.inbound_texts if t.customer == number]
            if earlier and self.clock.now() < max(earlier) + MIN_TEXT_GAP:
                self._advance_to(max(earlier) + MIN_TEXT_GAP)
            message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox/inbound/{next(self._ids)}"))
            self.inbound_texts.append(
                InboundText(number, body, self.clock.now(), message_id, self.number.next_sequence())
            )
            keyword = self.number.receive(number, body)
            payload: dict[str, Any] = {
                "originationNumber": number,
                "destinationNumber": self.number.number.e164,
                "messageKeyword": keyword,
                "messageBody": body,
                "inboundMessageId": message_id,
            }
            replied_to = self._last_text_to(number)
            if replied_to:
                payload["previousPublishedMessageId"] = replied_to
            self._publish(json.dumps(payload))
            self._run_until_quiet()
            return message_id

    def publish_raw(self, message: str) -> None:
        with self._lock:
            self._publish(message)
            self._run_until_quiet()

    def send(
        self,
        to: str,
        *,
        template_id: str | None = None,
        variables: dict[str, str] | None = None,
        body: str | None = None,
        message_type: str | None = None,
        flow: str | None = None,
        slots: list[str] | None = None,
    ) -> str:
        from two_way_sms_client.client import OutboundClient

        with self._lock:
            destination = self._number(to)
            templates = self._templates()
            if template_id is not None and template_id not in templates:
                raise Refused(f"no template {template_id!r} (templates: {', '.join(sorted(templates)) or 'none'})")
            if flow is not None and flow not in self._flows():
                raise Refused(f"no flow {flow!r} (flows: {', '.join(self._flows()) or 'none'})")
            kind = message_type or (templates[template_id]["message_type"] if template_id else "TRANSACTIONAL")
            serial = next(self._ids)
            key = f"sandbox-{serial:04d}-{uuid.uuid5(uuid.NAMESPACE_URL, f'sandbox/send/{serial}').hex[:12]}"
            client = OutboundClient(self._outbound_queue_url(), sqs_client=self.sqs)
            try:
                if flow is None:
                    client.send(
                        destination,
                        body=body,
                        template_id=template_id,
                        variables=variables,
                        message_type=kind,
                        idempotency_key=key,
                    )
                else:
                    wire_request: dict[str, Any] = {
                        "destination": destination,
                        "messageType": kind,
                        "idempotencyKey": key,
                        "variables": dict(variables or {}),
                        "conversation": {"flow": flow, "reference": key, **({"slots": list(slots)} if slots else {})},
                    }
                    if template_id is not None or body is not None:
                        raise Refused("a text that opens a flow is the flow's prompt: give no template or body")
                    result = client.send_many([wire_request])
                    if result.failed:
                        raise Refused(f"SQS did not take the request: {result.failed}")
            except InvalidSendRequest as error:
                raise Refused(error.reason) from None
            self.destinations[key] = destination
            self._run_until_quiet()
            return key

    def start_campaign(self, csv_text: str, template_id: str, *, local_time: str | None = None) -> str:
        from two_way_sms.outbound.campaign import AudienceCsv, Campaign, InvalidCampaign
        from two_way_sms.outbound.templates import Template
        from two_way_sms_client.client import CampaignClient

        with self._lock:
            templates = self._templates()
            if template_id not in templates:
                raise Refused(f"no template {template_id!r} (templates: {', '.join(sorted(templates)) or 'none'})")
            bucket = self.outputs.get("AudienceBucketName")
            function_arn = self.outputs.get("CampaignsFunctionArn") or self.functions.get("campaigns", _NO_FUNCTION).arn
            if not bucket or not function_arn:
                raise Refused("this stack has no campaigns (no audience bucket or campaigns function)")
            campaign_id = f"sandbox-{next(self._ids):04d}"
            key = f"audiences/{campaign_id}.csv"
            s3 = self.s3
            s3.put_object(Bucket=bucket, Key=key, Body=csv_text.encode())
            info = templates[template_id]
            client = CampaignClient(
                function_arn=function_arn,
                scheduler_role_arn=str(self.outputs.get("SchedulerRoleArn")),
                schedule_group=str(self.outputs.get("ScheduleGroupName")),
                dead_letter_queue_arn=str(self.outputs.get("ScheduleDeadLetterQueueArn")),
                templates={template_id: Template(template_id, info["body"], info["message_type"])},
                scheduler_client=self.runtime.scheduler,
                s3_client=s3,
                clock=self.clock.moment,
            )
            try:
                campaign = Campaign(
                    campaign_id=campaign_id,
                    template_id=template_id,
                    message_type=info["message_type"],
                    audience=AudienceCsv(bucket, key),
                    local_time=local_time,
                )
                client.schedule(campaign, at=self.clock.moment())
            except InvalidCampaign as error:
                raise Refused(str(error)) from None
            # The run's schedule (``campaign-<id>-<run>``) fires when it is due: move the clock there.
            runs = [s["at"] for s in self.scheduler.pending() if s["name"].startswith(f"campaign-{campaign_id}-")]
            due = max((_epoch(at) for at in runs), default=self.clock.now())
            self._advance_to(max(due, self.clock.now()))
            return campaign_id

    def set_carrier(self, customer: str, outcome: CarrierOutcome) -> None:
        with self._lock:
            if outcome not in CARRIER_OUTCOMES:
                raise Refused(f"carrier outcome {outcome!r} must be one of {', '.join(CARRIER_OUTCOMES)}")
            self.number.carrier[self._number(customer)] = outcome

    def advance(self, seconds: float) -> None:
        with self._lock:
            if seconds < 0:
                raise Refused(f"the clock does not go back ({seconds} s)")
            self._advance_to(self.clock.now() + seconds)

    def set_speed(self, speed: float) -> None:
        with self._lock:
            if not speed > 0:
                raise Refused(f"speed {speed} must be above 0")
            self.speed = float(speed)

    # -- more than the contract ------------------------------------------------------------------------
    def logs(self) -> list[str]:
        """What the functions logged and printed (Powertools JSON lines, EMF metrics), oldest first."""
        with self._lock:
            return list(self.output.lines) if self.output else []

    def invocations(self) -> list[dict[str, Any]]:
        """Every invocation so far, oldest first: when, which function, on what, how many records failed."""
        from two_way_sms_local.sandbox.clock import iso

        with self._lock:
            return [
                {
                    "at": iso(r.at),
                    "function": r.function,
                    "trigger": r.trigger,
                    "records": r.records,
                    "failed": r.failed,
                    "error": r.error,
                }
                for r in self.activity.records
            ]

    def sequence_of(self, message_id: str) -> int:
        return self.number.order.get(message_id, 0)

    def peek_queue(self, queue_name: str) -> Iterator[tuple[str, dict[str, str]]]:
        """The messages in a queue, oldest first, as (body, string message attributes): read in moto,
        not received, so nothing moves and no receive is counted."""
        try:
            queue = self._sqs_backend.get_queue(queue_name)
        except Exception:
            return iter(())
        return iter(
            [
                (
                    str(message.body),
                    {
                        name: str(value.get("string_value") or value.get("StringValue") or "")
                        for name, value in (message.message_attributes or {}).items()
                    },
                )
                for message in list(queue._messages)
            ]
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if Sandbox._open is self:
            Sandbox._open = None
        if self.output is not None:
            self.output.restore()
        for name in self._environment_added:
            os.environ.pop(name, None)
        try:
            self._time.__exit__(None, None, None)
        finally:
            self._mock.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- running the stack -----------------------------------------------------------------------------
    def _pumps(self) -> list[Any]:
        return [
            self.scheduler,
            self.async_invocations,
            *self.sqs_mappings,
            self.delivery,
            *self.taps,
            *self.kinesis_mappings,
            self.bus,
        ]

    def _run_until_quiet(self) -> None:
        for _ in range(QUIET_AFTER):
            progressed = False
            for pump in self._pumps():
                progressed |= bool(pump.run())
            if not progressed:
                return
        raise StackNotQuiet(f"the stack was still busy after {QUIET_AFTER} passes: see invocations()")

    def _next_due(self) -> float | None:
        times = [t for t in (pump.next_due() for pump in self._pumps()) if t is not None]
        return min(times) if times else None

    def _advance_to(self, end: float) -> None:
        self._run_until_quiet()
        while True:
            due = self._next_due()
            if due is None or due > end:
                if end > self.clock.now():
                    self.clock.set(end)
                self._run_until_quiet()
                return
            if due > self.clock.now():
                self.clock.set(due)
            self._run_until_quiet()

    # -- helpers -------------------------------------------------------------------------------------
    def _number(self, text: str) -> str:
        try:
            return to_e164(str(text))
        except InvalidPhoneNumber as error:
            raise Refused(f"{text!r} is not a phone number: {error}") from None

    def _publish(self, message: str) -> None:
        topic = self.number.number.topic_arn
        if not topic:
            raise Refused("the number has no two-way destination in this stack")
        self.sns.publish(TopicArn=topic, Message=message)

    def _last_text_to(self, customer: str) -> str | None:
        sent = self.number.sms.sent_to(customer)
        return sent[-1].message_id if sent else None

    def _observe_requests(self, body: str) -> None:
        try:
            request = json.loads(body)
        except ValueError:
            return
        if isinstance(request, dict) and isinstance(request.get("idempotencyKey"), str):
            destination = request.get("destination")
            if isinstance(destination, str):
                self.destinations.setdefault(request["idempotencyKey"], destination)

    def _outbound_queue_url(self) -> str:
        url = self.outputs.get("OutboundQueueUrl") or self.functions.get("sender", _NO_FUNCTION).environment.get(
            "OUTBOUND_QUEUE_URL"
        )
        if not url:
            raise Refused("this stack has no outbound queue")
        return str(url)

    def _templates(self) -> dict[str, TemplateInfo]:
        from two_way_sms.outbound.templates import templates_from_json

        text = self.functions.get("sender", _NO_FUNCTION).environment.get("TEMPLATES")
        if not text:
            return {}
        return {
            template_id: TemplateInfo(body=t.body, message_type=t.message_type, variables=sorted(t.placeholders))
            for template_id, t in templates_from_json(text).items()
        }

    def _flows(self) -> list[str]:
        for label in ("inbound", "sender"):
            parameter = self.functions.get(label, _NO_FUNCTION).environment.get("FLOWS_PARAMETER")
            if parameter:
                value = self.ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
                return sorted(json.loads(value))
        return []

    def _keywords(self) -> list[str]:
        from two_way_sms.responder import ResponderSettings

        number = self.number.number
        words = [*number.mandatory_keywords, *(k["Keyword"].upper() for k in number.optional_keywords)]
        responder_json = self.functions.get("inbound", _NO_FUNCTION).environment.get("RESPONDER_SETTINGS")
        if responder_json:
            responder = ResponderSettings.from_json(responder_json)
            # Every language's help words (AYUDA, AIDE) and opt-out words (ALTO, ARRET): the handler answers them all.
            words += [*responder.help_words, *responder.opt_out_words, *responder.opt_in_words, *responder.auto_replies]
        return list(dict.fromkeys(words))

    def _describe(self) -> Description:
        number = self.number.number
        return Description(
            stack_name=self.stack.stack_name,
            config_source=self.config_source,
            business_number=number.e164,
            number_type=number.number_type,
            mps=self.number.sms.mps,
            templates=self._templates(),
            flows=self._flows(),
            keywords=self._keywords(),
            sample_customers=list(SAMPLE_CUSTOMERS),
            functions={label: f.handler_path for label, f in self.functions.items()},
        )


class _NoFunction:
    environment: dict[str, str] = {}
    arn = ""


_NO_FUNCTION: Any = _NoFunction()


def _epoch(iso_text: str) -> float:
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def _implements_the_contract(sandbox: Sandbox) -> SandboxApi:
    return sandbox  # mypy checks that Sandbox has every operation of the contract, with its signature
