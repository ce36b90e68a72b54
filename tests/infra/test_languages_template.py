"""The number's keywords with Spanish and French replies: what End User Messaging is told to answer itself.

One variant with languages, synthesized once for the module (the session's variants have none, and
their templates are what they were: test_template.py).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns

from tests.infra.synth import DEFAULT_CONFIG, synthesize
from tests.infra.test_template import keywords_by_word
from two_way_sms.responder import ResponderSettings
from two_way_sms_cdk import lambda_dependencies
from two_way_sms_cdk.config import parse_config
from two_way_sms_cdk.constructs.two_way_number import TwoWayNumber

SPANISH = {
    "help_reply": "Clinica Ejemplo: ayuda al +1 206 555 0100 o example.com/sms. Envie ALTO para cancelar.",
    "stop_reply": "Clinica Ejemplo: se ha dado de baja y no recibira mas mensajes. Envie INICIO para volver.",
    "opt_in_reply": "Clinica Ejemplo: se ha suscrito de nuevo. Envie AYUDA para ayuda, ALTO para cancelar.",
}
FRENCH = {
    "help_reply": "Clinique Exemple : aide au +1 206 555 0100. Texter ARRET pour annuler.",
    "stop_reply": "Clinique Exemple : vous etes desabonne et ne recevrez plus de messages.",
}
BILINGUAL = {**DEFAULT_CONFIG, "languages": {"es": SPANISH, "fr": FRENCH}}
SPANISH_OPT_OUTS = ("ALTO", "PARAR", "CANCELAR", "DETENER", "BAJA")


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    lambda_dependencies.build(lambda_dependencies.layer_dir())  # a no-op once `make deps` has run
    return synthesize("bilingual", BILINGUAL, tmp_path_factory.mktemp("cdk-bilingual"))


def number_of(synth) -> dict:
    return synth.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]


def test_the_number_answers_spanish_and_french_words_with_their_replies(bilingual):
    keywords = keywords_by_word(number_of(bilingual)["OptionalKeywords"])
    expected = {
        **{word: ("OPT_OUT", SPANISH["stop_reply"]) for word in SPANISH_OPT_OUTS},
        "AYUDA": ("AUTOMATIC_RESPONSE", SPANISH["help_reply"]),
        "AUXILIO": ("AUTOMATIC_RESPONSE", SPANISH["help_reply"]),
        "INICIO": ("OPT_IN", SPANISH["opt_in_reply"]),
        "ARRET": ("OPT_OUT", FRENCH["stop_reply"]),  # one of AWS's own words, answered in French
        "AIDE": ("AUTOMATIC_RESPONSE", FRENCH["help_reply"]),
    }
    assert {word: keywords.get(word) for word in expected} == expected


def test_english_words_keep_the_english_replies(bilingual):
    number, responder = number_of(bilingual), bilingual.config.responder
    keywords = keywords_by_word(number["OptionalKeywords"])
    assert number["MandatoryKeywords"] == {
        "HELP": {"Message": responder.help_reply},
        "STOP": {"Message": responder.stop_reply},
    }
    assert keywords["START"] == ("OPT_IN", responder.opt_in_reply) and keywords["INFO"][1] == responder.help_reply
    assert keywords["STOPALL"] == keywords["REVOKE"] == ("OPT_OUT", responder.stop_reply)


def test_no_registered_keyword_is_one_cloudformation_refuses(bilingual):
    # OptionalKeyword.Keyword, as the CloudFormation docs state it (stricter than the registry schema): no STOP or
    # HELP inside, at most 30 characters
    words = [k["Keyword"] for k in number_of(bilingual)["OptionalKeywords"]]
    other_languages = [w for w in words if w in {*SPANISH_OPT_OUTS, "AYUDA", "AUXILIO", "INICIO", "ARRET", "AIDE"}]
    assert len(other_languages) == 10 and len(set(words)) == len(words)
    assert all(len(w) <= 30 and "STOP" not in w and "HELP" not in w for w in other_languages)


def test_the_inbound_function_reads_back_the_replies_in_every_language(bilingual):
    [function] = [
        f["Properties"]
        for f in bilingual.of_type("AWS::Lambda::Function").values()
        if "RESPONDER_SETTINGS" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    settings = ResponderSettings.from_json(function["Environment"]["Variables"]["RESPONDER_SETTINGS"])
    assert settings == bilingual.config.responder and settings.replies_in("es").stop_reply == SPANISH["stop_reply"]


def test_the_variant_with_languages_has_no_unacknowledged_finding(bilingual):
    assert bilingual.findings == ()


def test_the_default_variants_settings_have_no_languages(default):
    variables = [
        f["Properties"]["Environment"]["Variables"]
        for f in default.of_type("AWS::Lambda::Function").values()
        if "RESPONDER_SETTINGS" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert variables and all('"languages"' not in v["RESPONDER_SETTINGS"] for v in variables)


def test_an_existing_number_gets_the_language_keywords_from_the_custom_resource():
    # The construct alone (no stack of functions): the custom resource's Keywords property.
    app = cdk.App()
    stack = cdk.Stack(app, "Languages")
    number = TwoWayNumber(
        stack,
        "Number",
        topic=sns.Topic(stack, "Topic"),
        responder=parse_config(BILINGUAL).responder,
        number_type="LONG_CODE",
        existing_phone_number_id="phone-0123456789abcdef0123456789abcdef",
    )
    template = app.synth().get_stack_by_name("Languages").template
    [settings] = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "Custom::TwoWaySmsOrigination"
    ]
    keywords = keywords_by_word(settings["Keywords"])
    assert keywords["ALTO"] == ("OPT_OUT", SPANISH["stop_reply"]) and keywords["AIDE"][1] == FRENCH["help_reply"]
    assert keywords["HELP"] == ("AUTOMATIC_RESPONSE", number.responder.help_reply)
    assert json.dumps(settings).count('"ARRET"') == 1


def test_cfn_lint_finds_nothing_new_in_the_variant_with_languages(bilingual):
    from cfnlint.api import ManualArgs, lint

    from tests.infra.test_cfn_lint import ACCEPTED_WARNINGS, REGIONS

    matches = lint(bilingual.template_text, config=ManualArgs(regions=REGIONS))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in ACCEPTED_WARNINGS] == []
