"""The shape every handler function shares: its own role, its own encrypted log group, tracing.

Used by the constructs that own a function; the ids ("Logs", "FunctionRole", "Function")
are created in the caller's scope, so each function keeps its logical ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from two_way_sms import metric_names
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs
from two_way_sms_cdk.constructs.policies import add_active_tracing, cfn_policy, role_policy
from two_way_sms_cdk.lambda_code import ARCHITECTURE, RUNTIME, dependencies_layer, handler_code
from two_way_sms_cdk.nag import acknowledge

# Every function's metrics and logs carry the one service and namespace the dashboard and alarms read.
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": metric_names.SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": metric_names.NAMESPACE,
}


@dataclass(frozen=True)
class HandlerFunction:
    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup
    #: The X-Ray write statement, alone (``add_active_tracing``): the same policy under any feature flags.
    tracing_policy: iam.Policy

    def acknowledge_findings(self, *, key_scope: str, invoked_by: str, calls: str) -> None:
        """The findings every handler function raises, with their reasons; call after the grants.

        :param key_scope: which keys the role's ``kms:GenerateDataKey*``/``ReEncrypt*`` grants name.
        :param invoked_by: what invokes the function synchronously, and where its failures go instead.
        :param calls: the AWS services the function calls (why no VPC).
        """
        policy = role_policy(self.role)
        for finding in ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", "AwsSolutions-IAM5[Action::kms:ReEncrypt*]"):
            acknowledge(
                policy,
                finding,
                f"Scoped to {key_scope}; SQS and DynamoDB encryption need the "
                "GenerateDataKey*/ReEncrypt* family of a key",
            )
        for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(
                policy,
                finding,
                "CDK grants write this role's own policy, used by no other principal; every "
                "statement names this stack's resources",
            )
        tracing_policy = cfn_policy(self.tracing_policy)
        acknowledge(
            tracing_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions",
        )
        for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(tracing_policy, finding, "The X-Ray write policy of this function's role only")
        function = self.function.node.default_child
        for finding in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
            acknowledge(function, finding, f"Invoked synchronously by {invoked_by}, where a function DLQ never fires")
        for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
            acknowledge(
                function,
                finding,
                f"Calls only AWS service endpoints ({calls}) over TLS with IAM auth; a VPC "
                "would add NAT or interface endpoints and no control over the data",
            )


@dataclass(frozen=True)
class FunctionSizing:
    """What a construct's props decide about its function: memory, timeout, concurrency, log retention."""

    memory_size: int
    timeout: Duration
    reserved_concurrency: int | None
    log_retention: logs.RetentionDays


class SettingsContract(Protocol):
    """A function's settings (``two_way_sms.settings``): what its handler accepts as its environment."""

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Any: ...


def handler_function(
    scope: Construct,
    function_dir: str,
    description: str,
    *,
    encryption_key: kms.IKey,
    sizing: FunctionSizing,
    environment: dict[str, str],
    contract: type[SettingsContract] | None,
) -> HandlerFunction:
    """``two_way_sms.handlers.<function_dir>.handler`` on arm64 with the dependencies layer, active X-Ray
    tracing (its permission in a policy of its own, whatever the app's feature flags), its
    environment (``environment`` and Powertools' service and namespace) encrypted with
    ``encryption_key`` and its logs in a log group of its own (encrypted, retained) that its
    role alone may write to."""
    if contract is not None:  # what the handler reads when it starts: the same contract, checked now
        contract.from_environment(environment)
    allow_cloudwatch_logs(encryption_key)
    log_group = logs.LogGroup(
        scope,
        "Logs",
        retention=sizing.log_retention,
        encryption_key=encryption_key,
        removal_policy=RemovalPolicy.RETAIN,
    )
    # An own role, not AWSLambdaBasicExecutionRole: it may write to its own log group only.
    role = iam.Role(scope, "FunctionRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    log_group.grant_write(role)
    code, handler = handler_code(function_dir)
    function = lambda_.Function(
        scope,
        "Function",
        role=role,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        code=code,
        handler=handler,
        layers=[dependencies_layer(scope)],
        memory_size=sizing.memory_size,
        timeout=sizing.timeout,
        reserved_concurrent_executions=sizing.reserved_concurrency,
        log_group=log_group,
        environment_encryption=encryption_key,
        environment={**POWERTOOLS_ENVIRONMENT, **environment},
    )
    tracing_policy = add_active_tracing(function, role)
    return HandlerFunction(function, role, log_group, tracing_policy)
