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
    "AWS::SMSVOICE::ConfigurationSet": "configuration set for replies",
    "AWS::SNS::Topic": "SNS topic for inbound messages (KMS-encrypted)",
    "AWS::SNS::Subscription": "subscription (raw delivery, with its own DLQ)",
    "AWS::SQS::Queue": "SQS queues (inbound + dead-letter, KMS-encrypted)",
    "AWS::Lambda::Function": "Lambda functions (arm64)",
    "AWS::DynamoDB::Table": "DynamoDB tables (contacts & opt-outs, idempotency)",
    "AWS::KMS::Key": "customer-managed KMS keys (rotation on)",
    "AWS::Logs::LogGroup": "log groups (retention set)",
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
        lines.append(f"  {others:>3} x IAM roles/policies, event source mapping, layer and other wiring")
        outputs = template.get("Outputs", {})
        if outputs:
            lines.append("  outputs after deploy: " + ", ".join(sorted(outputs)))
    return "\n".join(lines) if lines else f"no templates in {out_dir}"


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
