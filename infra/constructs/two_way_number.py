"""The origination identity that answers: a new phone number, or one you already have."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import custom_resources as cr
from constructs import Construct

import infra.domain  # noqa: F401  (puts lambda/ on the path)
from infra.lambda_code import ARCHITECTURE, RUNTIME, function_code
from two_way_sms.responder import ResponderSettings


def sms_voice_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


class TwoWayNumber(Construct):
    """A two-way phone number (or pool) wired to the inbound topic, with its keywords.

    By default it requests a new number (``AWS::SMSVOICE::PhoneNumber``) of
    ``number_type`` in ``iso_country_code``. Pass ``existing_phone_number_id`` or
    ``existing_pool_id`` instead to configure an identity you already own: a custom
    resource sets two-way, opt-out handling and keywords in place and restores the
    previous settings when the stack is deleted. Either way the number gets the HELP and
    STOP replies and the compliance keywords of ``responder`` (``number_keywords()``).

    :param opt_out_list_name: an existing opt-out list to use. Default: a new list.
    :param deletion_protection: protect a new number from deletion. Default: off, so a
        test stack can be removed; turn it on for a production number.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        responder: ResponderSettings,
        iso_country_code: str = "US",
        number_type: str = "SIMULATOR",
        capabilities: Sequence[str] = ("SMS",),
        existing_phone_number_id: str | None = None,
        existing_pool_id: str | None = None,
        opt_out_list_name: str | None = None,
        deletion_protection: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_phone_number_id and existing_pool_id:
            raise ValueError(
                f"pass existing_phone_number_id ({existing_phone_number_id!r}) or existing_pool_id "
                f"({existing_pool_id!r}), not both"
            )
        # The number decides which keywords AWS answers (a toll-free STOP is the carrier's).
        responder = dataclasses.replace(responder, number_type=number_type)
        self.responder = responder

        if opt_out_list_name is None:
            opt_out_list = smsvoice.CfnOptOutList(self, "OptOutList")
            opt_out_list.apply_removal_policy(RemovalPolicy.RETAIN)  # the proof of who opted out outlives the stack
            self.opt_out_list_name: str = opt_out_list.ref
            self.opt_out_list_arn: str = opt_out_list.attr_arn
        else:
            self.opt_out_list_name = opt_out_list_name
            self.opt_out_list_arn = sms_voice_arn(f"opt-out-list/{opt_out_list_name}")

        keywords = responder.number_keywords()
        if existing_phone_number_id or existing_pool_id:
            origination_type = "pool" if existing_pool_id else "phone-number"
            origination_id = existing_pool_id or existing_phone_number_id
            settings = self._configure_existing(topic, origination_type, origination_id, keywords)
            self.origination_arn: str = settings.get_att_string("OriginationArn")
            # A pool replies from whichever of its numbers the customer texted.
            self.send_resource_arns: list[str] = (
                [self.origination_arn, sms_voice_arn("phone-number/*")] if existing_pool_id else [self.origination_arn]
            )
            self.phone_number_id: str | None = existing_phone_number_id
            self.phone_number: str | None = settings.get_att_string("PhoneNumber") if existing_phone_number_id else None
        else:
            number = smsvoice.CfnPhoneNumber(
                self,
                "PhoneNumber",
                iso_country_code=iso_country_code,
                number_type=number_type,
                number_capabilities=list(capabilities),
                mandatory_keywords=smsvoice.CfnPhoneNumber.MandatoryKeywordsProperty(
                    help=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(message=responder.help_reply),
                    stop=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(message=responder.stop_reply),
                ),
                optional_keywords=[
                    smsvoice.CfnPhoneNumber.OptionalKeywordProperty(
                        keyword=k.keyword, message=k.reply, action=k.action.value
                    )
                    for k in keywords
                ],
                opt_out_list_name=self.opt_out_list_name,
                self_managed_opt_outs_enabled=responder.self_managed_opt_outs,
                deletion_protection_enabled=deletion_protection,
                two_way=smsvoice.CfnPhoneNumber.TwoWayProperty(enabled=True, channel_arn=topic.topic_arn),
            )
            # Releasing a number loses it for good: keep it unless the user deletes it.
            number.apply_removal_policy(RemovalPolicy.RETAIN if deletion_protection else RemovalPolicy.DESTROY)
            self.resource = number
            self.origination_arn = number.attr_arn
            self.send_resource_arns = [number.attr_arn]
            self.phone_number_id = number.attr_phone_number_id
            self.phone_number = number.attr_phone_number

    def grant_send(self, grantee: iam.IGrantable, configuration_set_arn: str) -> iam.Grant:
        """``SendTextMessage`` from this identity through the given configuration set only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sms-voice:SendTextMessage"],
            resource_arns=[*self.send_resource_arns, configuration_set_arn],
        )

    def grant_manage_opt_outs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put numbers on, take them off and read this identity's opt-out list."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sms-voice:PutOptedOutNumber",
                "sms-voice:DeleteOptedOutNumber",
                "sms-voice:DescribeOptedOutNumbers",
            ],
            resource_arns=[self.opt_out_list_arn],
        )

    # -- an identity we do not own ------------------------------------------------------------
    def _configure_existing(self, topic, origination_type: str, origination_id: str, keywords) -> CustomResource:
        stack = Stack.of(self)
        parameter_name = f"/two-way-sms/{stack.stack_name}/{self.node.addr}/previous-settings"
        log_group = logs.LogGroup(self, "SettingsLogs", retention=logs.RetentionDays.ONE_YEAR)
        function = lambda_.Function(
            self,
            "SettingsFunction",
            description="Configures an existing number or pool for two-way SMS; restores it on delete",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=function_code("number_settings"),
            handler="number_settings.app.handler",
            timeout=Duration.minutes(2),
            memory_size=256,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
        )
        identity_arn = sms_voice_arn(f"{origination_type}/{origination_id}")
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sms-voice:DescribePhoneNumbers" if origination_type == "phone-number" else "sms-voice:DescribePools",
                    "sms-voice:UpdatePhoneNumber" if origination_type == "phone-number" else "sms-voice:UpdatePool",
                    "sms-voice:DescribeKeywords",
                    "sms-voice:PutKeyword",
                    "sms-voice:DeleteKeyword",
                ],
                resources=[identity_arn],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
                resources=[f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter{parameter_name}"],
            )
        )
        self.settings_function = function
        provider = cr.Provider(self, "SettingsProvider", on_event_handler=function)
        return CustomResource(
            self,
            "Settings",
            service_token=provider.service_token,
            resource_type="Custom::TwoWaySmsOrigination",
            properties={
                "OriginationType": origination_type,
                "OriginationId": origination_id,
                "TwoWayChannelArn": topic.topic_arn,
                "SelfManagedOptOutsEnabled": str(self.responder.self_managed_opt_outs).lower(),
                "OptOutListName": self.opt_out_list_name,
                "Keywords": [
                    {"Keyword": "HELP", "Message": self.responder.help_reply, "Action": "AUTOMATIC_RESPONSE"},
                    {"Keyword": "STOP", "Message": self.responder.stop_reply, "Action": "OPT_OUT"},
                    *({"Keyword": k.keyword, "Message": k.reply, "Action": k.action.value} for k in keywords),
                ],
                "SnapshotParameterName": parameter_name,
            },
        )

