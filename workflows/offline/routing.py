"""Offline routing: which routes a customer message asks for, and where each request sits in the text.

Hand-written rules over a canonical token stream. Each word is lower-cased, lightly stemmed and, when
it is a key term (or a likely typo of one), replaced by an upper-case concept such as ORDER or REFUND,
so that a rule like "where is my ORDER" also covers "where's my parcel" and "were is my pakage". The
text is cut into clauses at sentence ends and at connectives that start a new request ("also",
"finally", ", and can you …"); each clause is scored per route with weighted patterns, and clauses
without any cue join their neighbour, so "It seems higher than I expected." stays with its invoice.
Everything is linear in the text: bounded gaps in the patterns, cached per-word work, and patterns only
run on clauses that contain their anchor words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from ..types import Route

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
    "DEVICE": ("app application website site device software program laptop computer tablet printer router "
               "modem console speaker headphone earbud earphone charger tv television camera screen touchscreen firmware "
               "keyboard battery monitor display wifi bluetooth"),
    "LOCATE": "locate",
    "EXPECT": "expect estimate",
    "MODIFY": "cancel change modify edit correct alter amend swap remove delete add",
}

# Stems of frequent English words one or two edits from a key term (found by running the matcher over a
# word-frequency list): never "corrected" into it, since "change" is not "charge".
_PROTECTED = frozenset("""
anton arent billi billy brill carer carey chang changer chant charl charm chart charter cheat choir clash
commuter computeriz condensation consul contract crush debat debut devil devin devis dispatcher employ employer
expert goody local logan logic lovin model older operation painter paraphras parson pearson persona phony plaid
pointer postal potion produc profit react registrar reich relat replay representation reuter roach roster simeon
sneak sneaker spear speck statu statur statut steak stiff stuff supervision supervisory tract tracy tranc
transition translation transmit trick truck usher free cash debt mode logo chic choi char tack anon devi
""".split())

_SLANG = {"u": "you", "ya": "you", "ur": "your", "pls": "please", "plz": "please", "wanna": "want to",
          "gotta": "got to", "im": "i am", "ive": "i have", "cant": "can not", "cannot": "can not",
          "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not", "wont": "will not",
          "arent": "are not", "wasnt": "was not", "havent": "have not", "hasnt": "has not",
          "couldnt": "could not", "wouldnt": "would not", "aint": "is not", "thx": "thanks"}
_SUFFIXES = {"t": "not", "m": "am", "re": "are", "s": "is", "d": "would", "ll": "will", "ve": "have"}
_JOIN = {("log", "in"): "login", ("log", "on"): "logon", ("sign", "in"): "signin", ("sign", "up"): "signup",
         ("e", "mail"): "email", ("pass", "word"): "password", ("credit", "card"): "creditcard",
         ("help", "desk"): "helpdesk", ("web", "site"): "website", ("check", "out"): "checkout"}
_JOIN_FIRST = frozenset(first for first, _ in _JOIN)
_GLUE_WORDS = frozenset("the my your ur our a an to with for of and in on at i me it this is can get need want help"
                        " customer".split())


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
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _distance(a: str, b: str) -> int:
    """Optimal-string-alignment edit distance (a swap of neighbours counts once)."""
    prev2, prev = [], list(range(len(b) + 1))
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
_DROPPED: dict[str, str] = {k[:i] + k[i + 1:]: k for k in _CONCEPT_OF if len(k) == 5 for i in range(1, 5)}


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


# --- tokens and clauses -----------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+|[.!?;]+(?!\d)|\n+|,")
_BOUNDARY = "|"
_NEGATED = {"won": "will", "can": "can", "ain": "is", "shan": "shall"}
_FUZZY_BUDGET = 2000  # unknown words per message worth a typo lookup: bounds the cost of huge inputs


class _Token(NamedTuple):
    text: str  # canonical form
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
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
        if raw[0] in ".!?;\n":
            out.append(_Token(_BOUNDARY, start, end))
            continue
        if raw == ",":
            out.append(_Token(",", start, end))
            continue
        if raw not in _SLANG and "'" not in raw and "’" not in raw and (out[-1].text if out else "") not in _JOIN_FIRST:
            for part in (concept(raw) if len(raw) > 1 else raw).split():
                out.append(_Token(part, start, end))
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
                out[-1] = _Token(concept(_JOIN[(prev.text, word)]), prev.start, end)
            else:
                for part in (concept(word) if len(word) > 1 else word).split():
                    out.append(_Token(part, start, end))
    return out


# A clause starts at a sentence end, at a connective, or at ", and"/"and" followed by a new request.
_CONNECTIVES = frozenset("also additionally finally lastly furthermore moreover besides first firstly second secondly"
                         " third thirdly next".split())
_FILLER = frozenset({",", "and", "but", "then", _BOUNDARY})
_STARTERS = frozenset("i we can could would will please what where when how tell give send help my is are do does"
                      " also let".split())


def _clauses(tokens: list[_Token]) -> list[tuple[int, int, bool]]:
    """Token index ranges [start, end) of the clauses, each with whether it starts a sentence;
    boundary tokens are left out."""
    spans: list[tuple[int, int, bool]] = []
    start, sentence = 0, True
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if tok.text == _BOUNDARY:
            cut, skip = i, 1
        elif tok.text in _CONNECTIVES and i > start and tokens[i - 1].text in _FILLER:
            cut, skip = i - 1, 1
        elif tok.text in {",", "and", "but", "then"} and nxt in _STARTERS and i > start and any(
                t.text not in _FILLER and t.text not in _CONNECTIVES for t in tokens[start:i]):
            cut, skip = i, 1
        else:
            continue
        if cut > start and any(t.text not in _FILLER for t in tokens[start:cut]):
            spans.append((start, cut, sentence))
            sentence = False
        start = cut + skip
        sentence = sentence or tok.text == _BOUNDARY
    if start < len(tokens) and any(t.text not in _FILLER for t in tokens[start:]):
        spans.append((start, len(tokens), sentence))
    return spans


# --- rules ------------------------------------------------------------------------------------------

_G = r"(?:\S+ ){0,%d}"  # a gap of at most N tokens: bounded, so matching stays linear
_NOT_ME = r"(?!(?:me|my|you|the|your|us|our|it|them|this|that|a|an)\b)"
_OBJ = r"(?:ORDER|(?:my|our|your) DELIVERY)"


def _rule(route: Route, weight: float, anchors: str, pattern: str) -> tuple[Route, float, frozenset[str], re.Pattern[str]]:
    return route, weight, frozenset(anchors.split()), re.compile(pattern % {"g1": _G % 1, "g2": _G % 2,
                                                                         "g3": _G % 3, "g4": _G % 4,
                                                                         "g6": _G % 6, "obj": _OBJ})


# (route, weight, anchor words: the rule runs only when the clause has one of them, pattern)
_RULES = [
    # billing: invoices, charges, payments and their problems
    _rule("billing", 3, "INVOICE", r"\bINVOICE\b(?! ADDRESS)"),
    _rule("billing", 3, "CHARGE", r"(?<!not )(?<!stop )(?<!stopped )(?<!stops )(?<!never )\bCHARGE\b"),
    _rule("billing", 2, "PAY", r"\bPAY\b(?! OPTION)"),
    _rule("billing", 2, "CARD", r"\bCARD\b"),
    _rule("billing", 3, "PAY CARD", r"\b(?:PAY|CARD) %(g4)s(?:PROBLEM|ERROR|declined|failed|fails|rejected|not)\b"
                                    r"|\b(?:PROBLEM|ERROR|declined|fail\w*|not|unable to|trouble) %(g4)s(?:PAY|CARD)\b"),
    _rule("billing", 1, "twice double duplicate much higher amount",
          r"\b(?:twice|double|duplicate|too much|higher than|wrong amount)\b"),
    # return: give a product back, get money back for it
    _rule("return", 4, "RETURN", r"\bRETURN\b(?! (?:call|policy|policies)\b)"),
    _rule("return", 2.5, "REFUND", r"\bREFUND\b"),
    _rule("return", 3, "back money", r"\bmoney back\b|\bsend %(g3)sback\b|\bget (?:my )?money\b"),
    _rule("return", 2, "EXCHANGE", r"\bEXCHANGE\b"),
    _rule("return", 1, "broken damaged defective faulty fit", r"\b(?:broken|damaged|defective|faulty|not fit)\b"),
    # status: where an order is and when it arrives
    _rule("status", 4, "TRACK", r"\bTRACK\b"),
    _rule("status", 2, "STATUS", r"\bSTATUS\b"),
    _rule("status", 2, "STATUS", r"\bSTATUS %(g3)s(?:ORDER|DELIVERY)\b|\b(?:ORDER|DELIVERY) %(g3)sSTATUS\b"),
    _rule("status", 4, "where were", r"\b(?:where %(g2)s|were )(?:is|are|s|was) %(g3)s(?:ORDER|DELIVERY)\b"
                                r"|\bwhere (?:my|our|the) (?:\S+ )?(?:ORDER|DELIVERY) (?:is|are|went)\b"),
    _rule("status", 2, "ARRIVE", r"\bARRIVE\b(?! (?:\S+ )?(?:broken|damaged|defective|faulty|cracked|wrong|open|dead)\b)"),
    _rule("status", 2, "ARRIVE", r"\b(?:when|long|soon|yet|still|EXPECT|date|time|day|days|not|never|late)\b "
                                 r"%(g6)sARRIVE\b|\bARRIVE (?:yet|on time|soon|today|tomorrow|by|date|time)\b"),
    _rule("status", 4, "long soon", r"\bhow (?:long|soon) %(g6)s(?:DELIVERY|ORDER|ARRIVE|EXPECT|RECEIVE)\b"),
    _rule("status", 4, "DELIVERY", r"\bDELIVERY (?:times?|periods?|dates?|timeframes?|windows?|EXPECT|speed)\b"
                                   r"|\b(?:times?|dates?|periods?|timeframes?) (?:of|for) (?:my |the |our )?DELIVERY\b"),
    _rule("status", 3, "EXPECT", r"\bEXPECT %(g2)s(?:ORDER|DELIVERY)\b|\b%(obj)s %(g3)sEXPECT\b"),
    _rule("status", 3, "not never", r"\b(?:not|never) (?:yet )?(?:RECEIVE|got|gotten|get|seen) %(g2)s%(obj)s"
                                    r"|\b%(obj)s %(g3)s(?:not|never) (?:\S+ )?(?:ARRIVE|DELIVERY|come|came|show)"),
    _rule("status", 4, "way DELIVERY", r"\b%(obj)s %(g3)s(?:on (?:its|the|their) way|out for DELIVERY)\b"
                                       r"|\b(?:says|shows|showing|marked|listed) (?:as )?DELIVERY\b"),
    _rule("status", 2, "not never", r"\b(?:not|never) (?:yet )?(?:RECEIVE|got|gotten)\b"),
    _rule("status", 3, "LOCATE find", r"\b(?:LOCATE|find) %(g2)s%(obj)s"),
    _rule("status", 3, "late delayed lost missing stuck overdue",
          r"\b%(obj)s %(g2)s(?:late|delayed|lost|missing|stuck|overdue)\b"
          r"|\b(?:late|delayed|lost|missing|stuck|overdue) %(obj)s"),
    _rule("status", 4, "update updates progress news", r"\b(?:update|updates|progress|news) (?:on|about|for|regarding|of) "
                                                       r"%(g2)s%(obj)s"),
    _rule("status", 3, "when has have did DELIVERY", r"\b(?:when|has|have|did) (?:will |is |does |are )?%(g3)s"
                                                     r"(?:DELIVERY|ARRIVE)\b(?! (?:to|OPTION)\b)"),
    _rule("status", 1, "ORDER", r"\bORDER (?:number |no |id |num )?(?:[a-z]{1,4} )?\d{3,}"),
    # general: accounts, passwords, newsletters, shipping options and addresses, placing orders, reviews
    _rule("general", 5, "OPTION", r"\bDELIVERY OPTION\b|\bOPTION %(g2)sDELIVERY\b"),
    _rule("general", 4, "DELIVERY", r"\b(?:do|does|can|could) (?:you|they|it) (?:\S+ )?DELIVERY "
                                    r"(?:to|in|outside|abroad|internationally|overseas)\b"),
    _rule("general", 3, "DELIVERY", r"\bDELIVERY (?:to|in) " + _NOT_ME + r"[^\W\d]"),
    _rule("general", 4, "ADDRESS", r"\bADDRESS\b"),
    _rule("general", 3, "ACCOUNT", r"\bACCOUNT\b"),
    _rule("general", 4, "PASSWORD", r"\bPASSWORD\b"),
    _rule("general", 3, "LOGIN", r"\bLOGIN\b"),
    _rule("general", 4, "SIGNUP", r"\bSIGNUP\b"),
    _rule("general", 5, "NEWSLETTER", r"\bNEWSLETTER\b"),
    _rule("general", 2, "SUBSCRIBE", r"\bSUBSCRIBE\b"),
    _rule("general", 3, "REVIEW", r"\bREVIEW\b"),
    _rule("general", 2, "REVIEW", r"\b(?:leave|write|give|submit|send|post|make) %(g3)sREVIEW\b"),
    _rule("general", 3, "BUY ORDER", r"\b(?:to|can i|could i|i will|would like|let me|i want|help me|how) (?:\S+ )?"
                                     r"(?:BUY|ORDER)\b(?! (?:\d|STATUS|number|id|no)\b)"),
    _rule("general", 4, "ORDER", r"\b(?:place|make|placing|making|submit) (?:a |an |the |my |new |another )*ORDER\b"),
    _rule("general", 2, "MODIFY update updating", r"\b(?:MODIFY|update|updating) %(g3)sORDER\b"),
    _rule("general", 2, "switch", r"\bswitch\w* (?:to|between|user|ACCOUNT)\b"),
    # human: the customer asks for a person
    _rule("human", 4, "AGENT", r"\bAGENT\b"),
    _rule("human", 2, "TALK", r"\bTALK %(g3)s(?:SOMEONE|AGENT)\b"),
    _rule("human", 3, "SOMEONE", r"\b(?:TALK|want|need|get) %(g3)sSOMEONE\b"),
    _rule("human", 4, "customer SUPPORT", r"\bcustomer (?:SUPPORT|team|desk|line|center|centre|SUPPORT)\b"
                                          r"|\bSUPPORT (?:team|desk|line|center|centre|number|hours|AGENT)\b"),
    _rule("human", 3, "TALK", r"\bTALK %(g2)s(?:you|SUPPORT|customer)\b"),
    _rule("human", 3, "number hours", r"\b(?:TALK|SUPPORT|customer|contact|toll|free) number\b"
                                      r"|\b(?:opening|business|office|working|SUPPORT) hours\b"
                                      r"|\bwhat (?:hours|time) %(g4)sTALK\b"),
    _rule("human", 3, "who", r"\bwho (?:can|do|should|could) (?:i|we) TALK\b"),
    _rule("human", 4, "live real actual", r"\b(?:live|real|actual) (?:TALK|SOMEONE|AGENT|SUPPORT)\b"),
    # technical: a product, device, app or site that does not work
    _rule("technical", 4, "CRASH", r"\bCRASH\b"),
    _rule("technical", 4, "work works working worked",
          r"\b(?:not|stop|stopped|stops|never|barely) (?:\S+ )?work(?:s|ing|ed)?\b"),
    _rule("technical", 4, "not unable fail fails failed stop stopped keep keeps",
          r"\b(?:not|unable to|fails? to|failed to|stopped|stop|keeps?) (?:\S+ )?(?:turn(?:ing)? on|start\w*|boot\w*|"
          r"load\w*|open\w*|connect\w*|power\w*|sync\w*|pair\w*|install\w*|launch\w*|print\w*|respond\w*|CHARGE|"
          r"restart\w*|disconnect\w*)\b(?! %(g2)s(?:ACCOUNT|PASSWORD|ORDER|INVOICE|NEWSLETTER)\b)"),
    _rule("technical", 4, "ERROR code", r"\bERROR (?:code|message|number|screen|\d+)\b|\b(?:code|ERROR) \d+"),
    _rule("technical", 1.5, "ERROR", r"\bERROR\b"),
    _rule("technical", 3, "DEVICE", r"\bDEVICE %(g3)s(?:PROBLEM|ERROR|slow|lag\w*|broken|dead|blank|black|frozen)\b"
                                    r"|\b(?:PROBLEM|ERROR) (?:with|on|in) %(g2)sDEVICE\b"),
    _rule("technical", 4, "DEVICE", r"\b(?:blank|black|blue|frozen) DEVICE\b|\bDEVICE (?:is |are |was |went |seems |keeps )?"
                                    r"(?:down|offline|unreachable|dead|lagging|not responding)\b"),
    _rule("technical", 5, "LOGIN", r"\bLOGIN %(g4)sERROR\b|\bERROR %(g4)sLOGIN\b"),
]

_RULES_BY_ANCHOR: dict[str, list[int]] = {}
for _i, (_, _, _anchors, _) in enumerate(_RULES):
    for _anchor in _anchors:
        _RULES_BY_ANCHOR.setdefault(_anchor, []).append(_i)

# "I don't want a refund": the concept right after a refusal is not asked for.
_REFUSAL = re.compile(r"\b(?:not|never|no longer) (?:want|need|wish|asking|looking|interested|transfer|connect|put)"
                      r"((?: (?:to|for|a|an|the|my|in|about|any|me|with|through))*) ([A-Z]+)\b")

_MIN_SCORE = 1.0
_STRONG = 2.5  # a clause scoring less only hints at a route



# --- scoring and segments ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """One request of a message: its route, its span of the original text, and how strongly its words
    point at the route (0 when nothing did and the route is the `general` fallback)."""

    route: Route
    text: str
    start: int = 0
    end: int = 0
    score: float = 0.0


@dataclass
class _Clause:
    start: int  # token indexes
    end: int
    route: Route | None
    score: float
    sentence: bool  # starts a sentence
    opens: bool  # starts with a connective ("also", "finally"): explicitly a new request

    def joined(self, other: _Clause, route: Route | None) -> _Clause:
        return _Clause(self.start, other.end, route, max(self.score, other.score), self.sentence, self.opens)


def _score(canon: str, words: set[str]) -> tuple[Route | None, float]:
    canon = _REFUSAL.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + "x", canon)
    scores: dict[Route, float] = {}
    first: dict[Route, int] = {}
    for i in sorted({i for w in words for i in _RULES_BY_ANCHOR.get(w, ())}):
        route, weight, _, pattern = _RULES[i]
        m = pattern.search(canon)
        if m:
            scores[route] = scores.get(route, 0.0) + weight
            first[route] = min(first.get(route, m.start()), m.start())
    if not scores:
        return None, 0.0
    if scores.get("return", 0.0) >= _STRONG:  # "send back the lamp, it flickers": the malfunction is why
        scores.pop("technical", None)
    best = max(scores, key=lambda r: (scores[r], -first[r]))
    return (best, scores[best]) if scores[best] >= _MIN_SCORE else (None, 0.0)


def _route_clauses(tokens: list[_Token]) -> list[_Clause]:
    out = []
    for a, b, sentence in _clauses(tokens):
        words = [t.text for t in tokens[a:b]]
        lead = [w for w in words[:2] if w not in _FILLER]
        route, score = _score(" ".join(words), set(words))
        out.append(_Clause(a, b, route, score, sentence, bool(lead) and lead[0] in _CONNECTIVES))
    return out


def _group(clauses: list[_Clause]) -> list[_Clause]:
    """Clauses become requests. A clause without a cue joins its neighbour; within a sentence a weak
    cue ("I paid $160 for this order, I want a refund") is context for the strong one next to it; a
    malfunction told next to a return is the reason for it."""
    groups: list[_Clause] = []
    for c in clauses:
        last = groups[-1] if groups else None
        if last is None:
            groups.append(c)
        elif c.route is None:
            groups[-1] = last.joined(c, last.route)
        elif c.opens:
            groups.append(c)
        elif last.route is None or c.route == last.route:
            groups[-1] = last.joined(c, c.route)
        elif not c.sentence and (c.score < _STRONG) != (last.score < _STRONG):
            groups[-1] = last.joined(c, c.route if last.score < _STRONG else last.route)
        elif {c.route, last.route} == {"technical", "return"}:
            groups[-1] = last.joined(c, "return")
        else:
            groups.append(c)
    return groups


def segments(text: str) -> list[Segment]:
    """The message split into requests, in order. A message with no recognised request is one
    `general` segment; one without any word gives none."""
    tokens = _tokens(text or "")
    groups = _group(_route_clauses(tokens))
    out = []
    for g in groups:
        start, end = tokens[g.start].start, tokens[g.end - 1].end
        out.append(Segment(g.route or "general", text[start:end], start, end, g.score))
    return out


def classify(text: str) -> list[Route]:
    """Every route the message asks for, ordered by first appearance; never empty."""
    routes = list(dict.fromkeys(s.route for s in segments(text)))
    return routes or ["general"]
