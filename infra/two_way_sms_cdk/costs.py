"""What the stack costs while it is idle, from its synthesized template: an ESTIMATE for us-east-1.

``idle_cost_table(template)`` prices every resource of a CloudFormation template (a dict, as
``cdk synth`` writes it) that costs money while no text comes or goes: KMS keys, the Kinesis
stream's shard- or stream-hours, CloudWatch alarm metrics and dashboards, the phone number's
lease, the SQS event sources' idle polling, schedules' own invocations, an advanced SSM
parameter. Every other resource type is listed with why it costs nothing while idle
(``costs_prices.NO_IDLE_COST``); a type the price table does not know is reported as
unpriced (``IdleCostTable.unpriced``), never silently left out.

The prices, their sources, the date they were read and how sure each is are in
``two_way_sms_cdk.costs_prices``. List prices only: no taxes, no discounts; free tiers are
shown apart (they are per account, shared with everything else in it).

The total is set against the goal (``costs_prices.GOAL_USD``, $15 a month): over it, the table
says what stands in the way, each priced type the stack keeps with why (``costs_prices.WHY_KEPT``;
each key with its trust boundary, ``key_boundary``).

- ``format_table(table)``: the table as text (``make bench``, the CLI's ``config explain``);
- ``markdown_table(table)``: the same for the README (between ``<!-- idle-cost:start -->`` and
  ``<!-- idle-cost:end -->``; ``python -m two_way_sms_cdk.costs README.md`` rewrites it);
- ``synthesize_template(config)``: the stack's template, built in process the way ``app.py`` builds it;
- ``idle_cost_lines(config)``: synthesize, price, format: one call for the CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from two_way_sms_cdk import costs_prices as prices

LABEL = (
    f"ESTIMATE: list prices in {prices.REGION}, read {prices.READ_ON}, not a quote; "
    "sources in two_way_sms_cdk.costs_prices"
)
MARKERS = ("<!-- idle-cost:start -->", "<!-- idle-cost:end -->")
NO_IDLE_COST = "no idle cost"
UNPRICED = "UNPRICED"
_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}


@dataclass(frozen=True)
class CostRow:
    """One line of the table: a resource type (or one kind of it), how many units, at what price."""

    resource_type: str
    what: str
    resources: int  # template resources behind the row
    units: Decimal  # priced units (keys, shard-hours, alarm metrics, ...)
    unit: str
    unit_usd: Decimal | None  # None: no idle cost
    status: str  # official / secondary / unverified, NO_IDLE_COST or UNPRICED
    note: str = ""

    @property
    def monthly_usd(self) -> Decimal:
        return self.units * self.unit_usd if self.unit_usd is not None else Decimal(0)


@dataclass(frozen=True)
class IdleCostTable:
    rows: tuple[CostRow, ...]
    free_tier_usd: Decimal = Decimal(0)  # what the always-free tiers could take off, if the account has them unused
    rotation_growth_usd: Decimal = Decimal(0)  # added by key rotation from the third year on
    notes: tuple[str, ...] = field(default=())
    key_boundaries: tuple[str, ...] = field(default=())  # each key's kind (``key_boundary``), as the template has them
    left_out: tuple[str, ...] = field(default=())  # the package's opt-ins this template leaves off, each with its price

    @property
    def total_usd(self) -> Decimal:
        return sum((row.monthly_usd for row in self.rows), Decimal(0))

    @property
    def priced(self) -> tuple[CostRow, ...]:
        """The rows with a price, dearest first."""
        rows = [row for row in self.rows if row.status not in (NO_IDLE_COST, UNPRICED)]
        return tuple(sorted(rows, key=lambda row: -row.monthly_usd))

    @property
    def free(self) -> tuple[CostRow, ...]:
        return tuple(row for row in self.rows if row.status == NO_IDLE_COST)

    @property
    def unpriced(self) -> tuple[str, ...]:
        return tuple(sorted({row.resource_type for row in self.rows if row.status == UNPRICED}))

    def covers(self) -> set[str]:
        """Every resource type a row accounts for (priced, free or unpriced)."""
        return {row.resource_type for row in self.rows}

    @property
    def over_goal_usd(self) -> Decimal:
        """How far the total is above ``costs_prices.GOAL_USD`` (0 when within it)."""
        return max(self.total_usd - prices.GOAL_USD, Decimal(0))

    def in_the_way(self) -> tuple[tuple[CostRow, str], ...]:
        """The priced rows the stack keeps, dearest first, each with why (``costs_prices.WHY_KEPT``)."""
        kept = []
        for row in self.priced:
            why = prices.WHY_KEPT.get(row.resource_type)
            if why is None:
                continue
            if row.resource_type == "AWS::KMS::Key" and self.key_boundaries:
                counted = Counter(self.key_boundaries)
                why = "; ".join(
                    f"{counted[kind]} x {prices.KEY_BOUNDARIES[kind]}"
                    if counted[kind] > 1
                    else prices.KEY_BOUNDARIES[kind]
                    for kind in prices.KEY_BOUNDARIES
                    if counted[kind]
                )
            kept.append((row, why))
        return tuple(kept)

    def goal_lines(self) -> list[str]:
        """The total against the goal and, over it, what stands in the way."""
        goal = money(prices.GOAL_USD)
        if not self.over_goal_usd:
            return [f"GOAL at most {goal} a month: met ({money(self.total_usd)})"]
        lines = [
            f"GOAL at most {goal} a month: {money(self.over_goal_usd)} over. What stands in the way, kept on purpose:"
        ]
        kept = self.in_the_way()
        lines += [f"{money(row.monthly_usd)} {row.what}: {why}" for row, why in kept]
        unalarmed = sum(
            (row.monthly_usd for row, _ in kept if row.resource_type != "AWS::CloudWatch::Alarm"), Decimal(0)
        )
        if unalarmed > prices.GOAL_USD:
            lines.append(
                f"without a single alarm, what is left still costs {money(unalarmed)}: over the goal by itself"
            )
        return lines


# -- pricing a template --------------------------------------------------------------------------------
def idle_cost_table(template: Mapping[str, Any]) -> IdleCostTable:
    """Prices ``template``'s resources while idle (see the module's docstring)."""
    resources: dict[str, dict[str, Any]] = dict(template.get("Resources", {}))
    by_type: dict[str, dict[str, dict[str, Any]]] = {}
    for logical_id, resource in resources.items():
        by_type.setdefault(resource["Type"], {})[logical_id] = resource
    rows: list[CostRow] = []
    notes: list[str] = []
    free_tier = rotation_growth = Decimal(0)
    boundaries: list[str] = []
    for resource_type in sorted(by_type):
        found = by_type[resource_type]
        properties = [resource.get("Properties", {}) for resource in found.values()]
        if resource_type == "AWS::KMS::Key":
            rotating = sum(1 for p in properties if _true(p.get("EnableKeyRotation")))
            boundaries = [key_boundary(p) for p in properties]
            rotation_growth += rotating * prices.KMS_ROTATIONS_BILLED * prices.KMS_ROTATION.usd
            rows.append(
                _row(
                    resource_type,
                    "KMS keys (customer managed)",
                    len(found),
                    len(found),
                    prices.KMS_KEY,
                    f"{rotating} rotate yearly: +${prices.KMS_ROTATION.usd} each after a rotation, "
                    f"for the first {prices.KMS_ROTATIONS_BILLED}",
                )
            )
        elif resource_type == "AWS::Kinesis::Stream":
            rows.extend(_kinesis(resource_type, properties))
        elif resource_type == "AWS::CloudWatch::Alarm":
            alarm_rows, eligible = _alarms(resource_type, properties)
            rows.extend(alarm_rows)
            free_tier += min(eligible, prices.FREE_ALARM_METRICS) * prices.ALARM_METRIC.usd
            if eligible < prices.FREE_ALARM_METRICS:
                notes.append(
                    f"{sum(r.units for r in alarm_rows):.0f} alarm metrics, {eligible} of them eligible for the free "
                    f"tier's {prices.FREE_ALARM_METRICS} (it covers only alarms that list a metric directly, no math)"
                )
        elif resource_type == "AWS::CloudWatch::CompositeAlarm":
            rows.append(_row(resource_type, "composite alarms", len(found), len(found), prices.COMPOSITE_ALARM))
        elif resource_type == "AWS::CloudWatch::Dashboard":
            metrics = [dashboard_metrics(p.get("DashboardBody")) for p in properties]
            eligible = sum(1 for n in metrics if n <= prices.FREE_DASHBOARD_METRICS)
            free_tier += min(eligible, prices.FREE_DASHBOARDS) * prices.DASHBOARD.usd
            shown = ", ".join(str(n) for n in metrics)
            rows.append(
                _row(
                    resource_type,
                    "CloudWatch dashboards",
                    len(found),
                    len(found),
                    prices.DASHBOARD,
                    f"{shown} metrics (free tier: {prices.FREE_DASHBOARDS} dashboards of up to "
                    f"{prices.FREE_DASHBOARD_METRICS} metrics each per account)",
                )
            )
        elif resource_type == "AWS::SMSVOICE::PhoneNumber":
            rows.extend(_numbers(resource_type, properties))
        elif resource_type == "AWS::Lambda::EventSourceMapping":
            rows.extend(_event_sources(resource_type, properties, resources))
        elif resource_type == "AWS::Scheduler::Schedule":
            rows.append(_schedules(resource_type, properties))
        elif resource_type == "AWS::SSM::Parameter":
            advanced = sum(1 for p in properties if p.get("Tier") in ("Advanced", "Intelligent-Tiering"))
            if advanced:
                rows.append(
                    _row(resource_type, "SSM parameters (Advanced)", advanced, advanced, prices.SSM_ADVANCED_PARAMETER)
                )
            if len(found) - advanced:
                rows.append(_free(resource_type, "SSM parameters (Standard)", len(found) - advanced, "Standard: free"))
        elif resource_type == "AWS::DynamoDB::Table":
            provisioned = sum(1 for p in properties if p.get("BillingMode", "PROVISIONED") == "PROVISIONED")
            if provisioned:
                rows.append(_unpriced(resource_type, "DynamoDB tables (PROVISIONED capacity)", provisioned))
            if len(found) - provisioned:
                rows.append(
                    _free(
                        resource_type, "DynamoDB tables", len(found) - provisioned, prices.NO_IDLE_COST[resource_type]
                    )
                )
        elif resource_type in prices.NO_IDLE_COST:
            rows.append(_free(resource_type, _plural(resource_type), len(found), prices.NO_IDLE_COST[resource_type]))
        else:
            rows.append(_unpriced(resource_type, _plural(resource_type), len(found)))
    return IdleCostTable(
        tuple(rows), free_tier, rotation_growth, tuple(notes), tuple(sorted(boundaries)), opt_ins_left_out(resources)
    )


def opt_ins_left_out(resources: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    """What a two-way SMS stack's config could add, priced, when the template leaves it off: the
    dashboard, the function-error alarms, the HMAC key of a flow's one-use codes. Nothing for a
    template without the package's functions."""
    functions = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r.get("Properties", {}).get("Handler", "")).startswith("two_way_sms.handlers.")
    ]
    if not functions:
        return ()
    types = [r["Type"] for r in resources.values()]
    alarms = [r.get("Properties", {}) for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    keys = [r.get("Properties", {}) for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    left_out = []
    if "AWS::CloudWatch::Dashboard" not in types:
        left_out.append(f"the dashboard +{money(prices.DASHBOARD.usd)} (monitoring.dashboard)")
    if not any(_watches_lambda_errors(alarm) for alarm in alarms):
        left_out.append(
            f"an alarm per function that keeps failing +{money(len(functions) * prices.ALARM_METRIC.usd)} "
            f"({len(functions)} functions, monitoring.function_error_alarms)"
        )
    if not any(key_boundary(key) == "codes" for key in keys):
        left_out.append(f"a flow that takes one-use codes (transaction) +{money(prices.KMS_KEY.usd)} (their HMAC key)")
    return tuple(left_out)


def _watches_lambda_errors(alarm: Mapping[str, Any]) -> bool:
    metrics = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q] or [alarm]
    return any(m.get("Namespace") == "AWS/Lambda" and m.get("MetricName") == "Errors" for m in metrics)


def key_boundary(properties: Mapping[str, Any]) -> str:
    """Which kind of key an ``AWS::KMS::Key`` is (a ``costs_prices.KEY_BOUNDARIES`` name): an HMAC key
    (``codes``), one whose policy lets End User Messaging use it and stores nothing else (``topic``:
    no CloudWatch Logs statement), or a ``data`` key (the stack's also serves the inbound topic)."""
    if str(properties.get("KeySpec", "")).startswith("HMAC"):
        return "codes"
    policy = json.dumps(properties.get("KeyPolicy", {}))
    if "sms-voice.amazonaws.com" in policy and '"logs.' not in policy:
        return "topic"
    return "data"


def _row(resource_type: str, what: str, resources: int, units: Any, price: prices.Price, note: str = "") -> CostRow:
    return CostRow(resource_type, what, resources, Decimal(units), price.unit, price.usd, price.status, note)


def _free(resource_type: str, what: str, resources: int, why: str) -> CostRow:
    return CostRow(resource_type, what, resources, Decimal(resources), "resource", None, NO_IDLE_COST, why)


def _unpriced(resource_type: str, what: str, resources: int) -> CostRow:
    note = "not in two_way_sms_cdk.costs_prices: price it (or list why it costs nothing idle)"
    return CostRow(resource_type, what, resources, Decimal(resources), "resource", None, UNPRICED, note)


def _true(value: Any) -> bool:
    return value is True or value == "true"


def _plural(resource_type: str) -> str:
    return resource_type.removeprefix("AWS::").replace("::", " ")


def _kinesis(resource_type: str, properties: list[dict[str, Any]]) -> list[CostRow]:
    shards = on_demand = provisioned = 0
    for p in properties:
        if p.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED") == "ON_DEMAND":
            on_demand += 1
        else:
            provisioned += 1
            shards += int(p.get("ShardCount", 1))
    rows = []
    if provisioned:
        rows.append(
            _row(
                resource_type,
                f"Kinesis stream, PROVISIONED, {shards} shard{'s' if shards != 1 else ''}",
                provisioned,
                shards * prices.HOURS_PER_MONTH,
                prices.KINESIS_SHARD_HOUR,
                f"{shards} x {prices.HOURS_PER_MONTH} shard-hours",
            )
        )
    if on_demand:
        rows.append(
            _row(
                resource_type,
                "Kinesis stream, ON_DEMAND",
                on_demand,
                on_demand * prices.HOURS_PER_MONTH,
                prices.KINESIS_STREAM_HOUR,
                f"{on_demand} x {prices.HOURS_PER_MONTH} stream-hours, plus data by use",
            )
        )
    return rows


def _alarms(resource_type: str, properties: list[dict[str, Any]]) -> tuple[list[CostRow], int]:
    """Rows for standard and high-resolution alarm metrics, and how many metrics the free tier may cover."""
    standard = high = eligible = 0
    standard_alarms = high_alarms = 0
    for p in properties:
        queries = p.get("Metrics")
        if queries:
            stats = [q["MetricStat"] for q in queries if "MetricStat" in q]
            periods = [int(s.get("Period", 60)) for s in stats]
            count = len(stats)
        else:
            periods, count = [int(p.get("Period", 60))], 1
            eligible += 1  # lists its metric directly
        if any(period < 60 for period in periods):
            high, high_alarms = high + count, high_alarms + 1
        else:
            standard, standard_alarms = standard + count, standard_alarms + 1
    rows = []
    if standard:
        rows.append(
            _row(
                resource_type,
                f"CloudWatch alarms ({standard_alarms}), standard resolution",
                standard_alarms,
                standard,
                prices.ALARM_METRIC,
                f"{standard} alarm metrics (metric math: each metric in an alarm is billed)",
            )
        )
    if high:
        rows.append(
            _row(
                resource_type,
                f"CloudWatch alarms ({high_alarms}), high resolution",
                high_alarms,
                high,
                prices.HIGH_RESOLUTION_ALARM_METRIC,
            )
        )
    return rows, eligible


def dashboard_metrics(body: Any) -> int:
    """How many metrics a dashboard's widgets graph (``DashboardBody``: a string, or an ``Fn::Join`` of one)."""
    if isinstance(body, Mapping) and "Fn::Join" in body:
        separator, parts = body["Fn::Join"]
        body = separator.join(part if isinstance(part, str) else "TOKEN" for part in parts)
    if not isinstance(body, str):
        return 0
    try:
        widgets = json.loads(body).get("widgets", [])
    except ValueError:  # a token outside a string: count the metric arrays instead
        return len(re.findall(r'\[\s*"[A-Za-z0-9/._-]+"\s*,\s*"', body))
    count = 0
    for widget in widgets:
        for metric in widget.get("properties", {}).get("metrics", []) or []:
            if isinstance(metric, list) and metric and not isinstance(metric[0], Mapping):
                count += 1
    return count


def _numbers(resource_type: str, properties: list[dict[str, Any]]) -> list[CostRow]:
    by_type = Counter(str(p.get("NumberType", "?")) for p in properties)
    rows = []
    for number_type, n in sorted(by_type.items()):
        price = prices.NUMBER_LEASE.get(number_type)
        if price is None:
            rows.append(_unpriced(resource_type, f"phone number ({number_type})", n))
            continue
        rows.append(_row(resource_type, f"phone number lease ({number_type})", n, n, price))
        if number_type == "TEN_DLC":
            rows.append(
                _row(resource_type, "10DLC campaign (registered for the number)", 0, 1, prices.TEN_DLC_CAMPAIGN)
            )
    return rows


def _event_sources(
    resource_type: str, properties: list[dict[str, Any]], resources: Mapping[str, dict[str, Any]]
) -> list[CostRow]:
    sources = Counter(_source_type(p.get("EventSourceArn"), resources) for p in properties)
    rows = []
    sqs = sources.pop("AWS::SQS::Queue", 0)
    if sqs:
        rows.append(_row(resource_type, f"SQS event sources ({sqs}), idle polling", sqs, sqs, prices.SQS_IDLE_POLLING))
    others = sum(sources.values())
    if others:
        kinds = ", ".join(f"{n} {kind.removeprefix('AWS::')}" for kind, n in sorted(sources.items()))
        rows.append(
            _free(resource_type, "other event sources", others, f"{kinds}: reads included in the stream's hours")
        )
    return rows


def _source_type(arn: Any, resources: Mapping[str, dict[str, Any]]) -> str:
    if isinstance(arn, Mapping) and "Fn::GetAtt" in arn:
        target = resources.get(arn["Fn::GetAtt"][0], {})
        return str(target.get("Type", "?"))
    text = str(arn)
    return "AWS::SQS::Queue" if ":sqs:" in text else "AWS::Kinesis::Stream" if ":kinesis:" in text else "?"


def _schedules(resource_type: str, properties: list[dict[str, Any]]) -> CostRow:
    invocations = Decimal(0)
    described = []
    for p in properties:
        expression = str(p.get("ScheduleExpression", ""))
        match = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression)
        if match and match.group(2) in _MINUTES:
            per_month = prices.HOURS_PER_MONTH * 60 / (int(match.group(1)) * _MINUTES[match.group(2)])
            invocations += per_month
            described.append(f"{expression}: {per_month:,.0f} a month")
        else:
            described.append(f"{expression}: by use")
    note = "; ".join(described) + " (14 million free a month; the target's own work is billed by use)"
    return _row(
        resource_type,
        "EventBridge Scheduler schedules",
        len(properties),
        invocations,
        prices.SCHEDULER_INVOCATION,
        note,
    )


# -- showing it -------------------------------------------------------------------------------------------
def money(usd: Decimal) -> str:
    return f"${usd:,.2f}" if usd >= Decimal("0.01") or usd == 0 else f"${usd:.4f}"


def _unit_price(row: CostRow) -> str:
    if row.unit_usd is None:
        return "-"
    cents = row.unit_usd.quantize(Decimal("0.01"))
    shown = f"${cents:,}" if cents == row.unit_usd else f"${row.unit_usd.normalize():f}"
    return f"{shown}/{row.unit}"


def _units(row: CostRow) -> str:
    return f"{row.units:,.0f}" if row.units == row.units.to_integral_value() else f"{row.units:,.1f}"


def format_table(table: IdleCostTable, *, indent: str = "") -> list[str]:
    """The table as text lines: priced rows, then the types that cost nothing idle, the total, the notes."""
    lines = [f"{indent}Idle cost per month of this stack's resources ({LABEL})"]
    lines.append(f"{indent}{'resource':<48} {'units':>8} {'unit price':>22} {'per month':>10}  source")
    for row in table.priced:
        lines.append(
            f"{indent}{row.what:<48} {_units(row):>8} {_unit_price(row):>22} {money(row.monthly_usd):>10}  {row.status}"
        )
        if row.note:
            lines.append(f"{indent}  {row.note}")
    lines.append(f"{indent}{'TOTAL (estimate, before free tiers)':<80} {money(table.total_usd):>10}")
    if table.free_tier_usd:
        lines.append(
            f"{indent}  the always-free tier could take off up to {money(table.free_tier_usd)} "
            "(per account: only if nothing else in the account uses it)"
        )
    if table.rotation_growth_usd:
        lines.append(
            f"{indent}  from the third year, key rotation adds {money(table.rotation_growth_usd)}: "
            f"{money(table.total_usd + table.rotation_growth_usd)} a month"
        )
    for note in table.notes:
        lines.append(f"{indent}  {note}")
    goal, *in_the_way = table.goal_lines()
    lines.append(f"{indent}{goal}")
    lines.extend(f"{indent}  {line}" for line in in_the_way)
    if table.left_out:
        lines.append(f"{indent}Opt-ins left off, each alone: {'; '.join(table.left_out)}")
    if table.unpriced:
        lines.append(f"{indent}UNPRICED resource types (not in the price table): {', '.join(table.unpriced)}")
    free = ", ".join(f"{row.resource_type.removeprefix('AWS::')} x{row.resources}" for row in table.free)
    lines.append(f"{indent}No idle cost (billed by use or storage, or free): {free}")
    return lines


def markdown_table(table: IdleCostTable) -> str:
    """The README's table (generated: ``python -m two_way_sms_cdk.costs README.md``)."""
    lines = [
        "| Resource (default config) | Units | Unit price | Per month | Price source |",
        "|---|---:|---:|---:|---|",
    ]
    for row in table.priced:
        lines.append(f"| {row.what} | {_units(row)} | {_unit_price(row)} | {money(row.monthly_usd)} | {row.status} |")
    lines.append(f"| **Total, before free tiers** | | | **{money(table.total_usd)}** | estimate |")
    free = ", ".join(f"{row.resource_type.removeprefix('AWS::')} x{row.resources}" for row in table.free)
    extra = []
    if table.free_tier_usd:
        extra.append(f"the always-free tier could take off up to {money(table.free_tier_usd)}")
    if table.rotation_growth_usd:
        extra.append(
            f"from the third year key rotation adds {money(table.rotation_growth_usd)} "
            f"({money(table.total_usd + table.rotation_growth_usd)} a month)"
        )
    goal, *in_the_way = table.goal_lines()
    return (
        "\n".join(lines)
        + f"\n\n{LABEL}. "
        + ("; ".join(extra).capitalize() + ". " if extra else "")
        + f"No idle cost (billed by use or storage, or free): {free}.\n\n"
        + f"**{goal}**\n"
        + "".join(f"\n- {line}" for line in in_the_way)
        + ("\n" if in_the_way else "")
        + (f"\nOpt-ins left off, each alone: {'; '.join(table.left_out)}.\n" if table.left_out else "")
    )


def replace_between_markers(text: str, generated: str) -> str:
    start, end = MARKERS
    before, found, rest = text.partition(start)
    if not found or end not in rest:
        raise ValueError(f"the markers {start} and {end} are not both in the text")
    _, _, after = rest.partition(end)
    return f"{before}{start}\n{generated}{end}{after}"


def between_markers(text: str) -> str:
    start, end = MARKERS
    return text.split(start, 1)[1].split(end, 1)[0].lstrip("\n")


# -- the template -----------------------------------------------------------------------------------------
def synthesize_template(
    config: Any = None, *, repo_root: Path | str | None = None, stack_name: str = "TwoWaySms"
) -> dict[str, Any]:
    """The stack's template for ``config`` (a ``TwoWaySmsConfig``; None: ``cdk.json``'s), built in process as
    ``app.py`` builds it, with ``cdk.json``'s feature flags when there is one. Imports ``aws_cdk`` (seconds)."""
    root = Path(repo_root) if repo_root is not None else Path.cwd()
    context: dict[str, Any] = {}
    if (root / "cdk.json").is_file():
        context = dict(json.loads((root / "cdk.json").read_text()).get("context", {}))
    node = Path(sys.executable).with_name("node")
    if node.is_file():  # jsii on the virtual environment's Node, as app.py arranges
        os.environ.setdefault("JSII_NODE", str(node))
    import aws_cdk as cdk

    from two_way_sms_cdk.config import CONTEXT_KEY, load_config
    from two_way_sms_cdk.stacks.two_way_sms_stack import TwoWaySmsStack

    if config is None:
        config = load_config(context.get(CONTEXT_KEY))
    flags = {key: value for key, value in context.items() if key not in (CONTEXT_KEY, "configFile", "stackName")}
    # From the root, as `cdk synth` runs: the functions' dependency layer is read from ./.build there.
    with tempfile.TemporaryDirectory(prefix="two-way-sms-costs-") as outdir, contextlib.chdir(root):
        app = cdk.App(outdir=outdir, context=flags)
        stack = TwoWaySmsStack(app, stack_name, config=config)
        app.synth()
        template: dict[str, Any] = json.loads((Path(outdir) / stack.template_file).read_text())
    return template


def idle_cost_lines(config: Any = None, *, template: Mapping[str, Any] | None = None) -> list[str]:
    """The table as text for ``config`` (synthesized here, from the current directory) or an already synthesized
    ``template``; one line saying why when the stack cannot be synthesized here (no Node, no dependency layer)."""
    if template is None:
        try:
            template = synthesize_template(config)
        except Exception as error:  # noqa: BLE001 - an explanation, not a crash, in a report
            return [f"idle cost: the stack cannot be synthesized here to price it ({error})"]
    return format_table(idle_cost_table(template))


def main(argv: list[str]) -> int:
    """``python -m two_way_sms_cdk.costs [README.md]``: print the table for cdk.json's config, or rewrite the
    README's generated block."""
    table = idle_cost_table(synthesize_template())
    if not argv:
        print("\n".join(format_table(table)))
        return 0
    path = Path(argv[0])
    path.write_text(replace_between_markers(path.read_text(), markdown_table(table)))
    print(f"{path}: idle-cost table rewritten ({money(table.total_usd)} a month)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
