"""Offline entity extraction: the identifiers and short phrases a worker needs, copied from the text.

Every value is taken from the customer's own words (never invented): identifiers without a leading
'#', product names as written, and reasons or concerns as the shortest faithful phrase. All patterns
are bounded (no nested repetition), so huge or hostile input stays linear.
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE
_ID = r"#?\s?([A-Za-z]{0,5}[-_]?\d[\w-]{0,30})"  # INV-7890, A-12345, 5551234, 00108
_ID_LIST = re.compile(r"\s*(?:,|&|\band\b|\bor\b|/)\s*#?\s?([A-Za-z]{0,5}[-_]?\d[\w-]{0,30})")
_NUMBER_WORDS = r"(?:\s*(?:number|no\.?|num|nr|id|ref(?:erence)?|code)\b)?\s*(?:is\s+|was\s+)?[:#]?\s*"

_INVOICE_ID = re.compile(r"\b(INV[-_]?\d[\w-]{0,30})", _FLAGS)
_INVOICE_AFTER_WORD = re.compile(r"\b(?:invoice|bill|receipt)s?" + _NUMBER_WORDS + _ID, _FLAGS)
_ORDER_AFTER_WORD = re.compile(
    r"\b(?:order|purchase|package|parcel|shipment|tracking|delivery)s?" + _NUMBER_WORDS + _ID, _FLAGS
)
_HASH_ID = re.compile(r"(?<![\w#])#\s?([A-Za-z]{0,5}[-_]?\d[\w-]{0,30})")
# Letters-dash-digits, or five digits or more (not a year, not an amount of money).
_LOOSE_ID = re.compile(
    r"(?<![\w#$€£.,-])#?([A-Za-z]{1,5}[-_]\d{2,}[\w-]{0,30}|[A-Za-z]{1,5}\d{3,}[\w-]{0,30}"
    r"|\d{5,}[\w-]{0,30})"
    r"\b(?![.,]\d|\s*(?:dollars|usd|eur|euros?|gbp|pounds|%))",
    re.IGNORECASE,
)


def _clean_id(value: str) -> str:
    return value.strip().strip("-_.")


def _ids(text: str, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    """(position, id) for every id the pattern introduces, and for lists after it: "invoices 1234, 5678"."""
    found: list[tuple[int, str]] = []
    for m in pattern.finditer(text):
        found.append((m.start(1), _clean_id(m.group(1))))
        pos = m.end()
        while (more := _ID_LIST.match(text, pos)) is not None:
            found.append((more.start(1), _clean_id(more.group(1))))
            pos = more.end()
    return [(i, v) for i, v in found if len(v) >= 3 and any(c.isdigit() for c in v)]  # not "order 2 more"


def _in_order(hits: list[tuple[int, str]], exclude: frozenset[str] | set[str] = frozenset()) -> list[str]:
    return list(dict.fromkeys(v for _, v in sorted(hits) if v and v not in exclude))


def find_invoice_numbers(text: str) -> list[str]:
    """Invoice numbers in order of appearance: "#INV-7890" -> "INV-7890", "invoice 12345" -> "12345"."""
    return _in_order(_ids(text, _INVOICE_ID) + _ids(text, _INVOICE_AFTER_WORD))


def find_order_ids(text: str) -> list[str]:
    """Order ids in order of appearance: "order #A-12345" -> "A-12345", "order number 5551234" -> "5551234",
    or a bare "#A-12345" that is not an invoice number."""
    invoices = set(find_invoice_numbers(text))
    hits = [(i, v) for i, v in _ids(text, _HASH_ID) + _ids(text, _ORDER_AFTER_WORD) if not v.upper().startswith("INV")]
    return _in_order(hits, invoices)


def find_references(text: str) -> list[str]:
    """Every identifier-looking token ("it's A-555", "5551234"): for a reply to "what is your order number?"."""
    return list(dict.fromkeys(_clean_id(m.group(1)) for m in _LOOSE_ID.finditer(text)))


# --- product names ----------------------------------------------------------------------------------

_QUOTED = re.compile(r"(?:(?<=[\s(:])|^)['‘\"“]([^'\"‘’“”\n]{2,60}?)['’\"”](?=[\s.,!?;:)]|$)")
_DET = r"(?:(?:the|my|this|these|those|a|an|our|that|both|two|some|his|her)\s+)?"
_WORD = r"[\w'’+-]+"
_NP = rf"({_WORD}(?:\s+{_WORD}){{0,5}})"
_AFTER_VERB = re.compile(
    rf"\b(?:return(?:ing)?|send(?:ing)?\s+back|exchang(?:e|ing)|replac(?:e|ing)"
    rf"|refund(?:s|ed)?\s+(?:for|on)|money\s+back\s+(?:for|on))\s+{_DET}{_NP}",
    _FLAGS,
)
_BEFORE_BOUGHT = re.compile(
    rf"\b(?:the|my|this|these|those|a|an|our)\s+{_NP}\s+(?:that\s+|which\s+)?(?:i|we)\s+"
    r"(?:just\s+|recently\s+)?(?:bought|ordered|purchased|got|received)\b",
    _FLAGS,
)
_AFTER_BOUGHT = re.compile(
    rf"\b(?:bought|ordered|purchased|received)\s+(?:a|an|the|this|these|two|some)\s+{_NP}", _FLAGS
)
# Words that end a product name ("return my headphones because ...").
_STOP = frozenset(
    """because since as that which who i we you it they and but or for to from with so if please
back last yesterday today this week month ago in on at by was were is are has have had due after before when
cause cuz coz i'm i've it's they're thanks thank""".split()
)
_GENERIC = frozenset(
    """it them one ones item items product products order orders purchase purchases package parcel
thing things stuff money refund invoice bill something everything all""".split()
)
_LEAD = frozenset("the my this these those a an our that both two some his her".split())


def _noun_phrase(words: str) -> str | None:
    kept: list[str] = []
    for word in words.split():
        bare = word.strip(".,!?;:'\"’").lower()
        if bare in _STOP or not bare:
            break
        kept.append(word.strip('.,!?;:"“”'))
        if word[-1:] in ".,!?;:":
            break
    while kept and kept[0].lower() in _LEAD:
        kept.pop(0)
    if not kept or all(w.lower() in _GENERIC or w.isdigit() for w in kept):  # "order 12345", not "SuperWidget 5000"
        return None
    return " ".join(kept[:4])


def find_product_name(text: str) -> str | None:
    """The product the customer talks about: a quoted name, the object of "return"/"send back", or
    "the blue kettle I bought"."""
    m = _QUOTED.search(text)
    if m and any(c.isalpha() for c in m.group(1)):
        return m.group(1).strip()
    for pattern in (_AFTER_VERB, _BEFORE_BOUGHT, _AFTER_BOUGHT):
        for m in pattern.finditer(text):
            name = _noun_phrase(m.group(1))
            if name:
                return name
    return None


# --- reasons, concerns, issues ----------------------------------------------------------------------

# Where a reason ends when no punctuation does: the next request starts (cut after matching, so the
# patterns stay greedy and linear).
_NEXT_REQUEST = re.compile(
    r"\s+(?:also|finally|additionally|and\s+also|and\s+can|and\s+could|and\s+please|"
    r"can\s+you|could\s+you)\b",
    re.IGNORECASE,
)
_CAUSE = re.compile(
    r"\b(?:because(?:\s+of)?|since|cause|cuz|coz|due\s+to|the\s+reason\s+is(?:\s+that)?"
    r"|as\s+(?=it|they|the|this|these|my|i\b))\s*,?\s*([^.!?;\n]{2,200})",
    _FLAGS,
)
_REASON_CUE = re.compile(
    r"\b(?:(?:it|they|the\s+\w+)\s+(?:arrived|came|is|are|was|were|has|have|stopped|keeps?|broke|leaks?|"
    r"does\s+not|doesn't|don't|do\s+not|won't|will\s+not)\b[^.!?;\n]{0,120}"
    + r"|broken|damaged|defective|faulty|cracked|leak(?:s|ing)?|too\s+(?:small|big|large|tight|loose|short|long)"
    r"|wrong\s+(?:size|colou?r|item|model|product)|(?:doesn't|does\s+not|don't|do\s+not)\s+fit"
    r"|not\s+as\s+described|changed\s+my\s+mind|no\s+longer\s+(?:need|want)\w*|stopped\s+working"
    r"|(?:doesn't|does\s+not|don't|do\s+not)\s+work|not\s+(?:working|compatible)[^.!?;,\n]{0,80})",
    _FLAGS,
)
_RETURN_VERB = re.compile(r"\b(?:return|send\w*\s+(?:\w+\s+)?back|exchang|refund|money\s+back)", _FLAGS)
_SUBJECT = re.compile(
    r"^(?:(?:it|they|this|that|these|those|he|she)(?:['’]s|['’]re|\s+(?:is|are|was|were))?"
    r"|(?:the|this|my)\s+\w+\s+(?:is|are|was|were))\s+",
    _FLAGS,
)
_FILLER = re.compile(
    r"^(?:(?:well|um+|uh+|oh|so|hi|hello|hey|yes|yeah|yep|sure|ok(?:ay)?|sorry|basically|also|"
    r"and|plus|"
    r"finally|lastly|additionally)\b[\s,.!-]*)+",
    _FLAGS,
)
_ANSWER_LEAD = re.compile(
    r"^(?:(?:it['’]?s\s+|that['’]?s\s+)?because(?:\s+of)?|the\s+reason\s+is(?:\s+that)?|"
    r"reason\s*:)\s*",
    _FLAGS,
)


_TRAILING_JOIN = re.compile(r"(?:[\s,]+(?:and|but|or|then|also))+$", re.IGNORECASE)  # "broken, and" (next request cut)


def _tidy(phrase: str, limit: int = 200) -> str:
    phrase = _TRAILING_JOIN.sub("", " ".join(phrase.split())).strip(" ,.;:!?-\"'")
    return phrase[:limit].rstrip()


def find_return_reason(text: str) -> str | None:
    """Why the customer returns the product: "because it's not compatible with my system" ->
    "not compatible with my system", "it arrived broken" -> "arrived broken"."""
    verb = _RETURN_VERB.search(text)  # the reason follows the request: skip an earlier "because ..."
    start = verb.start() if verb else 0
    m = _CAUSE.search(text, start) or (_CAUSE.search(text) if start else None)
    if m is None:
        m = _REASON_CUE.search(text, start) or _REASON_CUE.search(text)
        if m is None:
            return None
        phrase = m.group(0)
    else:
        phrase = m.group(1)
    phrase = _SUBJECT.sub("", _tidy(_NEXT_REQUEST.split(phrase, maxsplit=1)[0]))
    return _tidy(phrase) or None


def reason_from_answer(text: str) -> str | None:
    """A reply to "why are you returning it?" taken as the reason: "they stopped charging" stays as is;
    a leading "well," or "because" goes."""
    phrase = _ANSWER_LEAD.sub("", _FILLER.sub("", _tidy(text, 400)))
    return _tidy(phrase) or None


_CONCERN_TEMPLATES = [
    re.compile(
        r"\b(?:charged|billed)\s+(?:me\s+)?"
        r"(?:twice|two\s+times|three\s+times|double|more\s+than\s+once)",
        _FLAGS,
    ),
    re.compile(r"\b(?:double|duplicate)[-\s](?:charged|billed|charges?|payments?|billing)", _FLAGS),
    re.compile(r"\bover[-\s]?(?:charged|billed)\b(?:\s+(?:by|for)\s+[^.!?;,\n]{1,40})?", _FLAGS),
    re.compile(
        r"\b(?:(?:invoice|bill|amount|total|charge|price|fee)\s+)?(?:seems?|looks?|is|was|appears?)\s+(?:(?:a\s+lot|much|way|a\s+bit|quite|far|slightly)\s+)?"
        r"(?:higher|more|larger|bigger|lower|less|wrong|incorrect|off|too\s+high|too\s+much|excessive)"
        r"(?:\s+than\s+(?:i\s+|what\s+i\s+)?(?:expected|usual|normal|agreed|quoted|last\s+(?:month|time)))?",
        _FLAGS,
    ),
    re.compile(r"\b(?:don't|do\s+not|didn't|did\s+not)\s+recogni[sz]e\b[^.!?;\n]{0,60}", _FLAGS),
    re.compile(r"\bunauthori[sz]ed\s+(?:charges?|payments?|transactions?)", _FLAGS),
    re.compile(r"\b(?:wrong|incorrect)\s+(?:amount|charges?|price|total|tax|vat)\b", _FLAGS),
    re.compile(
        r"\b(?:payment|card)\b[^.!?;\n]{0,40}\b(?:failed|declined|rejected|did\s+not\s+go\s+through|"
        r"didn't\s+go\s+through)",
        _FLAGS,
    ),
    re.compile(r"\b(?:a\s+)?copy\s+of\s+(?:my\s+|the\s+)?(?:invoice|bill|receipt)\b", _FLAGS),
    re.compile(r"\b(?:charged|billed)\b[^.!?;\n]{0,60}", _FLAGS),
]


def find_billing_concern(text: str) -> str | None:
    """What the customer finds wrong with a bill: "It seems higher than I expected." -> "seems higher
    than expected", "I was charged twice" -> "charged twice"."""
    for pattern in _CONCERN_TEMPLATES:
        m = pattern.search(text)
        if m:
            phrase = re.sub(r"\bthan\s+(?:what\s+)?i\s+expected\b", "than expected", m.group(0), flags=_FLAGS)
            return _tidy(phrase) or None
    return None


_TECH_CUE = re.compile(
    r"crash|freez|froze|glitch|\bbug|malfunction|flicker|overheat|error|not\s+(?:work|load|turn|start|open|connect|"
    r"charg|respond|boot|print|sync|pair)|(?:won't|doesn't|can't|cannot|stopped|stops|keeps?)\s+\w+|blank|black\s+screen",
    _FLAGS,
)
_SENTENCE = re.compile(r"[^.!?;\n]+")


def find_technical_issue(text: str) -> str | None:
    """The sentence that says what does not work ("My app crashes when I open it" -> "app crashes when I open it")."""
    for m in _SENTENCE.finditer(text):
        if _TECH_CUE.search(m.group(0)):
            sentence = _FILLER.sub("", _tidy(m.group(0)))
            sentence = re.sub(
                r"^(?:(?:please|pls)\s+help(?:\s+me)?[,:]?\s*|i\s+think\s+|my\s+)", "", sentence, flags=_FLAGS
            )
            return _tidy(sentence) or None
    return None
