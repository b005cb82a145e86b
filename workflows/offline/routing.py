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

from ..routes import Route
from .lexicon import BOUNDARY, Token, tokenize

# --- clauses ----------------------------------------------------------------------------------------

# A clause starts at a sentence end, at a connective, or at ", and"/"and" followed by a new request.
_CONNECTIVES = frozenset(
    "also additionally finally lastly furthermore moreover besides first firstly second secondly"
    " third thirdly next".split()
)
_FILLER = frozenset({",", "and", "but", "then", BOUNDARY})
_STARTERS = frozenset(
    "i we can could would will please what where when how tell give send help my is are do does also let".split()
)


def _clauses(tokens: list[Token]) -> list[tuple[int, int, bool]]:
    """Token index ranges [start, end) of the clauses, each with whether it starts a sentence;
    boundary tokens are left out."""
    spans: list[tuple[int, int, bool]] = []
    start, sentence = 0, True
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if tok.text == BOUNDARY:
            cut, skip = i, 1
        elif tok.text in _CONNECTIVES and i > start and tokens[i - 1].text in _FILLER:
            cut, skip = i - 1, 1
        elif (
            tok.text in {",", "and", "but", "then"}
            and nxt in _STARTERS
            and i > start
            and any(t.text not in _FILLER and t.text not in _CONNECTIVES for t in tokens[start:i])
        ):
            cut, skip = i, 1
        else:
            continue
        if cut > start and any(t.text not in _FILLER for t in tokens[start:cut]):
            spans.append((start, cut, sentence))
            sentence = False
        start = cut + skip
        sentence = sentence or tok.text == BOUNDARY
    if start < len(tokens) and any(t.text not in _FILLER for t in tokens[start:]):
        spans.append((start, len(tokens), sentence))
    return spans


# --- rules ------------------------------------------------------------------------------------------

_G = r"(?:\S+ ){0,%d}"  # a gap of at most N tokens: bounded, so matching stays linear
_NOT_ME = r"(?!(?:me|my|you|the|your|us|our|it|them|this|that|a|an)\b)"
_OBJ = r"(?:ORDER|(?:my|our|your) DELIVERY)"


def _rule(
    route: Route, weight: float, anchors: str, pattern: str
) -> tuple[Route, float, frozenset[str], re.Pattern[str]]:
    return (
        route,
        weight,
        frozenset(anchors.split()),
        re.compile(pattern % {"g1": _G % 1, "g2": _G % 2, "g3": _G % 3, "g4": _G % 4, "g6": _G % 6, "obj": _OBJ}),
    )


# (route, weight, anchor words: the rule runs only when the clause has one of them, pattern)
_RULES = [
    # billing: invoices, charges, payments and their problems
    _rule("billing", 3, "INVOICE", r"\bINVOICE\b(?! ADDRESS)"),
    _rule("billing", 3, "CHARGE", r"(?<!not )(?<!stop )(?<!stopped )(?<!stops )(?<!never )\bCHARGE\b"),
    _rule("billing", 2, "PAY", r"\bPAY\b(?! OPTION)"),
    _rule("billing", 2, "CARD", r"\bCARD\b"),
    _rule(
        "billing",
        3,
        "PAY CARD",
        r"\b(?:PAY|CARD) %(g4)s(?:PROBLEM|ERROR|declined|failed|fails|rejected|not)\b"
        r"|\b(?:PROBLEM|ERROR|declined|fail\w*|not|unable to|trouble) "
        r"%(g4)s(?:PAY|CARD)\b",
    ),
    _rule(
        "billing",
        1,
        "twice double duplicate much higher amount",
        r"\b(?:twice|double|duplicate|too much|higher than|wrong amount)\b",
    ),
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
    _rule(
        "status",
        4,
        "where were",
        r"\b(?:where %(g2)s|were )(?:is|are|s|was) %(g3)s(?:ORDER|DELIVERY)\b"
        r"|\bwhere (?:my|our|the) (?:\S+ )?(?:ORDER|DELIVERY) (?:is|are|went)\b",
    ),
    _rule(
        "status",
        2,
        "ARRIVE",
        r"\bARRIVE\b"
        r"(?! (?:\S+ )?(?:broken|damaged|defective|faulty|cracked|wrong|open|dead)\b)",
    ),
    _rule(
        "status",
        2,
        "ARRIVE",
        r"\b(?:when|long|soon|yet|still|EXPECT|date|time|day|days|not|never|late)\b "
        r"%(g6)sARRIVE\b|\bARRIVE (?:yet|on time|soon|today|tomorrow|by|date|time)\b",
    ),
    _rule("status", 4, "long soon", r"\bhow (?:long|soon) %(g6)s(?:DELIVERY|ORDER|ARRIVE|EXPECT|RECEIVE)\b"),
    _rule(
        "status",
        4,
        "DELIVERY",
        r"\bDELIVERY (?:times?|periods?|dates?|timeframes?|windows?|EXPECT|speed)\b"
        r"|\b(?:times?|dates?|periods?|timeframes?) (?:of|for) "
        r"(?:my |the |our )?DELIVERY\b",
    ),
    _rule("status", 3, "EXPECT", r"\bEXPECT %(g2)s(?:ORDER|DELIVERY)\b|\b%(obj)s %(g3)sEXPECT\b"),
    _rule(
        "status",
        3,
        "not never",
        r"\b(?:not|never) (?:yet )?(?:RECEIVE|got|gotten|get|seen) %(g2)s%(obj)s"
        r"|\b%(obj)s %(g3)s(?:not|never) (?:\S+ )?(?:ARRIVE|DELIVERY|come|came|show)",
    ),
    _rule(
        "status",
        4,
        "way DELIVERY",
        r"\b%(obj)s %(g3)s(?:on (?:its|the|their) way|out for DELIVERY)\b"
        r"|\b(?:says|shows|showing|marked|listed) (?:as )?DELIVERY\b",
    ),
    _rule("status", 2, "not never", r"\b(?:not|never) (?:yet )?(?:RECEIVE|got|gotten)\b"),
    _rule("status", 3, "LOCATE find", r"\b(?:LOCATE|find) %(g2)s%(obj)s"),
    _rule(
        "status",
        3,
        "late delayed lost missing stuck overdue",
        r"\b%(obj)s %(g2)s(?:late|delayed|lost|missing|stuck|overdue)\b"
        r"|\b(?:late|delayed|lost|missing|stuck|overdue) %(obj)s",
    ),
    _rule(
        "status",
        4,
        "update updates progress news",
        r"\b(?:update|updates|progress|news) (?:on|about|for|regarding|of) %(g2)s%(obj)s",
    ),
    _rule(
        "status",
        3,
        "when has have did DELIVERY",
        r"\b(?:when|has|have|did) (?:will |is |does |are )?%(g3)s"
        r"(?:DELIVERY|ARRIVE)\b(?! (?:to|OPTION)\b)",
    ),
    _rule("status", 1, "ORDER", r"\bORDER (?:number |no |id |num )?(?:[a-z]{1,4} )?\d{3,}"),
    # general: accounts, passwords, newsletters, shipping options and addresses, placing orders, reviews
    _rule("general", 5, "OPTION", r"\bDELIVERY OPTION\b|\bOPTION %(g2)sDELIVERY\b"),
    _rule(
        "general",
        4,
        "DELIVERY",
        r"\b(?:do|does|can|could) (?:you|they|it) (?:\S+ )?DELIVERY "
        r"(?:to|in|outside|abroad|internationally|overseas)\b",
    ),
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
    _rule(
        "general",
        3,
        "BUY ORDER",
        r"\b(?:to|can i|could i|i will|would like|let me|i want|help me|how) (?:\S+ )?"
        r"(?:BUY|ORDER)\b(?! (?:\d|STATUS|number|id|no)\b)",
    ),
    _rule("general", 4, "ORDER", r"\b(?:place|make|placing|making|submit) (?:a |an |the |my |new |another )*ORDER\b"),
    _rule("general", 2, "MODIFY update updating", r"\b(?:MODIFY|update|updating) %(g3)sORDER\b"),
    _rule("general", 2, "switch", r"\bswitch\w* (?:to|between|user|ACCOUNT)\b"),
    # human: the customer asks for a person
    _rule("human", 4, "AGENT", r"\bAGENT\b"),
    _rule("human", 2, "TALK", r"\bTALK %(g3)s(?:SOMEONE|AGENT)\b"),
    _rule("human", 3, "SOMEONE", r"\b(?:TALK|want|need|get) %(g3)sSOMEONE\b"),
    _rule(
        "human",
        4,
        "customer SUPPORT",
        r"\bcustomer (?:SUPPORT|team|desk|line|center|centre|SUPPORT)\b"
        r"|\bSUPPORT (?:team|desk|line|center|centre|number|hours|AGENT)\b",
    ),
    _rule("human", 3, "TALK", r"\bTALK %(g2)s(?:you|SUPPORT|customer)\b"),
    _rule(
        "human",
        3,
        "number hours",
        r"\b(?:TALK|SUPPORT|customer|contact|toll|free) number\b"
        r"|\b(?:opening|business|office|working|SUPPORT) hours\b"
        r"|\bwhat (?:hours|time) %(g4)sTALK\b",
    ),
    _rule("human", 3, "who", r"\bwho (?:can|do|should|could) (?:i|we) TALK\b"),
    _rule("human", 4, "live real actual", r"\b(?:live|real|actual) (?:TALK|SOMEONE|AGENT|SUPPORT)\b"),
    # technical: a product, device, app or site that does not work
    _rule("technical", 4, "CRASH", r"\bCRASH\b"),
    _rule(
        "technical",
        4,
        "work works working worked",
        r"\b(?:not|stop|stopped|stops|never|barely) (?:\S+ )?work(?:s|ing|ed)?\b",
    ),
    _rule(
        "technical",
        4,
        "not unable fail fails failed stop stopped keep keeps",
        r"\b(?:not|unable to|fails? to|failed to|stopped|stop|keeps?) (?:\S+ )?(?:turn(?:ing)? on|start\w*|boot\w*|"
        r"load\w*|open\w*|connect\w*|power\w*|sync\w*|pair\w*|install\w*|launch\w*|print\w*|respond\w*|CHARGE|"
        r"restart\w*|disconnect\w*)\b(?! %(g2)s(?:ACCOUNT|PASSWORD|ORDER|INVOICE|NEWSLETTER)\b)",
    ),
    _rule("technical", 4, "ERROR code", r"\bERROR (?:code|message|number|screen|\d+)\b|\b(?:code|ERROR) \d+"),
    _rule("technical", 1.5, "ERROR", r"\bERROR\b"),
    _rule(
        "technical",
        3,
        "DEVICE",
        r"\bDEVICE %(g3)s(?:PROBLEM|ERROR|slow|lag\w*|broken|dead|blank|black|frozen)\b"
        r"|\b(?:PROBLEM|ERROR) (?:with|on|in) %(g2)sDEVICE\b",
    ),
    _rule(
        "technical",
        4,
        "DEVICE",
        r"\b(?:blank|black|blue|frozen) DEVICE\b"
        r"|\bDEVICE (?:is |are |was |went |seems |keeps )?"
        r"(?:down|offline|unreachable|dead|lagging|not responding)\b",
    ),
    _rule("technical", 5, "LOGIN", r"\bLOGIN %(g4)sERROR\b|\bERROR %(g4)sLOGIN\b"),
]

_RULES_BY_ANCHOR: dict[str, list[int]] = {}
for _i, (_route, _weight, _anchors, _pattern) in enumerate(_RULES):
    for _anchor in _anchors:
        _RULES_BY_ANCHOR.setdefault(_anchor, []).append(_i)

# "I don't want a refund": the concept right after a refusal is not asked for.
_REFUSAL = re.compile(
    r"\b(?:not|never|no longer) (?:want|need|wish|asking|looking|interested|transfer|connect|put)"
    r"((?: (?:to|for|a|an|the|my|in|about|any|me|with|through))*) ([A-Z]+)\b"
)

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


def _route_clauses(tokens: list[Token]) -> list[_Clause]:
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
    tokens = tokenize(text or "")
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
