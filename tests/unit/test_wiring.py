"""How a handler module is wired: once, at its first invocation, with clients made when first used."""

from __future__ import annotations

import threading

import pytest

from two_way_sms.handlers import wiring


def test_the_entry_point_wires_once_and_serves_every_invocation_after():
    wirings = []

    def wire():
        wirings.append(1)
        return lambda event, context: (event, context)

    handler = wiring.wired_on_first_call(wire)

    assert wirings == []  # nothing read or created at import
    assert handler({"n": 1}, "ctx") == ({"n": 1}, "ctx")
    assert handler({"n": 2}, "ctx") == ({"n": 2}, "ctx")
    assert wirings == [1]


def test_invocations_racing_on_a_cold_entry_point_wire_it_once():
    wirings = []
    started = threading.Barrier(4)

    def wire():
        wirings.append(1)
        return lambda event, context: event

    handler = wiring.wired_on_first_call(wire)

    def invoke():
        started.wait()
        handler("e", None)

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wirings == [1]


def test_default_session_clients_are_created_only_when_a_service_is_first_called(monkeypatch):
    created = []
    monkeypatch.setattr(wiring.boto3, "client", lambda service: created.append(service) or f"<{service}>")
    monkeypatch.setattr(wiring.boto3, "resource", lambda service: created.append(f"{service} resource") or None)

    clients = wiring.AwsClients.from_default_session()
    assert created == []

    assert clients.sms.upper() == "<PINPOINT-SMS-VOICE-V2>"  # an attribute of the real client
    clients.sms.lower()
    assert created == ["pinpoint-sms-voice-v2"]


def test_dynamodb_tables_come_from_a_plain_client_not_boto3s_resource_layer(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(wiring.boto3, "resource", lambda *args, **kwargs: pytest.fail("the resource layer was made"))

    table = wiring.AwsClients.from_default_session().dynamodb.Table("ledger")

    assert table.name == "ledger"
    assert table.meta.client.meta.service_model.service_name == "dynamodb"


def test_a_client_can_have_its_own_botocore_config(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from two_way_sms.handlers.sender import SMS_RETRIES

    clients = wiring.AwsClients.from_default_session(configs={"sms": SMS_RETRIES})
    assert clients.sms.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}  # 3 retries
    assert clients.sqs.meta.config.retries != clients.sms.meta.config.retries


def test_a_config_for_a_client_that_does_not_exist_is_refused():
    import pytest
    from botocore.config import Config

    with pytest.raises(ValueError, match="no AWS client named smss"):
        wiring.AwsClients.from_default_session(configs={"smss": Config()})


def test_a_function_is_traced_only_on_lambda_and_unless_tracing_is_disabled():
    lambda_ = {"LAMBDA_TASK_ROOT": "/var/task"}
    assert wiring.tracing_enabled(lambda_)
    assert wiring.tracing_enabled({**lambda_, "POWERTOOLS_TRACE_DISABLED": "false"})
    assert not wiring.tracing_enabled({**lambda_, "POWERTOOLS_TRACE_DISABLED": "true"})
    assert not wiring.tracing_enabled({**lambda_, "POWERTOOLS_TRACE_DISABLED": "1"})
    assert not wiring.tracing_enabled({**lambda_, "AWS_SAM_LOCAL": "true"})
    assert not wiring.tracing_enabled({})  # tests, benchmarks, the sandbox


def test_an_untraced_function_keeps_its_handler_and_methods_as_they_are():
    tracer = wiring.FunctionTracer({})

    def handler(event, context):
        return event

    assert not tracer.enabled
    assert tracer.capture_lambda_handler(handler) is handler
    assert tracer.capture_method(handler) is handler


def test_importing_a_handler_brings_no_tracing_sdk_and_none_of_the_libraries_its_messages_rarely_need():
    # A fresh interpreter: what a cold start imports (the suite's own process has imported everything).
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "import two_way_sms.handlers.inbound, two_way_sms.handlers.sender\n"
        "import two_way_sms.handlers.campaigns, two_way_sms.handlers.events\n"
        "heavy = ('aws_xray_sdk', 'phonenumbers', 'holidays', 'pydantic')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    environment = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
