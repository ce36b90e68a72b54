"""Spanish and French customers through the inbound handler: opt-out, help and opt-in in their language."""

from __future__ import annotations

import pytest

from tests.integration.conftest import SETTINGS, inbound_payload, make_harness

CUSTOMER = "+14255550182"
SPANISH = {
    "help_reply": "Clinica Ejemplo: ayuda al +1 206 555 0100. Envie ALTO para cancelar.",
    "stop_reply": "Clinica Ejemplo: se ha dado de baja y no recibira mas mensajes. Envie INICIO para volver.",
    "opt_in_reply": "Clinica Ejemplo: se ha suscrito de nuevo. Envie ALTO para cancelar.",
}
FRENCH = {
    "help_reply": "Clinique Exemple : aide au +1 206 555 0100. Texter ARRET pour annuler.",
    "stop_reply": "Clinique Exemple : vous etes desabonne et ne recevrez plus de messages.",
}
LANGUAGES = {"es": SPANISH, "fr": FRENCH}


@pytest.fixture
def self_managed(monkeypatch):
    yield from make_harness(monkeypatch, self_managed_opt_outs=True, languages=LANGUAGES)


@pytest.fixture
def aws_managed(monkeypatch):
    yield from make_harness(monkeypatch, languages=LANGUAGES)


@pytest.fixture
def english_only(monkeypatch):
    yield from make_harness(monkeypatch)


def text(body: str, message_id: str = "in-1") -> dict:
    return inbound_payload(messageBody=body, inboundMessageId=message_id)


def failures(result: dict) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


@pytest.mark.parametrize(
    "body, keyword, confirmation",
    [
        ("ALTO", "ALTO", SPANISH["stop_reply"]),
        ("parar", "PARAR", SPANISH["stop_reply"]),
        ("Cancelar por favor", "CANCELAR", SPANISH["stop_reply"]),
        ("Arrêt", "ARRET", FRENCH["stop_reply"]),
    ],
)
def test_the_handler_confirms_an_opt_out_once_in_the_customers_language(self_managed, body, keyword, confirmation):
    self_managed.expect_send(CUSTOMER, confirmation, inbound_id="in-1", intent="OPT_OUT")
    self_managed.expect_listed(CUSTOMER)

    assert failures(self_managed.handle(text(body))) == []
    assert self_managed.profile(CUSTOMER)["opted_out"] is True
    [proof] = self_managed.consent_records(CUSTOMER)
    assert (proof["change"], proof["keyword"]) == ("OPTED_OUT", keyword)

    self_managed.expect_listed(CUSTOMER)  # redelivered: listed again, no second confirmation
    assert failures(self_managed.handle(text(body))) == []


def test_help_and_the_spanish_opt_in_are_answered_in_spanish(self_managed):
    self_managed.expect_send(CUSTOMER, SPANISH["help_reply"], inbound_id="in-1", intent="HELP")
    assert failures(self_managed.handle(text("Ayuda"))) == []

    self_managed.stubber.add_response(
        "delete_opted_out_number", {}, {"OptOutListName": "opt-outs", "OptedOutNumber": CUSTOMER}
    )
    self_managed.expect_send(CUSTOMER, SPANISH["opt_in_reply"], inbound_id="in-2", intent="OPT_IN")
    assert failures(self_managed.handle(text("INICIO", "in-2"))) == []
    assert self_managed.consent_records(CUSTOMER)[0]["keyword"] == "INICIO"


def test_french_help_is_answered_in_french(self_managed):
    self_managed.expect_send(CUSTOMER, FRENCH["help_reply"], inbound_id="in-1", intent="HELP")
    assert failures(self_managed.handle(text("AIDE"))) == []


def test_with_aws_managed_opt_outs_the_registered_spanish_word_is_recorded_without_a_second_reply(aws_managed):
    aws_managed.expect_listed(CUSTOMER)  # End User Messaging answered ALTO in Spanish and listed it already

    assert failures(aws_managed.handle(text("ALTO"))) == []
    assert aws_managed.profile(CUSTOMER)["opted_out"] is True
    assert failures(aws_managed.handle(text("AYUDA", "in-2"))) == []  # registered: AWS answers, the stub sends nothing


def test_an_english_program_honours_a_spanish_opt_out_and_confirms_in_english(english_only):
    english_only.expect_send(CUSTOMER, SETTINGS["stop_reply"], inbound_id="in-1", intent="OPT_OUT")
    english_only.expect_listed(CUSTOMER)
    assert failures(english_only.handle(text("Alto por favor"))) == []
    assert english_only.profile(CUSTOMER)["opted_out"] is True

    english_only.expect_send(CUSTOMER, SETTINGS["help_reply"], inbound_id="in-2", intent="HELP")
    assert failures(english_only.handle(text("AYUDA", "in-2"))) == []
