"""The offline engine's vocabulary and tokenizer: each word lower-cased, lightly stemmed and, when it
is a key term (or a likely typo or gluing of one), replaced by an upper-case concept such as ORDER or
REFUND; contractions, slang and split compounds ("log in") are normalised on the way. Per-word work
is cached and the typo lookups per message are bounded, so tokenizing is linear in the text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

# --- words ------------------------------------------------------------------------------------------

# Concept -> words that express it (any inflection; stemmed when the table is built).
_LEXICON: dict[str, str] = {
    "INVOICE": "invoice bill billing receipt statement",
    "CHARGE": "charge overcharge surcharge debit deduct",
    "PAY": "pay payment paid transaction",
    "CARD": "card creditcard",
    "REFUND": "refund reimburse reimbursement rebate compensation compensate restitution cashback chargeback",
    "RETURN": "return rma",
    "EXCHANGE": "exchange replace replacement",
    "TRACK": "track trace",
    "STATUS": "status eta whereabouts",
    "ARRIVE": "arrive arrival",
    "RECEIVE": "receive",
    "DELIVERY": "deliver delivery ship shipping shipment dispatch courier transit postage",
    "ORDER": "order purchase package parcel item article product goods merchandise",
    "ADDRESS": "address",
    "OPTION": "option method type choice alternative",
    "ACCOUNT": "account profile user username membership",
    "PASSWORD": "password pwd passcode pin passphrase credential",
    "LOGIN": "login logon signin",
    "SIGNUP": "signup register registration enroll enrol",
    "NEWSLETTER": "newsletter",
    "SUBSCRIBE": "subscribe unsubscribe subscription",
    "REVIEW": "review feedback opinion testimonial rating",
    "AGENT": "agent operator representative rep human staff employee manager supervisor",
    "SOMEONE": "someone somebody anyone anybody person people assistant",
    "TALK": "talk speak chat call contact phone telephone reach",
    "SUPPORT": "service support assistance care helpdesk",
    "BUY": "buy shop",
    "CRASH": "crash freeze bug glitch malfunction flicker overheat unresponsive",
    "ERROR": "error",
    "PROBLEM": "problem issue trouble difficulty",
    "DEVICE": (
        "app application website site device software program laptop computer tablet printer router "
        "modem console speaker headphone earbud earphone charger tv television camera screen touchscreen "
        "firmware "
        "keyboard battery monitor display wifi bluetooth"
    ),
    "LOCATE": "locate",
    "EXPECT": "expect estimate",
    "MODIFY": "cancel change modify edit correct alter amend swap remove delete add",
}

# Stems of frequent English words one or two edits from a key term (found by running the matcher over a
# word-frequency list): never "corrected" into it, since "change" is not "charge".
_PROTECTED = frozenset(
    """
anton arent billi billy brill carer carey chang changer chant charl charm chart charter cheat choir clash
commuter computeriz condensation consul contract crush debat debut devil devin devis dispatcher employ employer
expert goody local logan logic lovin model older operation painter paraphras parson pearson persona phony plaid
pointer postal potion produc profit react registrar reich relat replay representation reuter roach roster simeon
sneak sneaker spear speck statu statur statut steak stiff stuff supervision supervisory tract tracy tranc
transition translation transmit trick truck usher free cash debt mode logo chic choi char tack anon devi
""".split()
)

_SLANG = {
    "u": "you",
    "ya": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "wanna": "want to",
    "gotta": "got to",
    "im": "i am",
    "ive": "i have",
    "cant": "can not",
    "cannot": "can not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wont": "will not",
    "arent": "are not",
    "wasnt": "was not",
    "havent": "have not",
    "hasnt": "has not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "aint": "is not",
    "thx": "thanks",
}
_SUFFIXES = {"t": "not", "m": "am", "re": "are", "s": "is", "d": "would", "ll": "will", "ve": "have"}
_JOIN = {
    ("log", "in"): "login",
    ("log", "on"): "logon",
    ("sign", "in"): "signin",
    ("sign", "up"): "signup",
    ("e", "mail"): "email",
    ("pass", "word"): "password",
    ("credit", "card"): "creditcard",
    ("help", "desk"): "helpdesk",
    ("web", "site"): "website",
    ("check", "out"): "checkout",
}
_JOIN_FIRST = frozenset(first for first, _ in _JOIN)
_GLUE_WORDS = frozenset(
    "the my your ur our a an to with for of and in on at i me it this is can get need want help customer".split()
)


def _stem(word: str) -> str:
    """A light suffix stripper: enough to make "charged", "charges" and "charging" one key."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


_CONCEPT_OF: dict[str, str] = {_stem(w): concept for concept, words in _LEXICON.items() for w in words.split()}


def _deletes(word: str, depth: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _distance(a: str, b: str) -> int:
    """Optimal-string-alignment edit distance (a swap of neighbours counts once)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


# Symmetric-delete index: a typo and its key term share a string once a letter or two is dropped.
_FUZZY_INDEX: dict[str, set[str]] = {}
for _key in _CONCEPT_OF:
    if len(_key) >= 4:
        for _variant in _deletes(_key, 2 if len(_key) >= 8 else 1):
            _FUZZY_INDEX.setdefault(_variant, set()).add(_key)


# Four-letter typos that dropped a letter of a five-letter key ("oder", "trak").
_DROPPED: dict[str, str] = {k[:i] + k[i + 1 :]: k for k in _CONCEPT_OF if len(k) == 5 for i in range(1, 5)}


@lru_cache(maxsize=65536)
def _exact(word: str) -> str | None:
    return _CONCEPT_OF.get(_stem(word))


@lru_cache(maxsize=16384)
def _fuzzy(word: str) -> str:
    """The concept an unknown word is a typo or a gluing of, else the word itself."""
    stem = _stem(word)
    if len(stem) == 4 and stem in _DROPPED and stem not in _PROTECTED:
        return _CONCEPT_OF[_DROPPED[stem]]
    if len(stem) < 5 or len(stem) > 24 or stem in _PROTECTED or word in _PROTECTED or not stem.isalpha():
        return word
    limit = 2 if len(stem) >= 9 else 1
    best, best_distance = None, limit + 1
    for variant in _deletes(stem, limit):
        for key in _FUZZY_INDEX.get(variant, ()):
            if key[0] != stem[0] and key[:2] != stem[1::-1]:  # typos rarely hit the first letter
                continue
            d = _distance(stem, key)
            if d < best_distance or (d == best_distance and best is not None and key < best):
                best, best_distance = key, d
    if best is not None and best_distance <= (2 if len(best) >= 8 else 1):
        return _CONCEPT_OF[best]
    if word[-1] == word[-2] and word[-1] not in "lsefo":  # "rebatingg"
        trimmed = _exact(word[:-1]) or _fuzzy(word[:-1])
        if trimmed.isupper():
            return trimmed
    if len(word) >= 7:  # glued words: "theorder", "withpayment", "customersupport"
        for i in range(1, len(word) - 4):
            left, right = word[:i], _CONCEPT_OF.get(_stem(word[i:]))
            if right and (left in _GLUE_WORDS or _stem(left) in _CONCEPT_OF):
                return f"{_CONCEPT_OF.get(_stem(left), left)} {right}"
    return word


# --- tokens -----------------------------------------------------------------------------

# A list marker ("1)", "(2)", "b)") separates requests like a full stop does.
_TOKEN = re.compile(r"(?<![\w#(-])\(?(?:\d{1,2}|[a-z])\)(?!\w)|[^\W\d_]+(?:['’][^\W\d_]+)?|\d+|[.!?;]+(?!\d)|\n+|,")
BOUNDARY = "|"
_NEGATED = {"won": "will", "can": "can", "ain": "is", "shan": "shall"}
_FUZZY_BUDGET = 2000  # unknown words per message worth a typo lookup: bounds the cost of huge inputs


class Token(NamedTuple):
    text: str  # canonical form
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    budget = _FUZZY_BUDGET

    def concept(word: str) -> str:
        nonlocal budget
        found = _exact(word)
        if found is None and len(word) >= 4 and budget > 0:
            budget -= 1
            return _fuzzy(word)
        return found or word

    for m in _TOKEN.finditer(text):
        raw, start, end = m.group().lower(), m.start(), m.end()
        if raw[0] in ".!?;\n" or raw.endswith(")"):
            out.append(Token(BOUNDARY, start, end))
            continue
        if raw == ",":
            out.append(Token(",", start, end))
            continue
        if raw not in _SLANG and "'" not in raw and "’" not in raw and (out[-1].text if out else "") not in _JOIN_FIRST:
            for part in (concept(raw) if len(raw) > 1 else raw).split():
                out.append(Token(part, start, end))
            continue
        words = raw.replace("’", "'").split("'")
        if len(words) == 2:  # "can't" -> "can not", "doesn't" -> "does not", "I'm" -> "I am"
            base, suffix = words[0], words[1]
            if suffix == "t":
                base = _NEGATED.get(base, base.removesuffix("n"))
            words = [base, _SUFFIXES.get(suffix, "")]
        for word in " ".join(_SLANG.get(w, w) for w in words if w).split():
            prev = out[-1] if out else None
            if prev and (prev.text, word) in _JOIN:
                out[-1] = Token(concept(_JOIN[(prev.text, word)]), prev.start, end)
            else:
                for part in (concept(word) if len(word) > 1 else word).split():
                    out.append(Token(part, start, end))
    return out
