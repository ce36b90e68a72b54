"""The S3 server access logs bucket the package's buckets log to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

INCOMPLETE_UPLOADS_KEPT_FOR = Duration.days(7)


def access_logs_bucket(scope: Construct, construct_id: str, *, retention: Duration) -> s3.Bucket:
    """Versioned, TLS-only, private, kept; its logs expire after ``retention``.

    The S3 User Guide supports SSE-S3, not SSE-KMS, as the default encryption of a server
    access logging destination bucket.
    """
    return s3.Bucket(
        scope, construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        versioned=True,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(
            id="ExpireAccessLogs",
            expiration=retention,
            noncurrent_version_expiration=Duration.days(1),
            abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOADS_KEPT_FOR,
        )],
    )
