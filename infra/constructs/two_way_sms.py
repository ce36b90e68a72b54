"""Everything that makes a number answer, wired together from one config."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import ExistingOrigination, TwoWaySmsConfig
from infra.constructs.inbound_processor import InboundProcessor
from infra.constructs.inbound_topic import EncryptedInboundTopic
from infra.constructs.reply_configuration_set import ReplyConfigurationSet
from infra.constructs.two_way_number import TwoWayNumber


class TwoWaySms(Construct):
    """The inbound two-way path: number -> encrypted topic -> queue -> inbound function.

    :param config: the validated configuration (``infra.config.load_config``).
    :param existing_topic: publish inbound messages to this topic instead of a new one.
    :param existing_topic_key: encrypt the new topic with this key instead of a new one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TwoWaySmsConfig,
        existing_topic: sns.ITopic | None = None,
        existing_topic_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.inbound_topic = EncryptedInboundTopic(
            self, "InboundTopic", existing_topic=existing_topic, existing_key=existing_topic_key,
        )
        origination = config.origination
        if isinstance(origination, ExistingOrigination):
            where = {
                "existing_pool_id" if origination.origination_type == "pool" else "existing_phone_number_id":
                    origination.origination_id,
            }
        else:
            where = {"iso_country_code": origination.iso_country_code, "capabilities": origination.capabilities}
        self.number = TwoWayNumber(
            self, "Number",
            topic=self.inbound_topic.topic,
            responder=config.responder,
            number_type=origination.number_type,
            opt_out_list_name=config.opt_out_list_name,
            deletion_protection=config.deletion_protection,
            **where,
        )
        self.configuration_set = ReplyConfigurationSet(self, "ReplyConfigurationSet")
        self.inbound_processor = InboundProcessor(
            self, "InboundProcessor",
            topic=self.inbound_topic.topic,
            number=self.number,
            configuration_set=self.configuration_set,
            message_type=config.message_type,
        )
