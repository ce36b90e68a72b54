"""The constructs in an app that is not this repository's (issue 13): whatever its feature flags.

Every variant of ``synth.py`` is synthesized in two host apps, ``HOST_CONTEXTS``: the one
``cdk init app --language python`` makes (its cdk.json context, ``tests/fixtures/cdk-init-context.json``)
and one with no context at all. Each must synthesize with no unacknowledged cdk-nag finding
and no failing validation plugin, and keep the logical ids of its stateful resources.

This repository's cdk.json sets exactly the flags ``cdk init`` writes, so the ``cdk-init`` host is
the repository's own synth. Against the app with no context, the flags may change how CDK writes
the template (how it merges and orders policy statements, the order it lists a function's layers)
but never what it allows or deploys: ``test_the_flags_change_no_permission_and_no_resource``.
Each (variant, host) is synthesized once per session.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from tests.infra.synth import (
    CDK_INIT_CONTEXT,
    CDK_INIT_CONTEXT_FILE,
    EXTENSIONS_DIRECTORY,
    FEATURE_FLAGS,
    HOST_CONTEXTS,
    REPO_ROOT,
    STACK_NAME,
    VARIANTS,
    Synthesized,
    read_conclusions,
    synthesize,
)
from tests.infra.test_logical_ids import STATEFUL_LOGICAL_IDS
from tests.infra.test_nag import RULE_PACKS
from two_way_sms_cdk import lambda_bytecode, lambda_dependencies
from two_way_sms_cdk.config import load_config
from two_way_sms_cdk.constructs.policies import added_policies
from two_way_sms_cdk.lambda_code import extensions_layer
from two_way_sms_cdk.stacks.two_way_sms_stack import TwoWaySmsStack

CASES = [pytest.param(variant, host, id=f"{variant}-{host}") for variant in sorted(VARIANTS) for host in HOST_CONTEXTS]
STATEFUL_TYPES = sorted({resource_type for resource_type, _ in STATEFUL_LOGICAL_IDS.values()})
CREATE_NEW_POLICIES_FLAG = "@aws-cdk/aws-lambda:createNewPoliciesWithAddToRolePolicy"


@pytest.fixture(scope="session")
def hosted(tmp_path_factory: pytest.TempPathFactory, synthesized):
    """``hosted(variant, host)``: the variant synthesized in the host app, at most once per session
    (a synth that raised raises again, without a second try)."""
    lambda_dependencies.build(lambda_dependencies.layer_dir())  # a no-op once `make deps` has run
    cache: dict[tuple[str, str], Synthesized | Exception] = {}

    def get(variant: str, host: str) -> Synthesized:
        if HOST_CONTEXTS[host] == FEATURE_FLAGS:
            return synthesized(variant)  # the repository's own synth: the same app
        key = (variant, host)
        if key not in cache:
            try:
                cache[key] = synthesize(
                    variant,
                    VARIANTS[variant],
                    tmp_path_factory.mktemp(f"cdk-{host}-{variant}"),
                    feature_flags=HOST_CONTEXTS[host],
                )
            except Exception as error:  # noqa: BLE001  (reported by every test of the case)
                cache[key] = error
        result = cache[key]
        if isinstance(result, Exception):
            raise result
        return result

    return get


def stateful_ids(synthesized: Synthesized) -> dict[str, set[str]]:
    """The logical ids of the stateful resource types, by type (read from the template file: one
    ``Template.to_json()`` per type would cost a jsii round trip of the whole template each)."""
    resources = json.loads(synthesized.template_text)["Resources"]
    found: dict[str, set[str]] = {resource_type: set() for resource_type in STATEFUL_TYPES}
    for logical_id, resource in resources.items():
        if resource["Type"] in found:
            found[resource["Type"]].add(logical_id)
    return found


@pytest.mark.parametrize(("variant", "host"), CASES)
def test_every_variant_synthesizes_clean_in_a_host_app(hosted, variant, host):
    built = hosted(variant, host)
    findings = [f for f in built.findings if f.plugin in RULE_PACKS]
    assert not findings, f"{variant} in a {host} app:\n" + "\n".join(map(str, findings))
    # What would fail a real `cdk synth`: a plugin concluding failure (warnings, such as the
    # annotations cdk init's @aws-cdk/core:annotationsInValidationReport lists, do not).
    failed = {
        plugin: conclusion for plugin, conclusion in read_conclusions(built.outdir).items() if conclusion != "success"
    }
    assert not failed, f"{variant} in a {host} app: {failed}\n" + "\n".join(map(str, built.findings))


@pytest.mark.parametrize(("variant", "host"), CASES)
def test_stateful_resources_keep_their_logical_ids_in_a_host_app(hosted, synthesized, variant, host):
    """The same stateful resources, by the same logical ids, as with this repository's flags."""
    assert stateful_ids(hosted(variant, host)) == stateful_ids(synthesized(variant))


@pytest.mark.parametrize("host", HOST_CONTEXTS)
def test_the_default_variant_names_its_stateful_resources_as_test_logical_ids_says(hosted, host):
    expected = defaultdict(set)
    for resource_type, logical_id in STATEFUL_LOGICAL_IDS.values():
        expected[resource_type].add(logical_id)
    assert stateful_ids(hosted("default", host)) == dict(expected)


@pytest.mark.parametrize("host", HOST_CONTEXTS)
def test_each_own_function_has_one_tracing_policy_under_any_flags(hosted, host):
    """Active tracing's X-Ray statement (``Resource: *``) alone in one policy of each function's role,
    wherever the flags put the statements CDK adds for itself (existing_number: the settings function)."""
    resources = json.loads(hosted("existing_number", host).template_text)["Resources"]
    xray_only = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    tracing = sorted(
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Policy"
        and "TracingPolicy" in logical_id
        and [(set(s["Action"]), s["Resource"]) for s in resource["Properties"]["PolicyDocument"]["Statement"]]
        == [(xray_only, "*")]
    )
    traced = sorted(
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and logical_id.startswith(
            (
                "TwoWaySmsInboundProcessorFunction",
                "TwoWaySmsOutboundSenderFunction",
                "TwoWaySmsDeliveryEventsFunction",
                "TwoWaySmsCampaignsFunction",
                "TwoWaySmsNumberSettingsFunction",
            )
        )
    )
    assert len(tracing) == len(traced) == 5, (tracing, traced)


def test_a_host_may_add_to_the_functions_role_policies_under_the_flag_that_makes_new_policies():
    """CDK names the policies ``Function.add_to_role_policy`` makes after a private counter: the
    tracing policies must not take one of those ids (or a host's first call would collide)."""
    app = cdk.App(context={**FEATURE_FLAGS, CREATE_NEW_POLICIES_FLAG: True})
    built = TwoWaySmsStack(app, STACK_NAME, config=load_config(VARIANTS["existing_number"])).two_way_sms
    functions = [
        built.inbound_processor.function,
        built.outbound_sender.function,
        built.delivery_events.function,
        built.campaigns.function,
        built.number.settings_function,
    ]
    for function in functions:
        function.add_to_role_policy(iam.PolicyStatement(actions=["sms-voice:DescribePhoneNumbers"], resources=["*"]))
    assert [len(added_policies(function)) for function in functions] == [2] * len(functions)


def test_an_extensions_layer_may_not_ship_a_package_of_the_dependencies_layer(tmp_path):
    """Which layer's file wins depends on @aws-cdk/aws-lambda:recognizeLayerVersion (and on construct
    paths): the two layers must not overlap, so the order never matters."""
    lambda_dependencies.build(lambda_dependencies.layer_dir())
    (tmp_path / "python" / "clinic_handlers").mkdir(parents=True)
    (tmp_path / "python" / "phonenumbers").mkdir()
    (tmp_path / "python" / "phonenumbers-9.0.0.dist-info").mkdir()
    (tmp_path / "python" / "typing_extensions.py").write_text("")
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Layers")
    with pytest.raises(ValueError, match=r"ships \['phonenumbers', 'typing_extensions'\]"):
        extensions_layer(stack, "Clashing", directory=str(tmp_path), module="clinic_handlers")
    layer = extensions_layer(stack, "Fixture", directory=str(EXTENSIONS_DIRECTORY), module="clinic_handlers")
    assert isinstance(layer, lambda_.LayerVersion)


def test_an_extensions_layer_ships_byte_code_for_the_runtime_and_leaves_your_folder_as_it_was(tmp_path):
    (tmp_path / "python" / "clinic_handlers").mkdir(parents=True)
    (tmp_path / "python" / "clinic_handlers" / "__init__.py").write_text("GREETING = 'hi'\n")
    app = cdk.App(context=FEATURE_FLAGS, outdir=str(tmp_path / "cdk.out"))
    extensions_layer(cdk.Stack(app, "Layers"), "Yours", directory=str(tmp_path), module="clinic_handlers")

    assembly = Path(app.synth().directory)

    shipped = sorted(path.relative_to(path.parents[3]) for path in assembly.glob("asset.*/python/*/*/*.pyc"))
    assert [str(path) for path in shipped] == ["python/clinic_handlers/__pycache__/__init__.cpython-314.pyc"]
    assert not list((tmp_path / "python").rglob("*.pyc"))


def test_an_extensions_layer_the_runtime_cannot_compile_fails_the_synth_naming_the_module(tmp_path):
    (tmp_path / "python" / "clinic_handlers").mkdir(parents=True)
    (tmp_path / "python" / "clinic_handlers" / "__init__.py").write_text("def broken(:\n")

    with pytest.raises(lambda_bytecode.BytecodeError, match=r"clinic_handlers/__init__\.py: SyntaxError"):
        extensions_layer(
            cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Layers"), "Yours", directory=str(tmp_path), module="m"
        )


def test_cdk_json_sets_the_flags_cdk_init_writes():
    """A new user's app and this repository synthesize the same template (and `cdk synth` does not
    list flags as "not configured")."""
    assert FEATURE_FLAGS == CDK_INIT_CONTEXT


def _permissions(document: dict) -> set[str]:
    """A policy document as its atomic grants: one (effect, principal, action, resource, condition)
    each, whatever the statements they were merged into and their order."""
    grants = set()
    for statement in document["Statement"]:
        listed = {
            key: statement[key] if isinstance(statement[key], list) else [statement[key]]
            for key in ("Action", "NotAction", "Resource", "NotResource")
            if key in statement
        }
        principals = statement.get("Principal", {"": ""})
        principal_atoms = (
            [json.dumps(principals)]
            if not isinstance(principals, dict)
            else [
                json.dumps({kind: one}, sort_keys=True)
                for kind, values in principals.items()
                for one in (values if isinstance(values, list) else [values])
            ]
        )
        for action in listed.get("Action", listed.get("NotAction", [""])):
            for resource in listed.get("Resource", listed.get("NotResource", [""])):
                for principal in principal_atoms:
                    grants.add(
                        json.dumps(
                            [
                                statement["Effect"],
                                principal,
                                "NotAction" in statement,
                                action,
                                "NotResource" in statement,
                                resource,
                                statement.get("Condition"),
                            ],
                            sort_keys=True,
                        )
                    )
    return grants


def _what_deploys(template_text: str) -> dict[str, object]:
    """The template with each policy document as its set of grants and each function's layers as a set."""
    resources = json.loads(template_text)["Resources"]
    normalised: dict[str, object] = {}
    for logical_id, resource in resources.items():
        properties = dict(resource.get("Properties", {}))
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in properties:
                properties[key] = sorted(_permissions(properties[key]))
        if "Layers" in properties:
            properties["Layers"] = sorted(json.dumps(layer, sort_keys=True) for layer in properties["Layers"])
        normalised[logical_id] = {**resource, "Properties": properties}
    return normalised


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_flags_change_no_permission_and_no_resource(hosted, variant):
    """cdk.json's flags (cdk init's) against none: the same resources, the same grants, the same layers."""
    with_flags = _what_deploys(hosted(variant, "cdk-init").template_text)
    without = _what_deploys(hosted(variant, "no-context").template_text)
    assert with_flags.keys() == without.keys()
    changed = sorted(logical_id for logical_id in with_flags if with_flags[logical_id] != without[logical_id])
    assert not changed, f"{variant}: the flags change more than statement and layer order in {changed}"


def test_the_cdk_init_context_is_what_the_pinned_cli_writes():
    """The fixture against the CLI of package.json (``make test`` installs it with ``npm ci``)."""
    cli = REPO_ROOT / "node_modules" / "aws-cdk"
    assert cli.is_dir(), "the AWS CDK CLI is not installed: run the tests with `make test` (it runs npm ci)"
    version = json.loads((cli / "package.json").read_text())["version"]
    templates = cli / "lib" / "init-templates"
    template_cdk_json = json.loads((templates / "app" / "python" / "cdk.template.json").read_text())
    recommended = json.loads((templates / ".recommended-feature-flags.json").read_text())
    assert "context" not in template_cdk_json  # init's context is the recommended flags alone
    assert CDK_INIT_CONTEXT == recommended, f"refresh {CDK_INIT_CONTEXT_FILE.name} from CLI {version}"
    assert version in json.loads(CDK_INIT_CONTEXT_FILE.read_text())["//"]
