"""Issue 15 (performance at carrier scale): the sections that measure it, and its table of figures.

17. the sender's sustained texts per second with AWS latency modelled (``sender_throughput``);
18-19. the inbound and delivery events handlers under the same model (``handler_latency``);
20. the default stack's idle cost, from its synthesized template (``two_way_sms_cdk.costs``);
21. "Issue 15 figures": every row of the issue's table with this run's value beside the issue's
    figure and the goal, plus the figures the issue asked for and nobody had (the sender against
    the number's MPS). Later sessions run the same section and read their "now" as the "after".

``run.py`` passes what its own sections 1-3 measured (the decision cost, the import time, the AWS
calls per path); ``python bench/issue15.py`` runs those three first, then 17-21.
"""

from __future__ import annotations

from dataclasses import dataclass

import environment  # noqa: F401  (the import path and Powertools' environment)
from aws_calls import PathCalls
from handler_latency import EventsRun, InboundPath, print_events_latency, print_inbound_latency
from latency import LatencyModel, default_shape, default_template
from sender_throughput import RATIO_GOAL, Burst, print_sender_throughput

from two_way_sms_cdk.costs import IdleCostTable, format_table, idle_cost_table, money

IDLE_GOAL_USD = 15
EVENTS_PER_TEXT = 3  # queued, successful, delivered


@dataclass
class Figures:
    """What the sections measured in this run (None: not measured)."""

    decision_ratios: list[float] | None = None  # section 1: parse + decide over json.loads, per body
    import_ratio: float | None = None  # section 2: the inbound handler's import + wiring over import boto3
    paths: list[PathCalls] | None = None  # section 3
    bursts: list[Burst] | None = None  # 17
    inbound: list[InboundPath] | None = None  # 18
    events: EventsRun | None = None  # 19
    idle: IdleCostTable | None = None  # 20
    model: LatencyModel | None = None


def print_issue15_sections(figures: Figures) -> Figures:
    """Sections 17-21."""
    shape = default_shape()
    figures.model = LatencyModel.from_environment()
    figures.bursts = print_sender_throughput()
    figures.inbound = print_inbound_latency(shape, figures.model)
    figures.events = print_events_latency(shape, figures.model)
    figures.idle = print_idle_cost()
    print_issue15_table(figures)
    return figures


def print_idle_cost() -> IdleCostTable:
    table = idle_cost_table(default_template())
    print("20. Idle cost of the default stack, priced from its synthesized template (two_way_sms_cdk.costs)")
    print("\n".join(format_table(table, indent="    ")))
    print(
        "    The same table: `python -m two_way_sms_cdk.costs` (README: `python -m two_way_sms_cdk.costs README.md`).\n"
    )
    return table


# -- 21. the table ----------------------------------------------------------------------------------------
def _path(paths: list[PathCalls] | None, startswith: str) -> PathCalls | None:
    return next((p for p in paths or [] if p.name.startswith(startswith)), None)


def _burst(bursts: list[Burst] | None, startswith: str) -> Burst | None:
    return next((b for b in bursts or [] if b.case.label.startswith(startswith)), None)


def _inbound(paths: list[InboundPath] | None, startswith: str) -> InboundPath | None:
    return next((p for p in paths or [] if p.name.startswith(startswith)), None)


def rows(f: Figures) -> list[tuple[str, str, str, str, bool | None]]:
    """(figure, the issue's, goal, now, meets the goal) for each row; "-" where not measured in this run."""
    keyword, default = _path(f.paths, "keyword HOURS"), _path(f.paths, "unknown text")
    flow = _inbound(f.inbound, "reply inside a flow")
    short, pool = _burst(f.bursts, "SHORT_CODE"), _burst(f.bursts, "pool of 10")
    toll_free, promo = _burst(f.bursts, "TOLL_FREE"), _burst(f.bursts, "PROMOTIONAL")
    reply_calls = [p.total for p in (keyword, default) if p is not None]
    table: list[tuple[str, str, str, str, bool | None]] = [
        (
            "inbound import (cold start) vs `import boto3`",
            "4.2x",
            "<= 1.3x",
            f"{f.import_ratio:.1f}x" if f.import_ratio else "-",
            f.import_ratio <= 1.3 if f.import_ratio else None,
        ),
        (
            "deciding a reply vs `json.loads`",
            "8-57x",
            "<= 10x",
            f"{min(f.decision_ratios):.0f}-{max(f.decision_ratios):.0f}x" if f.decision_ratios else "-",
            max(f.decision_ratios) <= 10 if f.decision_ratios else None,
        ),
        (
            "AWS calls per keyword/default reply",
            "5",
            "<= 3",
            "/".join(str(n) for n in reply_calls) or "-",
            max(reply_calls) <= 3 if reply_calls else None,
        ),
        (
            "AWS calls per inbound reply inside a flow",
            "8",
            "<= 5",
            str(flow.total) if flow else "-",
            flow.total <= 5 if flow else None,
        ),
        (
            "delivery events: handler's own records/s",
            "~930",
            ">= 2,000",
            f"{f.events.own_records_per_second:,.0f}" if f.events else "-",
            f.events.own_records_per_second >= 2000 if f.events else None,
        ),
        (
            "delivery events: DynamoDB requests per record, in order",
            "1.67",
            "<= 1.0",
            f"{f.events.dynamodb_per_record:.2f}" if f.events else "-",
            f.events.dynamodb_per_record <= 1.0 if f.events else None,
        ),
        (
            "sender: AWS calls per text",
            "5.4",
            "<= 3.5",
            f"{short.calls_per_text:.2f}" + (f", promotional {promo.calls_per_text:.2f}" if promo else "")
            if short
            else "-",
            max(b.calls_per_text for b in (short, promo) if b) <= 3.5 if short else None,
        ),
        (
            "fixed monthly cost of the default stack",
            "$20-35",
            f"<= ${IDLE_GOAL_USD}, from the template",
            f"{money(f.idle.total_usd)} (generated)" if f.idle else "-",
            f.idle.total_usd <= IDLE_GOAL_USD if f.idle else None,
        ),
        (
            "sender, 100 MPS short code: texts/s over MPS",
            "~0.33 (estimate)",
            f">= {RATIO_GOAL}",
            f"{short.ratio:.3f} ({short.texts_per_second:.1f}/s)" if short else "-",
            short.ratio >= RATIO_GOAL if short else None,
        ),
        (
            "sender, pool of 10 long codes: over summed MPS",
            "-",
            f">= {RATIO_GOAL}",
            f"{pool.ratio:.3f} ({pool.texts_per_second:.2f}/s)" if pool else "-",
            pool.ratio >= RATIO_GOAL if pool else None,
        ),
        (
            "sender, toll-free (3 MPS): texts/s over MPS",
            "-",
            f">= {RATIO_GOAL} (section 8's)",
            f"{toll_free.ratio:.3f} ({toll_free.throttles} throttled)" if toll_free else "-",
            toll_free.ratio >= RATIO_GOAL if toll_free else None,
        ),
    ]
    if f.events is not None and f.model is not None:
        shape = default_shape()
        per_shard = f.events.records_per_second_per_shard(f.model, shape.events.parallelization)
        needed = EVENTS_PER_TEXT * (short.case.mps if short else 100)
        table.append(
            (
                "delivery events with latency: records/s per shard",
                "-",
                f">= {needed:.0f} (3 events x 100 MPS; ours)",
                f"{per_shard:.0f}",
                per_shard >= needed,
            )
        )
    return table


def print_issue15_table(figures: Figures) -> None:
    model = figures.model.describe() if figures.model else "-"
    print(
        '21. Issue 15 figures: the issue\'s table, this run\'s value ("now"; run it again after a change for "after")\n'
        f"    latency model of the sender rows and the last: {model}"
    )
    print(f"    {'figure':<56} {'issue':>16} {'goal':>30} {'now':>24}  met")
    for name, before, goal, now, met in rows(figures):
        verdict = "-" if met is None else "yes" if met else "NO"
        print(f"    {name:<56} {before:>16} {goal:>30} {now:>24}  {verdict}")
    print(
        "    Rows 1-3 come from sections 1-3, the flow reply from 18, delivery events from 19 (batches of the stack's\n"
        "    BatchSize; own compute on this machine, 1 run: noisy), the sender from 17 (2,000 one-part texts), the\n"
        "    cost from 20. Timings vary by machine and load; ratios and counts much less.\n"
    )


def main() -> None:
    import run  # sections 1-3 (run.py imports this module: imported here, when run alone)
    from aws_calls import count_calls_per_path

    figures = Figures()
    figures.decision_ratios = run.print_decision_cost()
    figures.import_ratio = run.print_import_times()
    figures.paths = count_calls_per_path()
    run.print_calls_per_path(figures.paths)
    print_issue15_sections(figures)


if __name__ == "__main__":
    main()
