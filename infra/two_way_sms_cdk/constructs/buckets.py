"""The package's S3 buckets: data buckets under a customer-managed key, and the access logs bucket they log to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

INCOMPLETE_UPLOADS_KEPT_FOR = Duration.days(7)


def access_logs_bucket(scope: Construct, construct_id: str, *, retention: Duration) -> s3.Bucket:
    """Versioned, TLS-only, private, kept; its logs expire after ``retention``.

    The S3 User Guide supports SSE-S3, not SSE-KMS, as the default encryption of a server
    access logging destination bucket.
    """
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        versioned=True,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=retention,
                noncurrent_version_expiration=Duration.days(1),
                abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOADS_KEPT_FOR,
            )
        ],
    )


def encrypted_bucket(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    access_logs: s3.IBucket,
    access_logs_prefix: str,
    lifecycle_rule: s3.LifecycleRule,
) -> s3.Bucket:
    """A data bucket: SSE-KMS with ``encryption_key`` (bucket key on), versioned, TLS 1.2+ only, private,
    kept when the stack goes, its access logged to ``access_logs`` under ``access_logs_prefix``."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=encryption_key,
        bucket_key_enabled=True,
        versioned=True,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[lifecycle_rule],
    )
