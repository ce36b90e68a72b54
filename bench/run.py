"""Benchmark figures for the handlers: `make bench` (or `.venv/bin/python bench/run.py`).

Prints, never asserts:
1. the in-process cost of deciding a reply, next to ``json.loads`` of the same payload;
2. each function's cold start (import, settings, make_handler, its first message's clients) next to
   ``import boto3``, and the floor of boto3 and those clients alone (fresh interpreters; bench/cold_start.py);
3. the AWS API calls per inbound message, path by path (moto + Stubber, counted);
4. an estimate of the AWS cost per 1,000 inbound messages from those counts and list prices;
5-7. the delivery events handler: records per second for a 1,000-record batch, DynamoDB
   requests per record, the cost of reading one record (bench/delivery_events.py);
8-11. the outbound sender: the pacing ratio of a burst on a simulated clock, the pacing
   algorithm alone, sends per second in process and AWS calls per message, the AWS-side cost
   per 1,000 messages (bench/outbound.py; BENCH_OUTBOUND_FULL=1 for the issue's burst sizes);
12. conversations: the in-process cost of one inbound reply inside a flow (bench/conversation_turns.py);
13. conversations: the AWS calls per inbound reply inside a flow and per prompt opened;
14. the inbound handler under injected faults and duplicates: what reached customers, what was
   lost or sent twice, what the dead-letter queue holds and whether the logs explain it
   (bench/inbound_faults.py; BENCH_FAULTS_FULL=1 for 10,000 messages);
15. the sender under injected faults and duplicates: requests texted twice or never, outcomes,
   what the dead-letter queue holds and whether the logs explain it (bench/sender_faults.py);
16. the delivery events handler under injected faults and Kinesis redelivery: the ledger and the
   month's spend against a clean run's, dead-lettered records (bench/events_faults.py);
17-21. issue 15: the sender's texts per second against the number's MPS with AWS latency modelled, the
   inbound and delivery events handlers under the same model, the default stack's idle cost from its
   template, and the issue's table of figures with this run's values (bench/issue15.py);
22. campaigns: a large CSV audience read whole, then fanned out in byte-range shards, rows/s per worker, AWS
   calls per row, and a projection to 1,000,000 rows (bench/campaign_fanout.py; BENCH_CAMPAIGN_ROWS).

Offline: no AWS account and no network; the timings depend on the machine, the ratios much less.
"""

from __future__ import annotations

import json
import statistics
import timeit
from collections.abc import Callable
from dataclasses import dataclass

from aws_calls import PathCalls, count_calls_per_path
from campaign_fanout import print_campaign_fanout_figures
from cold_start import measure_cold_starts, print_cold_starts
from conversation_turns import print_conversation_call_figures, print_conversation_figures
from delivery_events import print_events_figures
from environment import FIXTURES, inbound_payload, responder_settings
from events_faults import print_events_fault_figures
from inbound_faults import print_fault_figures
from issue15 import Figures, print_issue15_sections
from outbound import ListPrices, print_outbound_figures
from sender_faults import print_sender_fault_figures

from two_way_sms.encoding import analyse
from two_way_sms.inbound import parse_inbound
from two_way_sms.keywords import find_revocation
from two_way_sms.responder import decide

TIMING_REPEATS = 7
FREE_TEXT_160 = (
    "Hi, this is Maria. I booked a cleaning for next Tuesday at 10 but something came up at work; "
    "could we move it to Thursday afternoon? Thanks a lot, see you soon."
)
DECISION_BODIES = ("HOURS", "STOP please", FREE_TEXT_160, "please opt me out")

# -- list prices used by the estimate (US East, N. Virginia) -----------------------------------
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1e6  # on-demand, per write request unit (an item under 1 KB: 1 unit)
DYNAMODB_PER_READ_UNIT = 0.125 / 1e6  # on-demand, per read request unit (strongly consistent, under 4 KB: 1 unit)
LAMBDA_PER_GB_SECOND = 0.0000133334  # arm64
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_MEMORY_GB = 256 / 1024
LAMBDA_ASSUMED_SECONDS = 0.050
SQS_PER_REQUEST = 0.40 / 1e6
SQS_REQUESTS_PER_MESSAGE = 2  # the event source mapping's receive + delete
SNS_PER_PUBLISH = 0.50 / 1e6  # End User Messaging publishes each inbound text; SNS to SQS delivery is free
KMS_PER_MESSAGE = 0.0  # $0.03 per 10,000 requests, but data keys are cached: about nothing per message


def main() -> None:
    print("Two-way SMS inbound handler: benchmark figures (offline; timings vary by machine, ratios less)\n")
    decision_ratios = print_decision_cost()
    import_ratio = print_import_times()
    paths = count_calls_per_path()
    print_calls_per_path(paths)
    print_cost_estimate(paths)
    print()
    print_events_figures()
    price = sms_price()
    print_outbound_figures(
        ListPrices(
            dynamodb_per_write_unit=DYNAMODB_PER_WRITE_UNIT,
            dynamodb_per_read_unit=DYNAMODB_PER_READ_UNIT,
            lambda_per_gb_second=LAMBDA_PER_GB_SECOND,
            lambda_per_request=LAMBDA_PER_REQUEST,
            lambda_memory_gb=LAMBDA_MEMORY_GB,
            sqs_per_request=SQS_PER_REQUEST,
            sms_per_part=price.per_part,
            sms_source=price.source,
        )
    )
    print_conversation_figures()
    print_conversation_call_figures()
    print()
    print_fault_figures()
    print()
    print_sender_fault_figures()
    print()
    print_events_fault_figures()
    print()
    print_issue15_sections(Figures(decision_ratios=decision_ratios, import_ratio=import_ratio, paths=paths))
    print()
    print_campaign_fanout_figures()


# -- 1. deciding a reply --------------------------------------------------------------------------
def microseconds_per_call(function: Callable[[], object]) -> float:
    """Median over TIMING_REPEATS of the time of one call, in microseconds."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()  # enough calls for 0.2 s
    number = max(1, number // 4)
    return statistics.median(timer.repeat(repeat=TIMING_REPEATS, number=number)) / number * 1e6


def print_decision_cost() -> list[float]:
    """Prints section 1; returns each body's ratio to ``json.loads`` (issue 15's table reads them)."""
    settings = responder_settings()
    ratios = []
    print(
        "1. Deciding the reply to one inbound message, in process "
        f"(parse_inbound + decide; median of {TIMING_REPEATS} timeit repeats)"
    )
    print(f"   {'body':<24} {'intent':<8} {'parse+decide':>13} {'json.loads':>11} {'ratio':>7}")
    for body in DECISION_BODIES:
        payload = json.dumps(inbound_payload(body))
        intent = decide(parse_inbound(payload).body, opted_out=False, settings=settings).intent.value

        def parse_and_decide() -> None:
            decide(parse_inbound(payload).body, opted_out=False, settings=settings)

        ours = microseconds_per_call(parse_and_decide)
        baseline = microseconds_per_call(lambda: json.loads(payload))
        label = body if len(body) <= 24 else f"free text, {len(body)} chars"
        print(f"   {label:<24} {intent:<8} {ours:>10.1f} us {baseline:>8.1f} us {ours / baseline:>6.1f}x")
        ratios.append(ours / baseline)
    print("   (parse_inbound includes its own json.loads of the payload)")
    print_revocation_scaling()
    return ratios


def print_revocation_scaling() -> None:
    """The FCC revocation grammar on long texts with none in them: its time grows with the text, no faster
    (no pathological backtracking; it reads every inbound text that is not a keyword)."""
    short, long = ("all of it " * 15) + "please stop by", ("all of it " * 150) + "please stop by"
    times = [microseconds_per_call(lambda text=text: find_revocation(text)) for text in (short, long)]
    print(
        f"   find_revocation, no revocation in it: {len(short)} chars {times[0]:.0f} us, {len(long):,} chars "
        f"{times[1]:.0f} us ({len(long) / len(short):.1f}x the text, {times[1] / times[0]:.1f}x the time)\n"
    )


# -- 2. cold start -------------------------------------------------------------------------------------
def print_import_times() -> float:
    """Prints section 2 (bench/cold_start.py); returns the inbound function's start over ``import boto3``."""
    starts = measure_cold_starts()
    print_cold_starts(starts)
    return starts.ratio("inbound")


# -- 3. AWS calls per message -----------------------------------------------------------------------
def print_calls_per_path(paths: list[PathCalls]) -> None:
    print(
        "3. AWS API calls per inbound message (moto DynamoDB + Stubber End User Messaging, counted by a botocore hook)"
    )
    print(f"   {'path':<38} {'DynamoDB':>13} {'End User Msg':>13} {'total':>6}")
    for path in paths:
        dynamodb = f"{path.dynamodb} ({path.dynamodb_reads}R {path.dynamodb_writes}W)"
        print(f"   {path.name:<38} {dynamodb:>13} {path.messaging:>13} {path.total:>6}")
    print(
        "   (DynamoDB: a reply's claim (one UpdateItem that also refuses an opted-out number, no read before it),\n"
        "    then one TransactWriteItems that completes it and records it in the ledger; consent changes read the\n"
        "    number first (one Query); a duplicate stops at its refused claim. Issue 15 before: 5, 4, 9, 8, 5, 1;\n"
        "    before issue 12: 5, 5, 8, 8, 5 and 1 calls, a Powertools idempotency record instead of the reply log)\n"
    )


# -- 4. cost estimate ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmsPrice:
    base_per_part: float
    carrier_fee_per_part: float
    source: str

    @property
    def per_part(self) -> float:
        return self.base_per_part + self.carrier_fee_per_part


def sms_price() -> SmsPrice:
    """The US price of one SMS part, from the delivery event fixture (tests/fixtures)."""
    path = FIXTURES / "delivery-event-eventbridge.json"
    detail = json.loads(path.read_text())["detail"]
    parts = detail.get("totalMessageParts") or 1
    return SmsPrice(
        detail["totalMessagePrice"] / parts,
        detail["totalCarrierFee"] / parts,
        f"{path.name}, {detail.get('isoCountryCode', 'US')}",
    )


def aws_cost_per_message(path: PathCalls) -> dict[str, float]:
    """Dollars per inbound message by service, one message per Lambda invocation and SQS receive."""
    return {
        "DynamoDB": path.dynamodb_write_units * DYNAMODB_PER_WRITE_UNIT + path.dynamodb_reads * DYNAMODB_PER_READ_UNIT,
        "Lambda": LAMBDA_MEMORY_GB * LAMBDA_ASSUMED_SECONDS * LAMBDA_PER_GB_SECOND + LAMBDA_PER_REQUEST,
        "SQS": SQS_REQUESTS_PER_MESSAGE * SQS_PER_REQUEST,
        "SNS": SNS_PER_PUBLISH,
        "KMS": KMS_PER_MESSAGE,
    }


def print_cost_estimate(paths: list[PathCalls]) -> None:
    price = sms_price()
    settings = responder_settings()
    replies = [analyse(text) for text in settings.replies.values()]
    reply_parts = max(report.parts for report in replies)  # the estimate charges every reply the longest's parts
    encodings = "/".join(sorted({report.encoding for report in replies}))
    per_thousand = 1000

    print(
        "4. ESTIMATED AWS cost per 1,000 inbound messages: computed from the counts above and the list prices\n"
        "   below (US East), not measured and not a quote"
    )
    print(
        f"   prices used: DynamoDB on-demand ${DYNAMODB_PER_WRITE_UNIT * 1e6:.3f} per million write request units, "
        f"${DYNAMODB_PER_READ_UNIT * 1e6:.3f} per million read\n"
        "                units (items here are under 1 KB: 1 unit per write, failed conditional writes included,\n"
        "                1 per strongly consistent read); "
        f"Lambda arm64 ${LAMBDA_PER_GB_SECOND:.10f} per GB-second at "
        f"{LAMBDA_MEMORY_GB * 1024:.0f} MB and an\n"
        f"                assumed {LAMBDA_ASSUMED_SECONDS * 1000:.0f} ms average, "
        f"plus ${LAMBDA_PER_REQUEST * 1e6:.2f} "
        "per million requests (one message per invocation);\n"
        f"                SQS ${SQS_PER_REQUEST * 1e6:.2f} per million requests (receive + delete per message); "
        f"SNS ${SNS_PER_PUBLISH * 1e6:.2f} per million\n"
        "                publishes (SNS to SQS delivery is free); "
        "KMS $0.03 per 10,000 requests, data keys cached: ~$0"
    )
    services = ("DynamoDB", "Lambda", "SQS", "SNS")
    header = "".join(f"{name:>10}" for name in services)
    print(f"   {'path':<38}{header}{'AWS total':>11}{'with SMS reply':>16}")
    for path in paths:
        costs = {name: cost * per_thousand for name, cost in aws_cost_per_message(path).items()}
        aws_total = sum(costs.values())
        with_sms = aws_total + path.replies * reply_parts * price.per_part * per_thousand
        cells = "".join(f"{'$' + format(costs[name], '.5f'):>10}" for name in services)
        print(f"   {path.name:<38}{cells}{'$' + format(aws_total, '.4f'):>11}{'$' + format(with_sms, '.2f'):>16}")
    plural = "" if reply_parts == 1 else "s"
    print(
        f"   The SMS reply is the dominant cost, counted apart: ${price.base_per_part:.5f} base price "
        f"+ ${price.carrier_fee_per_part:.5f} carrier fee\n"
        f"   = ${price.per_part:.5f} per part ({price.source}), i.e. ${price.per_part * per_thousand:.2f} "
        "per 1,000 one-part replies.\n"
        f"   The last column adds the handler's own replies at {reply_parts} part{plural} each "
        f"(the longest configured reply, {encodings}).\n"
        "   The replies AWS sends itself (AWS-managed STOP/HELP) are billed the same way, not in that column.\n"
        "   Not included: the inbound SMS and the number's monthly lease, idle SQS polling, CloudWatch Logs,\n"
        "   free tiers. Batches of up to 10 records per invocation would lower the Lambda and SQS share."
    )


if __name__ == "__main__":
    main()
