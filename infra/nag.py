"""cdk-nag: the rule packs every synth runs, and the few findings we accept.

Each acknowledgement names one finding on one resource, with the reason a reviewer
would accept; any other finding fails the synth.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct


def register_rule_packs(app: App) -> None:
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), ServerlessChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app),
    )


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))
