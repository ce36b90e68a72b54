"""What carriers require of the replies themselves (CTIA Messaging Principles and Best Practices).

HELP must tell the customer how to reach a person (a phone number, a URL or an e-mail
address); STOP must confirm that messages will stop, in the language of the word the customer
used (the ARRET reply "must be in French": CWTA, see ``two_way_sms.languages``). The config
checks its replies with these at synth, and so does anything else that builds replies (the
CLI, the sandbox).

Contact details are the same in any language. The confirmation is read per language, on the
text with accents folded ("recibirá" as "recibira"), from the phrases the carriers' own
examples use: Spanish "Su suscripción ... ha sido cancelada" (Twilio's Spanish short code
guidelines), "se ha dado de baja", "no recibirá más mensajes"; French "Vous avez été désabonné
et ne recevrez plus de messages" (CWTA's ARRET example).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from two_way_sms.languages import ENGLISH, FRENCH, LANGUAGES, SPANISH

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"(https?://\S+|www\.\S+|\b[\w-]+(\.[\w-]+)*\.(com|org|net|gov|edu|io|co|us|info|health)\b)", re.I)
_STOP_CONFIRMATION = re.compile(
    r"\b(unsubscribed|opted[ -]out|no (more|further|longer)|will not (receive|get|be sent)|won'?t (receive|get|be sent)"
    r"|not (receive|get) (any )?(more|further)|stop(ped)? (receiving|sending)|removed)\b",
    re.I,
)
# Read on the text with accents folded (``_folded``).
_SPANISH_STOP_CONFIRMATION = re.compile(
    r"\b(dad[oa]s? de baja|(se|te|le) (ha|has|han) (dado|borrado|eliminado|retirado)"
    r"|(suscripcion|subscripcion|inscripcion)\b.{0,80}\b(cancelad|terminad|finalizad)[oa]"
    r"|no (recibira|recibiras|recibiran|le enviaremos|te enviaremos|les enviaremos)( mas| ningun| otro)"
    r"|ya no (recibira|recibiras|recibiran|le enviaremos|te enviaremos|les enviaremos)"
    r"|no mas (mensajes|textos|sms)|desuscrit[oa]s?|desinscrit[oa]s?)\b",
    re.I,
)
_FRENCH_STOP_CONFIRMATION = re.compile(
    r"\b(desabonnee?s?|desinscrite?s?|desinscription|desabonnement"
    r"|ne (recevrez|recevras|recevront) (plus|aucun)|n'?(enverrons|recevrez) plus|ne vous enverrons plus"
    r"|plus aucun (message|texto|sms)|(retire|supprime)e?s? de (la|notre) liste)\b",
    re.I,
)
STOP_CONFIRMATIONS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {ENGLISH: _STOP_CONFIRMATION, SPANISH: _SPANISH_STOP_CONFIRMATION, FRENCH: _FRENCH_STOP_CONFIRMATION}
)
STOP_CONFIRMATION_EXAMPLES: Mapping[str, str] = MappingProxyType(
    {
        ENGLISH: "You are unsubscribed and will receive no more messages",
        SPANISH: "Se ha dado de baja y no recibirá más mensajes",
        FRENCH: "Vous êtes désabonné et ne recevrez plus de messages",
    }
)


def help_reply_problem(text: str, *, name: str = "help_reply") -> str | None:
    """Why ``text`` cannot be a HELP reply (no contact details), or None; ``name`` is the setting it is."""
    import phonenumbers  # its matcher is costly to import, and only replies being checked need it

    has_phone = any(True for _ in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE))
    if has_phone or EMAIL.search(text) or _URL.search(text):
        return None
    return f"{name} {text!r} must carry contact information: a phone number, a URL or an e-mail address"


def stop_reply_problem(text: str, *, language: str = ENGLISH, name: str = "stop_reply") -> str | None:
    """Why ``text`` cannot be a STOP confirmation in ``language`` (it does not say messages stop), or None."""
    if language not in STOP_CONFIRMATIONS:
        raise ValueError(f"language {language!r} has no confirmation phrases: one of {sorted(STOP_CONFIRMATIONS)}")
    pattern = STOP_CONFIRMATIONS[language]
    if pattern.search(text if language == ENGLISH else _folded(text)):
        return None
    in_language = "" if language == ENGLISH else f" in {LANGUAGES[language].name}"
    return (
        f"{name} {text!r} must confirm{in_language} that messages will stop (e.g. "
        f"'{STOP_CONFIRMATION_EXAMPLES[language]}')"
    )


def _folded(text: str) -> str:
    """Accents off, apostrophes plain: "Désabonné, n’enverrons" -> "Desabonne, n'enverrons"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
