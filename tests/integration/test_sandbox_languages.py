"""The sandbox with Spanish and French replies: End User Messaging's emulation answers their words from
the template, the handler records the consent, and what the handler answers itself is in the same language."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from two_way_sms_local.sandbox.engine import Sandbox
from two_way_sms_local.sandbox.template import REPO_ROOT, synthesize

NOON_IN_SEATTLE = datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc)
CUSTOMER = "+12065550123"
CONFIG: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["two-way-sms"]
SPANISH = {
    "help_reply": "Clinica Ejemplo: ayuda al +1 206 555 0100 o example.com/sms. Envie ALTO para cancelar.",
    "stop_reply": "Clinica Ejemplo: se ha dado de baja y no recibira mas mensajes. Envie INICIO para volver.",
    "opt_in_reply": "Clinica Ejemplo: se ha suscrito de nuevo. Envie AYUDA para ayuda, ALTO para cancelar.",
}
FRENCH = {
    "help_reply": "Clinique Exemple : aide au +1 206 555 0100. Texter ARRET pour annuler.",
    "stop_reply": "Clinique Exemple : vous etes desabonne et ne recevrez plus de messages.",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["languages"] = {"es": SPANISH, "fr": FRENCH}
    path: Path = tmp_path_factory.mktemp("config") / "languages.json"
    path.write_text(json.dumps(config))
    return synthesize(str(path)).template


@pytest.fixture
def sandbox(template):
    with Sandbox.from_template(template, start=NOON_IN_SEATTLE) as built:
        yield built


def replies(sandbox: Sandbox) -> list[tuple[str, str]]:
    texts = sandbox.state(CUSTOMER)["customers"][CUSTOMER]["texts"]
    return [(text["body"], text["sent_by"]) for text in texts if text["direction"] == "out"]


def consent(sandbox: Sandbox) -> dict[str, Any]:
    return dict(sandbox.state(CUSTOMER)["customers"][CUSTOMER]["consent"])


def test_a_spanish_customer_texts_alto_gets_the_spanish_confirmation_and_is_opted_out(sandbox):
    sandbox.text_in(CUSTOMER, "ALTO")

    assert replies(sandbox) == [(SPANISH["stop_reply"], "End User Messaging")]  # the number's own, once
    state = consent(sandbox)
    assert state["opted_out"] is True and state["on_opt_out_list"] is True
    [proof] = state["proofs"]
    assert (proof["change"], proof["detail"]["keyword"]) == ("OPTED_OUT", "ALTO")


def test_ayuda_gets_the_spanish_help_and_inicio_opts_back_in_in_spanish(sandbox):
    sandbox.text_in(CUSTOMER, "ALTO")
    sandbox.text_in(CUSTOMER, "Ayuda")
    sandbox.text_in(CUSTOMER, "INICIO")

    assert [body for body, _ in replies(sandbox)] == [
        SPANISH["stop_reply"],
        SPANISH["help_reply"],
        SPANISH["opt_in_reply"],
    ]
    state = consent(sandbox)
    assert state["opted_out"] is False and state["on_opt_out_list"] is False
    assert [proof["change"] for proof in state["proofs"]] == ["OPTED_OUT", "OPTED_IN"]


def test_a_french_customer_gets_arret_confirmed_in_french_accent_or_not(sandbox):
    sandbox.text_in(CUSTOMER, "Arrêt")
    sandbox.text_in(CUSTOMER, "AIDE")

    assert [body for body, _ in replies(sandbox)] == [FRENCH["stop_reply"], FRENCH["help_reply"]]
    assert consent(sandbox)["opted_out"] is True


def test_a_spanish_opt_out_the_number_does_not_match_is_confirmed_by_the_handler_in_spanish(sandbox):
    sandbox.text_in(CUSTOMER, "por favor, alto")  # not *beginning* with ALTO: End User Messaging lets it through

    assert replies(sandbox) == [(SPANISH["stop_reply"], "inbound")]
    state = consent(sandbox)
    assert state["opted_out"] is True and state["on_opt_out_list"] is True


def test_the_described_keywords_name_the_other_languages_words(sandbox):
    assert {"ALTO", "AYUDA", "INICIO", "ARRET", "AIDE"} <= set(sandbox.describe()["keywords"])
