"""The End User Messaging configuration set that replies are sent with."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import aws_sns as sns
from constructs import Construct

from two_way_sms import metric_names
from two_way_sms_cdk.constructs.protect_configuration import SmsProtectConfiguration

# A configuration set takes at most this many event destinations (AWS End User Messaging quota).
MAX_EVENT_DESTINATIONS = 5
# The SMS delivery events a destination can match: every event type the events function counts, or
# all of them. TEXT_SENT is in the API's enum but not supported.
TEXT_EVENT_TYPES = frozenset({"TEXT_ALL", *metric_names.TEXT_EVENT_TYPES})
_DESTINATION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ReplyConfigurationSet(Construct):
    """A configuration set with a generated name; event destinations are added to it later.

    Sending through a configuration set is what ties a reply to its delivery events. It has
    no event destination until ``add_event_destination`` adds one (then the property
    ``EventDestinations`` appears in the template), and no protect configuration until
    ``protect_with`` associates one (``ProtectConfigurationId``): then every send through
    it that names no protect configuration of its own is held to that one's country rules.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._event_destinations: list[smsvoice.CfnConfigurationSet.EventDestinationProperty] = []
        self.resource = smsvoice.CfnConfigurationSet(self, "Resource")
        self.configuration_set_name: str = self.resource.ref
        self.configuration_set_arn: str = self.resource.attr_arn
        self.protect_configuration: SmsProtectConfiguration | None = None

    def protect_with(self, protect_configuration: SmsProtectConfiguration) -> None:
        """Associates ``protect_configuration`` (once): every send through this set follows its country rules."""
        if self.protect_configuration is not None:
            raise ValueError(
                f"the configuration set {self.node.path} is protected by "
                f"{self.protect_configuration.node.path} already: a configuration set takes one "
                "protect configuration"
            )
        self.protect_configuration = protect_configuration
        self.resource.protect_configuration_id = protect_configuration.protect_configuration_id

    @property
    def send_resource_arns(self) -> list[str]:
        """What ``SendTextMessage`` through this set names: the set and, when it has one, its protect configuration."""
        arns = [self.configuration_set_arn]
        if self.protect_configuration is not None:
            arns.append(self.protect_configuration.protect_configuration_arn)
        return arns

    @property
    def event_destination_names(self) -> list[str]:
        """The names of the event destinations added so far, in order."""
        return [d.event_destination_name for d in self._event_destinations]

    def add_event_destination(
        self,
        name: str,
        *,
        matching_event_types: Sequence[str],
        delivery_stream: firehose.IDeliveryStream | None = None,
        topic: sns.ITopic | None = None,
        role: iam.IRole | None = None,
        enabled: bool = True,
    ) -> None:
        """Sends the matching delivery events to one destination: a Firehose stream or an SNS topic.

        :param name: unique within this configuration set; 1-64 letters, digits, ``_`` or ``-``.
        :param matching_event_types: the ``TEXT_*`` event types to send, e.g. ``["TEXT_ALL"]``.
        :param delivery_stream: send to this Amazon Data Firehose stream (``role`` required).
        :param topic: send to this SNS topic (no role: the topic policy must let
            ``sms-voice.amazonaws.com`` publish).
        :param role: the role End User Messaging assumes to write to the stream.
            The caller grants it; make this configuration set depend on that grant's policy.
        :param enabled: whether events are sent (default: yes).
        """
        if not Token.is_unresolved(name) and not _DESTINATION_NAME.fullmatch(name):
            raise ValueError(f"event destination name {name!r} must be 1-64 letters, digits, '_' or '-'")
        if name in self.event_destination_names:
            raise ValueError(f"event destination name {name!r} is already used in this configuration set")
        if len(self._event_destinations) >= MAX_EVENT_DESTINATIONS:
            raise ValueError(
                f"cannot add event destination {name!r}: a configuration set takes at most "
                f"{MAX_EVENT_DESTINATIONS} ({', '.join(self.event_destination_names)})"
            )
        event_types = list(matching_event_types)
        if not event_types:
            raise ValueError(f"event destination {name!r} needs at least one matching event type")
        for event_type in event_types:
            if event_type == "TEXT_SENT":
                raise ValueError(
                    f"event type 'TEXT_SENT' (destination {name!r}) is not supported by End User Messaging"
                )
            if event_type not in TEXT_EVENT_TYPES:
                raise ValueError(
                    f"event type {event_type!r} (destination {name!r}) is not one of "
                    f"{', '.join(sorted(TEXT_EVENT_TYPES))}"
                )
        if len(set(event_types)) != len(event_types):
            raise ValueError(f"event types {event_types} (destination {name!r}) name one type twice")

        if (delivery_stream is None) == (topic is None):
            raise ValueError(f"event destination {name!r} needs exactly one of delivery_stream and topic")
        target: dict[str, Any]
        if topic is not None:
            if role is not None:
                raise ValueError(
                    f"event destination {name!r}: an SNS destination takes no role, the topic policy decides"
                )
            target = {"sns_destination": smsvoice.CfnConfigurationSet.SnsDestinationProperty(topic_arn=topic.topic_arn)}
        else:
            if role is None:
                raise ValueError(f"event destination {name!r}: a Firehose destination needs a role")
            assert delivery_stream is not None
            target = {
                "kinesis_firehose_destination": smsvoice.CfnConfigurationSet.KinesisFirehoseDestinationProperty(
                    delivery_stream_arn=delivery_stream.delivery_stream_arn, iam_role_arn=role.role_arn
                )
            }
        self._event_destinations.append(
            smsvoice.CfnConfigurationSet.EventDestinationProperty(
                event_destination_name=name, enabled=enabled, matching_event_types=event_types, **target
            )
        )
        # The whole list again: each construct that adds a destination adds to the same property.
        self.resource.event_destinations = list(self._event_destinations)
