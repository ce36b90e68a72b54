"""The README describes the stack that synthesizes: its outputs and what a delete keeps."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()

# Each retained resource of the default stack, by the start of its logical id, and the words the
# README's "Retained" list uses for it.
RETAINED_AS_THE_README_SAYS = {
    "TwoWaySmsInboundProcessorContacts": "contacts table",
    "TwoWaySmsLedgerTable": "message ledger",
    "TwoWaySmsOutboundSenderTable": "outbound table",
    "TwoWaySmsEventArchiveBucket": "event archive bucket",
    "TwoWaySmsEventArchiveAccessLogs": "access-log bucket",
    "TwoWaySmsCampaignsAudiences": "campaign audience",
    "TwoWaySmsConversationsCodesKey": "HMAC key",
    "TwoWaySmsNumberOptOutList": "opt-out list",
    "TwoWaySmsDependencies": "dependencies layer version",
}
RETAINED_KINDS_AS_THE_README_SAYS = {"AWS::KMS::Key": "KMS keys", "AWS::Logs::LogGroup": "log groups"}


def readme_outputs() -> dict[str, str]:
    """The README's table of stack outputs: name -> description."""
    section = README[README.index("- **Stack outputs**") : README.index("- **Alarm e-mails:**")]
    return dict(re.findall(r"^\s*\| `(\w+)` \| (.+?) \|$", section, flags=re.MULTILINE))


def retained_section() -> str:
    return README[README.index("- **Retained**") : README.index("- **Existing number or pool:**")]


def test_the_readme_lists_every_stack_output_with_its_description(default):
    outputs = json.loads(default.template_text)["Outputs"]
    assert readme_outputs() == {name: output["Description"] for name, output in outputs.items()}


def test_the_readme_names_every_resource_a_delete_keeps(default):
    resources = json.loads(default.template_text)["Resources"]
    retained = {
        logical_id: resource["Type"]
        for logical_id, resource in resources.items()
        if resource.get("DeletionPolicy") == "Retain" and resource["Type"] != "AWS::Logs::LogStream"
    }
    section = " ".join(retained_section().replace("*", "").split())
    unnamed = []
    for logical_id, resource_type in retained.items():
        words = next(
            (text for prefix, text in RETAINED_AS_THE_README_SAYS.items() if logical_id.startswith(prefix)),
            RETAINED_KINDS_AS_THE_README_SAYS.get(resource_type),
        )
        if words is None or words not in section:
            unnamed.append((logical_id, resource_type, words))
    assert not unnamed, f"retained but not in the README's list: {unnamed}"


def test_the_readme_explains_every_flow_key_the_parser_accepts():
    from two_way_sms.conversations.flows import ANSWER_KEYS, FLOW_KEYS, STEP_KEYS

    rows = set(re.findall(r"^\| (flow|step|answer) \| `(\w+)` \|", README, flags=re.MULTILINE))
    expected = {("flow", key) for key in FLOW_KEYS} | {("step", key) for key in STEP_KEYS}
    expected |= {("answer", key) for key in ANSWER_KEYS}
    assert rows == expected
