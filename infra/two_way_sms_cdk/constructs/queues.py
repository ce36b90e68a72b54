"""SQS queues the way this package keeps them: CMK-encrypted, HTTPS only."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def encrypted_queue(
    scope: Construct, construct_id: str, *, encryption_key: kms.IKey, retention: Duration, **kwargs: Any
) -> sqs.Queue:
    """A queue encrypted with ``encryption_key`` that refuses plain HTTP; ``kwargs`` go to ``sqs.Queue``."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=retention,
        **kwargs,
    )
