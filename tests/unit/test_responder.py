"""Who answers what: the reply, consent change and opt-out list work for each inbound text."""

import dataclasses

import pytest

from two_way_sms.responder import (
    ConsentChange,
    Intent,
    KeywordAction,
    KeywordRule,
    LanguageReplies,
    ResponderSettings,
    decide,
)

AWS_MANAGED = ResponderSettings(
    help_reply="help",
    stop_reply="stopped",
    opt_in_reply="welcome back",
    keywords=(KeywordRule("HOURS", "9-5"), KeywordRule("JOIN", "joined", KeywordAction.OPT_IN)),
    extra_opt_out_words=("CEASE",),
    default_reply="thanks",
    number_type="LONG_CODE",
)
SELF_MANAGED = dataclasses.replace(AWS_MANAGED, self_managed_opt_outs=True)
TOLL_FREE = dataclasses.replace(AWS_MANAGED, number_type="TOLL_FREE")


@pytest.mark.parametrize(
    "body", ["STOP", "Stop.", " stop ", "STOP please", "UNSUBSCRIBE", "arret", "STOPALL", "revoke"]
)
def test_opt_out_words_are_recorded_and_left_to_aws_when_it_manages_opt_outs(body):
    decision = decide(body, opted_out=False, settings=AWS_MANAGED)
    assert decision.intent is Intent.OPT_OUT and decision.consent_change is ConsentChange.OPTED_OUT
    assert decision.reply is None and not decision.update_opt_out_list


def test_self_managed_stop_confirms_once_and_updates_the_list():
    first = decide("STOP", opted_out=False, settings=SELF_MANAGED)
    again = decide("STOP", opted_out=True, settings=SELF_MANAGED)
    assert first.reply == "stopped" and first.update_opt_out_list
    assert again.reply is None and again.update_opt_out_list and again.consent_change is ConsentChange.OPTED_OUT


def test_an_opt_out_phrase_is_the_handlers_to_answer_even_with_aws_managed_opt_outs():
    decision = decide("please opt me out", opted_out=False, settings=AWS_MANAGED)
    assert decision.intent is Intent.OPT_OUT and decision.reply == "stopped" and decision.update_opt_out_list


def test_a_configured_extra_opt_out_word_is_registered_on_the_number_for_aws_to_handle():
    assert "CEASE" in {k.keyword for k in AWS_MANAGED.number_keywords() if k.action is KeywordAction.OPT_OUT}
    assert decide("cease", opted_out=False, settings=AWS_MANAGED).reply is None


def test_a_toll_free_number_registers_no_extra_opt_out_words_so_the_handler_answers_them():
    registered = {k.keyword for k in TOLL_FREE.number_keywords()}
    assert "STOPALL" not in registered and {"START", "UNSTOP"} <= registered
    assert decide("STOPALL", opted_out=False, settings=TOLL_FREE).reply == "stopped"
    assert decide("STOP", opted_out=False, settings=TOLL_FREE).reply is None  # the carrier's


def test_a_message_aws_opts_out_because_it_begins_with_its_word_is_recorded_as_aws_did():
    # AWS matches "begins with END" and has already opted the number out: the record follows it.
    decision = decide("End of the day works", opted_out=False, settings=AWS_MANAGED)
    assert decision.intent is Intent.OPT_OUT and decision.matched == "END"
    assert decision.reply is None and not decision.update_opt_out_list


def test_the_handler_reads_the_same_sentence_as_no_revocation_when_it_manages_opt_outs():
    decision = decide("End of the day works", opted_out=False, settings=SELF_MANAGED)
    assert decision.intent is Intent.OTHER and decision.consent_change is None


@pytest.mark.parametrize("settings", [AWS_MANAGED, SELF_MANAGED], ids=["aws-managed", "self-managed"])
def test_the_decision_names_the_canonical_word_not_the_form_typed(settings):
    assert decide("opt-out", opted_out=False, settings=settings).matched == "OPT OUT"
    assert decide("Kindly remove me", opted_out=False, settings=settings).matched == "REMOVE ME"


def test_a_revocation_that_does_not_begin_with_a_keyword_is_the_handlers_even_on_toll_free():
    decision = decide("please stop", opted_out=False, settings=TOLL_FREE)
    assert decision.intent is Intent.OPT_OUT and decision.reply == "stopped" and decision.update_opt_out_list


def test_a_configured_opt_out_word_takes_courtesy_words_when_the_handler_answers():
    decision = decide("please cease", opted_out=False, settings=SELF_MANAGED)
    assert decision.intent is Intent.OPT_OUT and decision.matched == "CEASE" and decision.reply == "stopped"


def test_configured_opt_out_phrases_add_to_the_rule_and_cannot_turn_it_off():
    no_phrases = dataclasses.replace(SELF_MANAGED, opt_out_phrases=())
    with_phrase = dataclasses.replace(SELF_MANAGED, opt_out_phrases=("not interested",))
    assert decide("please opt me out", opted_out=False, settings=no_phrases).intent is Intent.OPT_OUT
    assert decide("Sorry, not interested", opted_out=False, settings=with_phrase).matched == "NOT INTERESTED"
    assert decide("Sorry, not interested", opted_out=False, settings=no_phrases).intent is Intent.OTHER


def test_the_settings_compile_their_revocation_grammar_once():
    assert SELF_MANAGED.revocations is SELF_MANAGED.revocations


def test_stopping_by_is_not_an_opt_out():
    decision = decide("Stopping by later?", opted_out=False, settings=AWS_MANAGED)
    assert decision.intent is Intent.OTHER and decision.reply == "thanks" and decision.consent_change is None


def test_help_reaches_an_opted_out_number_when_the_handler_answers_help():
    decision = decide("HELP", opted_out=True, settings=SELF_MANAGED)
    assert decision.intent is Intent.HELP and decision.reply == "help"


def test_help_and_info_are_left_to_aws_when_it_manages_opt_outs():
    assert decide("help", opted_out=False, settings=AWS_MANAGED).reply is None
    assert decide("info", opted_out=False, settings=AWS_MANAGED).reply is None


@pytest.mark.parametrize("body", ["START", "unstop", "Join"])
def test_opt_in_words_including_configured_ones_record_an_opt_in(body):
    decision = decide(body, opted_out=True, settings=SELF_MANAGED)
    assert decision.consent_change is ConsentChange.OPTED_IN and decision.reply == "welcome back"


def test_a_configured_keyword_gets_its_reply_but_not_when_opted_out():
    assert decide("hours?", opted_out=False, settings=AWS_MANAGED).reply == "9-5"
    assert decide("hours?", opted_out=True, settings=AWS_MANAGED).reply is None


def test_anything_else_gets_the_default_reply_never_to_an_opted_out_number():
    assert decide("hello", opted_out=False, settings=AWS_MANAGED).reply == "thanks"
    assert decide("hello", opted_out=True, settings=AWS_MANAGED).reply is None
    no_default = dataclasses.replace(AWS_MANAGED, default_reply=None)
    assert decide("hello", opted_out=False, settings=no_default).reply is None


def test_self_managed_numbers_register_no_compliance_keywords_for_aws_to_answer():
    assert SELF_MANAGED.number_keywords() == ()


def test_settings_survive_the_trip_through_the_environment_as_json():
    assert ResponderSettings.from_json(AWS_MANAGED.to_json()) == AWS_MANAGED


# -- other languages ---------------------------------------------------------------------------------
SPANISH = LanguageReplies("es", "ayuda: +1 206 555 0100", "baja confirmada", "alta confirmada")
FRENCH = LanguageReplies("fr", "aide : +1 206 555 0100", "désabonnement confirmé")
BILINGUAL = dataclasses.replace(AWS_MANAGED, languages=(SPANISH, FRENCH))
BILINGUAL_SELF_MANAGED = dataclasses.replace(BILINGUAL, self_managed_opt_outs=True)


@pytest.mark.parametrize(
    "body, matched, language",
    [
        ("ALTO", "ALTO", "es"),
        ("alto", "ALTO", "es"),
        ("Parar", "PARAR", "es"),
        ("CANCELAR", "CANCELAR", "es"),
        ("Detener por favor", "DETENER", "es"),
        ("baja", "BAJA", "es"),
        ("por favor, alto", "ALTO", "es"),
        ("ARRÊT", "ARRET", "fr"),
        ("arret", "ARRET", "fr"),
        ("STOP", "STOP", "en"),
    ],
)
def test_the_handler_confirms_an_opt_out_in_the_language_of_the_word(body, matched, language):
    decision = decide(body, opted_out=False, settings=BILINGUAL_SELF_MANAGED)

    assert decision.intent is Intent.OPT_OUT and decision.consent_change is ConsentChange.OPTED_OUT
    assert (decision.matched, decision.language) == (matched, language)
    assert decision.reply == BILINGUAL_SELF_MANAGED.replies_in(language).stop_reply and decision.update_opt_out_list


@pytest.mark.parametrize(
    "body, language, reply", [("AYUDA", "es", SPANISH.help_reply), ("Aide", "fr", FRENCH.help_reply)]
)
def test_help_words_are_answered_in_their_language(body, language, reply):
    decision = decide(body, opted_out=True, settings=BILINGUAL_SELF_MANAGED)
    assert (decision.intent, decision.language, decision.reply) == (Intent.HELP, language, reply)


def test_a_spanish_opt_in_word_is_confirmed_in_spanish_and_start_in_english():
    inicio = decide("Inicio", opted_out=True, settings=BILINGUAL_SELF_MANAGED)
    start = decide("START", opted_out=True, settings=BILINGUAL_SELF_MANAGED)
    assert (inicio.consent_change, inicio.language, inicio.reply) == (ConsentChange.OPTED_IN, "es", "alta confirmada")
    assert (start.language, start.reply) == ("en", "welcome back")


def test_configured_languages_words_are_registered_on_the_number_with_their_replies():
    registered = {k.keyword: (k.action, k.reply) for k in BILINGUAL.number_keywords()}
    for word in ("ALTO", "PARAR", "CANCELAR", "DETENER", "BAJA"):
        assert registered[word] == (KeywordAction.OPT_OUT, "baja confirmada")
    assert registered["ARRET"] == (KeywordAction.OPT_OUT, "désabonnement confirmé")  # AWS's word, in French
    assert registered["AYUDA"] == registered["AUXILIO"] == (KeywordAction.AUTOMATIC_RESPONSE, SPANISH.help_reply)
    assert registered["AIDE"] == (KeywordAction.AUTOMATIC_RESPONSE, FRENCH.help_reply)
    assert registered["INICIO"] == (KeywordAction.OPT_IN, "alta confirmada")
    assert decide("ALTO", opted_out=False, settings=BILINGUAL).reply is None  # AWS answered it in Spanish
    assert decide("AYUDA", opted_out=False, settings=BILINGUAL).reply is None


def test_without_languages_the_number_keywords_and_settings_are_what_they_were():
    assert [k.keyword for k in AWS_MANAGED.number_keywords()] == [
        "INFO",
        "START",
        "UNSTOP",
        "JOIN",
        "STOPALL",
        "REVOKE",
        "CEASE",
    ]
    assert '"languages"' not in AWS_MANAGED.to_json()


def test_an_unconfigured_languages_opt_out_is_honoured_and_confirmed_in_english():
    decision = decide("Alto por favor", opted_out=False, settings=AWS_MANAGED)
    assert (decision.intent, decision.language, decision.reply) == (Intent.OPT_OUT, "es", "stopped")
    assert decision.update_opt_out_list  # not registered: the handler puts the number on the list


def test_an_unconfigured_languages_help_word_gets_the_english_help_but_its_opt_in_word_nothing():
    assert decide("AYUDA", opted_out=False, settings=AWS_MANAGED).reply == "help"
    assert decide("INICIO", opted_out=True, settings=AWS_MANAGED).consent_change is None


def test_a_keyword_of_an_unconfigured_languages_help_word_keeps_its_own_reply():
    settings = dataclasses.replace(AWS_MANAGED, keywords=(KeywordRule("AYUDA", "Llame al +1 206 555 0100"),))
    assert decide("ayuda", opted_out=False, settings=settings).reply == "Llame al +1 206 555 0100"


def test_a_toll_free_number_registers_no_spanish_opt_out_words_and_the_handler_confirms_in_spanish():
    toll_free = dataclasses.replace(BILINGUAL, number_type="TOLL_FREE")
    registered = {k.keyword for k in toll_free.number_keywords()}
    assert {"AYUDA", "AIDE", "INICIO"} <= registered and not {"ALTO", "ARRET"} & registered
    assert decide("ALTO", opted_out=False, settings=toll_free).reply == "baja confirmada"


def test_the_replies_name_each_language_for_reports_and_the_environment_check():
    replies = BILINGUAL.replies
    assert replies["languages.es.stop_reply"] == "baja confirmada" and "languages.fr.opt_in_reply" not in replies


def test_settings_with_languages_survive_the_trip_as_json():
    assert ResponderSettings.from_json(BILINGUAL.to_json()) == BILINGUAL


@pytest.mark.parametrize(
    "replies, message",
    [
        (dict(language="de", help_reply="h", stop_reply="s"), "language 'de' is not one of"),
        (dict(language="en", help_reply="h", stop_reply="s"), "language 'en' is not one of"),
        (dict(language="es", help_reply="h", stop_reply="s"), "needs an opt_in_reply"),
    ],
)
def test_language_replies_are_checked_when_built(replies, message):
    with pytest.raises(ValueError, match=message):
        LanguageReplies(**replies)


def test_a_language_is_configured_once():
    with pytest.raises(ValueError, match="more than once"):
        dataclasses.replace(AWS_MANAGED, languages=(FRENCH, FRENCH))


def test_a_spanish_word_you_configured_yourself_stays_registered_without_the_language():
    settings = dataclasses.replace(
        AWS_MANAGED,
        extra_opt_out_words=("ALTO",),
        keywords=(KeywordRule("PARAR", "stopped", KeywordAction.OPT_OUT),),
    )
    registered = {k.keyword for k in settings.number_keywords() if k.action is KeywordAction.OPT_OUT}
    assert {"ALTO", "PARAR"} <= registered and not {"DETENER", "BAJA", "ARRET"} & registered
