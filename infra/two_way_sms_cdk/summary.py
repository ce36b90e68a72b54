"""Prints where the synthesized templates are and a one-screen summary of what they deploy.

Usage: ``python -m infra.summary cdk.out`` (``make synth`` runs it).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# What a reader wants to know first, in the order the data flows.
_HEADLINES = {
    "AWS::SMSVOICE::PhoneNumber": "phone number (End User Messaging, two-way to the topic)",
    "Custom::TwoWaySmsOrigination": "existing number/pool configured for two-way (restored on delete)",
    "AWS::SMSVOICE::OptOutList": "opt-out list",
    "AWS::SMSVOICE::ConfigurationSet": "configuration set for replies and sends (Firehose event destination)",
    "AWS::SMSVOICE::ProtectConfiguration": "protect configuration on the configuration set (allowed countries only)",
    "Custom::SmsAccountDefaultProtectConfiguration": "account default protect configuration (set, removed on delete)",
    "AWS::SNS::Topic": "SNS topics (inbound messages, alarms; KMS-encrypted)",
    "AWS::SNS::Subscription": "subscriptions (the inbound queue, in SNS envelopes, or e-mail; each with its own DLQ)",
    "AWS::SQS::Queue": "SQS queues (inbound, outbound and their dead-letter queues, KMS-encrypted)",
    "AWS::Events::Rule": "EventBridge rules (delivery events to the stream)",
    "AWS::Events::EventBus": (
        "EventBridge bus of business events (replies, opt-outs, conversation outcomes; KMS-encrypted)"
    ),
    "AWS::Events::Archive": "EventBridge archive of the business event bus (30 days, to replay; KMS-encrypted)",
    "AWS::Kinesis::Stream": "Kinesis stream of delivery events (KMS-encrypted)",
    "AWS::Lambda::Function": "Lambda functions (arm64)",
    "AWS::Scheduler::ScheduleGroup": "EventBridge Scheduler group (campaign runs, held texts' release)",
    "AWS::DynamoDB::Table": (
        "DynamoDB tables (contacts with opt-outs & reply logs, message ledger, "
        "outbound with send claims, conversations)"
    ),
    "AWS::SSM::Parameter": "SSM parameter holding the conversation flows",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose stream archiving every delivery event",
    "AWS::S3::Bucket": "S3 buckets (event archive, campaign audiences, access logs)",
    "AWS::KMS::Key": "customer-managed KMS keys (rotation on; an HMAC key for one-use codes cannot rotate)",
    "AWS::Logs::LogGroup": "log groups (retention set)",
    "AWS::CloudWatch::Alarm": "CloudWatch alarms (dead letters, failure rate, iterator age, spend, ...)",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboard",
}


def summarise(out_dir: Path) -> str:
    lines = []
    for template_path in sorted(out_dir.glob("*.template.json")):
        template = json.loads(template_path.read_text())
        counts = Counter(resource["Type"] for resource in template.get("Resources", {}).values())
        lines.append(f"{template_path}  ({sum(counts.values())} resources)")
        for resource_type, label in _HEADLINES.items():
            if counts.get(resource_type):
                lines.append(f"  {counts[resource_type]:>3} x {label}")
        others = sum(n for t, n in counts.items() if t not in _HEADLINES)
        lines.append(f"  {others:>3} x IAM roles/policies, event source mappings, layer and other wiring")
        outputs = template.get("Outputs", {})
        if outputs:
            lines.append("  outputs after deploy: " + ", ".join(sorted(outputs)))
    return "\n".join(lines) if lines else f"no templates in {out_dir}"


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
