"""The carriers' rules for HELP and STOP replies, as the domain states them."""

import pytest

from two_way_sms.compliance import help_reply_problem, stop_reply_problem


@pytest.mark.parametrize(
    "reply",
    [
        "Example Clinic: call +1 206 555 0100 for help.",
        "Example Clinic: help at example.com/sms.",
        "Example Clinic: write to help@example.com.",
    ],
)
def test_a_help_reply_with_a_phone_number_url_or_email_is_accepted(reply):
    assert help_reply_problem(reply) is None


def test_a_help_reply_without_contact_details_is_refused_naming_the_reply():
    problem = help_reply_problem("Example Clinic: we are here to help.")

    assert problem is not None and "contact information" in problem and "we are here to help" in problem


@pytest.mark.parametrize(
    "reply",
    [
        "You are unsubscribed and will receive no more messages.",
        "You have opted out. Reply START to resubscribe.",
        "You won't receive further texts from Example Clinic.",
    ],
)
def test_a_stop_reply_that_confirms_messages_stop_is_accepted(reply):
    assert stop_reply_problem(reply) is None


def test_a_stop_reply_that_does_not_confirm_is_refused_with_an_example():
    problem = stop_reply_problem("Thanks for your message!")

    assert problem is not None and "must confirm that messages will stop" in problem


# -- other languages: the confirmation in the language of the word -----------------------------------
@pytest.mark.parametrize(
    "language, reply",
    [
        ("es", "Clínica Ejemplo: se ha dado de baja y no recibirá más mensajes."),
        ("es", "Su suscripción de Alertas Clínica ha sido cancelada. Envíe AYUDA para asistencia."),
        ("es", "CLINICA EJEMPLO: YA NO RECIBIRA MENSAJES. ENVIE INICIO PARA VOLVER."),
        ("fr", "Clinique Exemple : vous avez été désabonné et ne recevrez plus de messages."),
        ("fr", "Clinique Exemple : vous ne recevrez plus aucun message. Texter AIDE pour de l’aide."),
        ("fr", "CLINIQUE EXEMPLE : VOUS ETES DESABONNE."),
    ],
)
def test_a_stop_reply_confirming_in_its_language_is_accepted(language, reply):
    assert stop_reply_problem(reply, language=language) is None


@pytest.mark.parametrize(
    "language, reply, phrase",
    [
        ("es", "You are unsubscribed and will receive no more messages.", "must confirm in Spanish"),
        ("es", "Clínica Ejemplo: gracias por su mensaje.", "no recibirá más mensajes"),
        ("fr", "Clinique Exemple : merci de votre message.", "ne recevrez plus de messages"),
        ("fr", "Clínica Ejemplo: se ha dado de baja.", "must confirm in French"),
    ],
)
def test_a_stop_reply_that_does_not_confirm_in_its_language_is_refused_with_an_example(language, reply, phrase):
    problem = stop_reply_problem(reply, language=language, name=f"languages.{language}.stop_reply")

    assert problem is not None and problem.startswith(f"languages.{language}.stop_reply ") and phrase in problem


def test_contact_details_are_the_same_in_any_language():
    assert help_reply_problem("Clínica Ejemplo: ayuda al +1 206 555 0100.", name="languages.es.help_reply") is None
    problem = help_reply_problem("Clinique Exemple : nous sommes là pour vous aider.", name="languages.fr.help_reply")
    assert problem is not None and problem.startswith("languages.fr.help_reply ") and "contact information" in problem


def test_an_unknown_language_has_no_confirmation_phrases():
    with pytest.raises(ValueError, match="language 'de'"):
        stop_reply_problem("Sie erhalten keine Nachrichten mehr.", language="de")
