"""Work out how an SMS will be encoded and how many parts it will be billed as.

AWS End User Messaging bills SMS per message part, not per message. A part carries
140 bytes, so the number of parts depends on the encoding the text forces:

* GSM-7, when every character is in the GSM 03.38 default alphabet (basic table or
  extension table): 160 septets in a single part, 153 per part once split (the rest of
  each part holds the concatenation header). Extension characters cost two septets
  (an escape plus the character) and the pair is never split across parts.
* UCS-2, as soon as one character is outside GSM-7: 70 UTF-16 code units in a single
  part, 67 per part once split. Characters outside the BMP (most emoji) take two units
  (a surrogate pair) and the pair is never split across parts.

A single smart quote pasted from a word processor is enough to turn a 1-part message
into a 3-part one, so the report also says which characters forced UCS-2 and which of
them have a GSM-7 look-alike that :func:`replace_lookalikes` can swap in.

Standard library only: this module runs inside the Lambda functions and the CLI alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

GSM7_SINGLE_PART_SEPTETS = 160
GSM7_MULTIPART_SEPTETS = 153
UCS2_SINGLE_PART_UNITS = 70
UCS2_MULTIPART_UNITS = 67

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet, basic table (the escape code 0x1B is not a character).
GSM7_BASIC_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# GSM 03.38 extension table: each is sent as escape + character, so costs two septets.
GSM7_EXTENSION_CHARACTERS = frozenset("\f^{}\\[~]|€")

_SINGLE_QUOTE_LOOKALIKES = "‘’‚‛′‹›"
_DOUBLE_QUOTE_LOOKALIKES = "“”„‟″«»"
_DASH_LOOKALIKES = "‐‑‒–—―−"
# No-break, en/em, thin, hair, narrow no-break, medium mathematical and ideographic spaces.
_SPACE_LOOKALIKES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
# Invisible characters that word processors and web pages slip into copied text.
_INVISIBLE_LOOKALIKES = "\u200b\u2060\ufeff"

# Characters outside GSM-7 that people rarely mean literally: each one alone would turn
# the whole message UCS-2 (more than doubling the parts for longer texts).
GSM7_LOOKALIKES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(_SINGLE_QUOTE_LOOKALIKES, "'"),
        **dict.fromkeys(_DOUBLE_QUOTE_LOOKALIKES, '"'),
        **dict.fromkeys(_DASH_LOOKALIKES, "-"),
        **dict.fromkeys(_SPACE_LOOKALIKES, " "),
        **dict.fromkeys(_INVISIBLE_LOOKALIKES, ""),
        "…": "...",
        "•": "-",
        "·": ".",
        "\t": " ",
    }
)


@dataclass(frozen=True)
class EncodingReport:
    """How a text will be sent: encoding, size in that encoding's units and billed parts."""

    encoding: str
    characters: int
    units: int
    parts: int
    non_gsm_characters: tuple[str, ...]
    lookalikes: tuple[str, ...]

    @property
    def is_multipart(self) -> bool:
        return self.parts > 1

    @property
    def ucs2_only_because_of_lookalikes(self) -> bool:
        """True when :func:`replace_lookalikes` would bring the text back to GSM-7."""
        return (
            self.encoding == UCS2
            and bool(self.non_gsm_characters)
            and len(self.lookalikes) == len(self.non_gsm_characters)
        )

    def describe(self) -> str:
        encoding = self.encoding
        if self.non_gsm_characters:
            encoding += f" (because of {_list_characters(self.non_gsm_characters)})"
        return f"{encoding}, {_plural(self.characters, 'character')}, {_plural(self.parts, 'part')}"


def is_gsm7(text: str) -> bool:
    return all(_is_gsm7_character(character) for character in text)


def replace_lookalikes(text: str) -> str:
    return "".join(GSM7_LOOKALIKES.get(character, character) for character in text)


def analyse(text: str) -> EncodingReport:
    # dict keeps first-appearance order and drops repeats.
    non_gsm = tuple(dict.fromkeys(c for c in text if not _is_gsm7_character(c)))
    if non_gsm:
        encoding = UCS2
        costs = [_utf16_units(character) for character in text]
        single, multi = UCS2_SINGLE_PART_UNITS, UCS2_MULTIPART_UNITS
    else:
        encoding = GSM7
        costs = [_septets(character) for character in text]
        single, multi = GSM7_SINGLE_PART_SEPTETS, GSM7_MULTIPART_SEPTETS
    units = sum(costs)
    return EncodingReport(
        encoding=encoding,
        characters=len(text),
        units=units,
        parts=_count_parts(costs, units, single, multi),
        non_gsm_characters=non_gsm,
        lookalikes=tuple(c for c in non_gsm if c in GSM7_LOOKALIKES),
    )


def _is_gsm7_character(character: str) -> bool:
    return character in GSM7_BASIC_CHARACTERS or character in GSM7_EXTENSION_CHARACTERS


def _septets(character: str) -> int:
    return 2 if character in GSM7_EXTENSION_CHARACTERS else 1


def _utf16_units(character: str) -> int:
    return 2 if ord(character) > 0xFFFF else 1


def _count_parts(costs: list[int], total: int, single: int, multi: int) -> int:
    if total == 0:
        return 0
    if total <= single:
        return 1
    # Pack greedily: a character whose units do not fit in the current part starts the
    # next one, since an escape pair or surrogate pair is never split. This can need one
    # more part than ceil(total / multi).
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts, used = parts + 1, 0
        used += cost
    return parts


def _list_characters(characters: tuple[str, ...], shown: int = 3) -> str:
    # Invisible characters and unusual spaces are shown by code point so they can be found;
    # only the first few are listed to keep the line short.
    listed = ", ".join(
        f"'{c}'" if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in characters[:shown]
    )
    hidden = len(characters) - shown
    return f"{listed} and {hidden} more" if hidden > 0 else listed


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
