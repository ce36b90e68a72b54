"""How a handler module is wired: once, at its first invocation, with clients made when first used."""

from __future__ import annotations

import threading

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
