"""The IAM policies of this package's roles, made and found whatever the host app's feature flags are.

A construct of this package may land in any CDK app, whose ``cdk.json`` sets its own feature
flags (or none). Two CDK behaviours decide where a statement goes:

- ``role.add_to_principal_policy`` (every ``grant_*`` to a role, ``role.add_to_policy``) writes
  the role's own policy, a child of the role (CDK names it ``DefaultPolicy``), under any flag;
- ``function.add_to_role_policy`` (what an L2 function adds for itself: active tracing, the
  provider framework's ``lambda:GetFunction``) writes that same policy, or, with
  ``@aws-cdk/aws-lambda:createNewPoliciesWithAddToRolePolicy`` (or to keep token and literal
  resource lists apart), a new ``iam.Policy`` under the function, named after a private counter.

So: the X-Ray statement of our own functions goes in a policy we make ourselves
(``add_active_tracing``), the same under every flag; and the policies CDK makes are found by
type, never by the child id a flag or a counter decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

XRAY_WRITE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def regional_arn(service: str, resource: str) -> str:
    """An ARN (pattern) of this account and region: ``arn:<partition>:<service>:<region>:<account>:<resource>``."""
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def source_conditions(source_arns: Sequence[str] | str) -> dict[str, dict[str, object]]:
    """Confused-deputy guard for a service principal: only acting for this account
    (``aws:SourceAccount``), for ``source_arns`` (ARN patterns, ``aws:SourceArn``)."""
    return {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}, "ArnLike": {"aws:SourceArn": source_arns}}


def add_active_tracing(function: lambda_.Function, role: iam.IRole) -> iam.Policy:
    """Active X-Ray tracing for ``function`` (created without ``tracing``), and its write permission in
    a policy of its own (``<function>/TracingPolicy``), attached to ``role``.

    What ``tracing=Tracing.ACTIVE`` does, without the flag-dependent layout: the statement's
    ``Resource: *`` (X-Ray has no resource-level permissions) stays alone in one policy
    under every host, so its cdk-nag acknowledgement covers nothing else.
    """
    cfn_function = function.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    cfn_function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
    return iam.Policy(
        function,
        "TracingPolicy",
        statements=[iam.PolicyStatement(actions=list(XRAY_WRITE_ACTIONS), resources=["*"])],
        roles=[role],
    )


def default_policy(principal: IConstruct) -> iam.Policy | None:
    """The policy CDK grants write on a role of this app (its ``DefaultPolicy``), found by type; None
    for any other principal, or a role no statement was added to yet."""
    if not isinstance(principal, iam.Role):
        return None
    return next((c for c in principal.node.children if isinstance(c, iam.Policy)), None)


def role_policy(role: iam.Role) -> iam.CfnPolicy:
    """The L1 of ``default_policy(role)``, for an acknowledgement; an error when the role has none."""
    policy = default_policy(role)
    if policy is None:
        raise ValueError(f"role {role.node.path} has no policy of its own: grant it something first")
    return cfn_policy(policy)


def cfn_policy(policy: iam.Policy) -> iam.CfnPolicy:
    """The policy's ``AWS::IAM::Policy`` (where cdk-nag reports, and acknowledgements go)."""
    resource = policy.node.default_child
    assert isinstance(resource, iam.CfnPolicy)
    return resource


def added_policies(function: lambda_.Function) -> list[iam.Policy]:
    """The policies under ``function``, found by type: its ``TracingPolicy`` (``add_active_tracing``)
    and those ``function.add_to_role_policy`` made, which the host's flags decide for CDK's own calls."""
    return [c for c in function.node.children if isinstance(c, iam.Policy)]
