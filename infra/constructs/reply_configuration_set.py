"""The End User Messaging configuration set that replies are sent with."""

from __future__ import annotations

from aws_cdk import aws_smsvoice as smsvoice
from constructs import Construct


class ReplyConfigurationSet(Construct):
    """A configuration set with a generated name; event destinations are added to it later.

    Sending through a configuration set is what ties a reply to its delivery events.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.resource = smsvoice.CfnConfigurationSet(self, "Resource")
        self.configuration_set_name: str = self.resource.ref
        self.configuration_set_arn: str = self.resource.attr_arn
