#!/usr/bin/env python3
"""A clinic's own stack, composing the two-way SMS constructs with resources of its own.

What a user of the library writes: ``pip install two-way-sms``, then this. The clinic
- builds its typed config in code (``TwoWaySmsConfig.from_config``; a JSON file is another way);
- adds ``TwoWaySms`` to a stack of its own;
- routes the business events the conversations publish (a patient asked for a person) to a
  front-desk queue of its own, encrypted with its own key;
- lets its booking system's role put reminders on the outbound queue and read the outcomes.

``cdk synth`` runs the four cdk-nag rule packs on all of it, ours and the clinic's.
"""

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from two_way_sms_cdk.config import TwoWaySmsConfig
from two_way_sms_cdk.constructs.policies import role_policy
from two_way_sms_cdk.constructs.two_way_sms import TwoWaySms
from two_way_sms_cdk.nag import acknowledge, register_rule_packs

CONFIG = TwoWaySmsConfig.from_config(
    {
        "origination": {"new_number": {"iso_country_code": "US", "number_type": "SIMULATOR"}},
        "help_reply": "Example Clinic: for help call +1 206 555 0100 or visit example.com/sms. "
        "Msg&data rates may apply. Reply STOP to cancel.",
        "stop_reply": "Example Clinic: you are unsubscribed and will receive no more messages. "
        "Reply START to resubscribe.",
        "opt_in_reply": "Example Clinic: you are subscribed again. Reply HELP for help, STOP to cancel.",
        "default_reply": "Example Clinic: thanks for your message. Reply HELP for help or STOP to opt out.",
        "keywords": [
            {"keyword": "HOURS", "reply": "Example Clinic is open Mon-Fri 8:00-18:00.", "action": "AUTOMATIC_RESPONSE"}
        ],
        "conversations": {"ready_flows": ["appointment", "support"]},
    }
)


class ClinicStack(cdk.Stack):
    """The clinic's SMS number and conversations, its front desk's queue and its booking system's role."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        sms = TwoWaySms(self, "Sms", config=CONFIG)

        key = kms.Key(
            self,
            "FrontDeskKey",
            enable_key_rotation=True,
            description="Encrypts the front desk's queue of patients asking for a person",
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal("events.amazonaws.com"))
        dead_letters = sqs.Queue(
            self,
            "FrontDeskDeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        front_desk = sqs.Queue(
            self,
            "FrontDesk",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=5),
        )
        events.Rule(
            self,
            "PatientsAskingForAPerson",
            event_bus=sms.conversations.event_bus,
            event_pattern=events.EventPattern(detail_type=["support.requested"]),
            targets=[targets.SqsQueue(front_desk, dead_letter_queue=dead_letters)],
        )

        booking = iam.Role(
            self,
            "BookingSystem",
            assumed_by=iam.AccountRootPrincipal(),
            description="The clinic's booking system: sends reminders, reads their outcomes",
        )
        sms.outbound_sender.grant_enqueue(booking)
        sms.outbound_sender.grant_read_outcomes(booking)

        # cdk-nag findings on the clinic's own resources: each acknowledged on one resource, with its reason.
        acknowledge(
            dead_letters.node.default_child,
            "Serverless-SQSRedrivePolicy",
            "The front desk's dead-letter queue: its messages are read and redriven by hand",
        )
        booking_policy = role_policy(booking)
        for finding in ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", "AwsSolutions-IAM5[Action::kms:ReEncrypt*]"):
            acknowledge(
                booking_policy,
                finding,
                "Scoped to the outbound queue's key: encrypting a message for SQS "
                "needs the GenerateDataKey*/ReEncrypt* family",
            )
        for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(
                booking_policy,
                finding,
                "The booking system role's own policy, written by CDK grants on this stack's queue and table",
            )
        cdk.CfnOutput(self, "FrontDeskQueueUrl", value=front_desk.queue_url)
        cdk.CfnOutput(self, "PhoneNumber", value=sms.number.phone_number)


app = cdk.App()
ClinicStack(app, "ClinicSms")
register_rule_packs(app)
app.synth()
