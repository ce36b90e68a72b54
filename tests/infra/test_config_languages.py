"""The ``languages`` setting: replies in Spanish and French, checked at synth like the English ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from two_way_sms_cdk.config import CONTEXT_KEY, ConfigError, parse_config

VALID: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"][
    CONTEXT_KEY
]
SPANISH = {
    "help_reply": "Clinica Ejemplo: ayuda al +1 206 555 0100 o example.com/sms. Envie ALTO para cancelar.",
    "stop_reply": "Clinica Ejemplo: se ha dado de baja y no recibira mas mensajes. Envie INICIO para volver.",
    "opt_in_reply": "Clinica Ejemplo: se ha suscrito de nuevo. Envie AYUDA para ayuda, ALTO para cancelar.",
}
FRENCH = {
    "help_reply": "Clinique Exemple : aide au +1 206 555 0100. Texter ARRET pour annuler.",
    "stop_reply": "Clinique Exemple : vous êtes désabonné et ne recevrez plus de messages.",
}


def config(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    raw.update(changes)
    return raw


def with_languages(**languages: dict[str, Any]) -> dict[str, Any]:
    return config(languages=languages)


def test_spanish_and_french_replies_reach_the_responder_settings():
    responder = parse_config(with_languages(es=SPANISH, fr=FRENCH)).responder
    assert responder.replies_in("es").stop_reply == SPANISH["stop_reply"]
    assert responder.replies_in("fr").help_reply == FRENCH["help_reply"]
    assert responder.replies_in("fr").opt_in_reply == VALID["opt_in_reply"]  # French has no opt-in word: START's
    assert responder.configured_languages == {"es", "fr"}


def test_without_languages_the_settings_are_what_they_were():
    assert '"languages"' not in parse_config(config()).responder.to_json()


def test_each_language_reply_is_reported_with_its_encoding_and_parts():
    reports = {report.name: report for report in parse_config(with_languages(es=SPANISH, fr=FRENCH)).reply_reports}
    assert (reports["languages.es.help_reply"].report.encoding, reports["languages.es.help_reply"].warning) == (
        "GSM-7",
        None,
    )
    french = reports["languages.fr.stop_reply"]
    assert (french.report.encoding, french.report.parts) == ("UCS-2", 2)
    assert french.warning == "languages.fr.stop_reply is sent as 2 parts (billed per part), UCS-2 because of 'ê'"


@pytest.mark.parametrize(
    "languages, message",
    [
        ({"de": FRENCH}, r"^languages 'de' is not a language with consent words: one of es, fr \(English is"),
        ({"en": FRENCH}, r"^languages 'en' is not a language with consent words"),
        (
            {"es": {**SPANISH, "help_reply": "Clinica Ejemplo: estamos para ayudarle."}},
            r"^languages\.es\.help_reply 'Clinica Ejemplo: estamos para ayudarle\.' must carry contact information",
        ),
        (
            {"es": {**SPANISH, "stop_reply": "Clinica Ejemplo: you are unsubscribed."}},
            r"^languages\.es\.stop_reply 'Clinica Ejemplo: you are unsubscribed\.' must confirm in Spanish that "
            r"messages will stop \(e\.g\. 'Se ha dado de baja",
        ),
        (
            {"fr": {**FRENCH, "stop_reply": "Clinique Exemple : merci."}},
            r"^languages\.fr\.stop_reply 'Clinique Exemple : merci\.' must confirm in French",
        ),
        (
            {"es": {k: v for k, v in SPANISH.items() if k != "opt_in_reply"}},
            r"^languages\.es\.opt_in_reply is required: it answers the opt-in words \['INICIO'\]$",
        ),
        (
            {"fr": {**FRENCH, "opt_in_reply": "Clinique Exemple : réabonné."}},
            r"^languages\.fr\.opt_in_reply would never be sent: French has no opt-in word",
        ),
        ({"fr": {**FRENCH, "default_reply": "Merci!"}}, r"^languages\.fr has unknown settings \['default_reply'\]"),
        ({"fr": {"help_reply": FRENCH["help_reply"]}}, r"^languages\.fr\.stop_reply is required$"),
        ({"es": {**SPANISH, "stop_reply": "x" * 1601}}, r"^languages\.es\.stop_reply has 1601 characters"),
        ({"fr": "ARRET"}, r"^languages\.fr 'ARRET' must be an object with help_reply, stop_reply and opt_in_reply$"),
    ],
)
def test_a_wrong_language_setting_fails_in_one_line_naming_it(languages, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(config(languages=languages))
    assert "\n" not in str(error.value)


def test_a_keyword_taking_a_configured_languages_word_is_refused():
    raw = with_languages(es=SPANISH)
    raw["keywords"] = [*raw["keywords"], {"keyword": "ayuda", "reply": "Llame al +1 206 555 0100."}]
    with pytest.raises(ConfigError, match=r"^keywords\[1\]\.keyword 'AYUDA' is a Spanish consent or help word: "):
        parse_config(raw)


def test_an_extra_word_repeating_a_configured_languages_word_is_refused():
    raw = with_languages(fr=FRENCH)
    raw["extra_opt_out_words"] = ["arret"]
    with pytest.raises(ConfigError, match=r"^extra_opt_out_words 'ARRET' is a French word already: remove it$"):
        parse_config(raw)


def test_the_same_keyword_without_the_language_keeps_its_reply():
    raw = config(keywords=[{"keyword": "AYUDA", "reply": "Llame al +1 206 555 0100."}])
    assert parse_config(raw).responder.keywords[0].keyword == "AYUDA"


def test_a_flow_cannot_start_with_a_help_word_of_any_language():
    raw = config(conversations={"flows": {"aid": {**_FLOW, "start_words": ["AIDE"]}}})
    with pytest.raises(ConfigError, match=r"AIDE is reserved"):
        parse_config(raw)


def test_the_replies_in_every_language_count_in_the_inbound_environment():
    long = {
        "help_reply": "Clinica Ejemplo: ayuda al +1 206 555 0100. " + "a" * 700,
        "stop_reply": "Clinica Ejemplo: se ha dado de baja. " + "b" * 700,
        "opt_in_reply": "Clinica Ejemplo: de nuevo. " + "c" * 700,
    }
    with pytest.raises(ConfigError, match=r"inbound function's environment.*languages\.es\.help_reply \("):
        parse_config(with_languages(es=long))


_FLOW = {
    "start": "ask",
    "timeout_seconds": 3600,
    "steps": {"ask": {"prompt": "Rate your visit 1-5.", "answers": [{"match": "1|2|3|4|5", "close": True}]}},
}
