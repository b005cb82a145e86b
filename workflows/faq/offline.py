"""The offline FAQ engine: an extractive FAQ built from the pages' own headings and sentences.

Questions come from question headings ("How can I cancel?"), from definitional sentences ("A bundle
is a collection of subscriptions." → "What is a bundle?") and from the other headings, in that order
within a page, the pages taking turns. Each answer is made of the page's own sentences and cites the sentence it starts
with, on the page it came from. Deterministic: the same pages give the same FAQ. Each method stands
in for one model step when there is no model or the model failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from .grounding import MIN_QUOTE_WORDS, normalise
from .pages import Page, Section
from .schemas import Citation, DraftAnswer, GroundedAnswer, QuestionList, SourceList

ANSWER_CHARS = 160  # an offline answer gathers sentences of its section up to about this length
MAX_ANSWER_SENTENCES = 3
_STOPWORDS = frozenset(
    """a about above after all also an and any are as at be been before being but by can
could did do does doing for from had has have how i if in into is it its just me more most my no not of on
once only or other our out own same should so some such than that the their them then there these they
this those through to too under until up very was we were what when where which while who whom why will
with would you your yours""".split()
)
_PRONOUNS = frozenset(
    "it this that there here what which who these those they he she we you i one "
    "everything nothing something each all both either neither".split()
)
_GENERIC_HEADINGS = frozenset(
    {
        "introduction",
        "overview",
        "summary",
        "conclusion",
        "contents",
        "table of contents",
        "requirements",
        "prerequisites",
        "defaults",
        "next steps",
        "see also",
        "references",
        "notes",
        "examples",
        "example",
        "resources",
        "more information",
        "related",
        "tutorial",
        "background",
        "details",
        "faq",
        "faqs",
    }
)
_STEP = re.compile(r"^(step|part|chapter|section)\s+\d+", re.I)
_DEFINITION = re.compile(
    r"^(?:(?P<article>A|An|The)\s+)?(?P<term>[\w][\w\-/()' ]{0,50}?)\s+(?P<verb>is|are)\s+"
    r"(?:a|an|the|one|our|used|how|what|when|where)\b"
)


@dataclass(frozen=True)
class OfflineQA:
    question: str
    answer: str
    url: str
    quote: str


def words(text: str) -> set[str]:
    """Content words, crudely singularised so "invoices" meets "invoice"."""
    out = set()
    for word in normalise(text).split():
        if word in _STOPWORDS:
            continue
        out.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return out


def _compose(sentences: tuple[str, ...] | list[str]) -> tuple[str, str]:
    """(answer, quote) from the first sentences of a run: enough for a short answer; the quote is
    the first sentence long enough to be verified."""
    taken: list[str] = []
    for sentence in sentences:
        taken.append(sentence)
        # a sentence ending in ':' introduces a list: keep (most of) the list with it
        listing = any(s.endswith(":") for s in taken[:-1])
        limit_chars, limit_count = (3 * ANSWER_CHARS, 8) if listing else (ANSWER_CHARS, MAX_ANSWER_SENTENCES)
        if len(" ".join(taken)) >= limit_chars or len(taken) >= limit_count:
            break
    pieces = [s if s[-1:] in ".!?:;" else s + (";" if i + 1 < len(taken) else ".") for i, s in enumerate(taken)]
    quote = next((s for s in taken if len(normalise(s).split()) > MIN_QUOTE_WORDS), taken[0] if taken else "")
    return " ".join(pieces), quote


def _definition_question(sentence: str) -> str | None:
    match = _DEFINITION.match(sentence)
    if not match:
        return None
    term = match.group("term").strip()
    if term.split()[0].lower() in _PRONOUNS or len(term.split()) > 5:
        return None
    article = match.group("article")
    if not article and not term[0].isupper():
        return None
    subject = f"{article.lower()} {term}" if article else term
    return f"What {match.group('verb')} {subject}?"


def _heading_question(heading: str) -> str | None:
    """ "Customer features" → "What should I know about customer features?"; None for headings that
    mean nothing out of their page ("Introduction", "Step 3: …")."""
    if normalise(heading) in _GENERIC_HEADINGS or _STEP.match(heading):
        return None
    words = heading.split()
    sentence_case = all(not w[:1].isupper() for w in words[1:]) and words[0][1:].islower()
    subject = heading[0].lower() + heading[1:] if sentence_case else heading
    return f"What should I know about {subject}?"


class OfflineFaq:
    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages
        self._tiers: list[list[list[OfflineQA]]] = [[], [], []]  # tier → page → candidates
        for page in pages:
            tiers: list[list[OfflineQA]] = [[], [], []]
            for section in page.sections:
                self._candidates(page, section, tiers)
            for tier, candidates in zip(self._tiers, tiers, strict=True):
                tier.append(candidates)
        self._by_question: dict[str, OfflineQA] = {}
        for qa in self._ordered():
            self._by_question.setdefault(normalise(qa.question), qa)

    @staticmethod
    def _candidates(page: Page, section: Section, tiers: list[list[OfflineQA]]) -> None:
        sentences = section.sentences
        if section.heading and sentences:
            answer, quote = _compose(sentences)
            if section.heading.endswith("?") and not _STEP.match(section.heading):
                tiers[0].append(OfflineQA(section.heading, answer, page.url, quote))
            elif section.heading != page.title and len(normalise(quote).split()) > MIN_QUOTE_WORDS:
                question = _heading_question(section.heading)
                if question:
                    tiers[2].append(OfflineQA(question, answer, page.url, quote))
        for i, sentence in enumerate(sentences):
            question = _definition_question(sentence)
            if question:
                answer, _ = _compose(sentences[i : i + 2] if len(sentence) < 60 else [sentence])
                tiers[1].append(OfflineQA(question, answer, page.url, sentence))

    def _ordered(self) -> list[OfflineQA]:
        """Pages take turns (every linked page is covered before one page fills the FAQ), each offering
        its question headings first, then its definitions, then its other headings."""
        per_page = [q + d + h for q, d, h in zip(*self._tiers, strict=True)]
        return [qa for row in zip_longest(*per_page) for qa in row if qa is not None]

    def faq(self, n: int) -> list[OfflineQA]:
        chosen: list[OfflineQA] = []
        seen: set[object] = set()
        for qa in self._ordered():
            keys = (normalise(qa.question), (qa.url, qa.quote))  # one question per source sentence
            if not seen.intersection(keys):
                seen.update(keys)
                chosen.append(qa)
            if len(chosen) >= n:
                break
        return chosen

    # --- one method per model step -----------------------------------------------------------
    def questions(self, n: int) -> QuestionList:
        return QuestionList(questions=[qa.question for qa in self.faq(n)])

    def answer(self, question: str) -> GroundedAnswer:
        qa = self._by_question.get(normalise(question)) or self._retrieve(question)
        if qa is None:
            return GroundedAnswer(answer="", citations=[])
        return GroundedAnswer(answer=qa.answer, citations=[Citation(url=qa.url, quote=qa.quote)])

    def draft(self, question: str) -> DraftAnswer:
        return DraftAnswer(answer=self.answer(question).answer)

    def sources(self, answer: str, *, max_pages: int = 3) -> SourceList:
        """Per page, the sentence most of whose words the answer contains; pages that support it."""
        answer_words = words(answer)
        scored: list[tuple[float, int, Citation]] = []
        for index, page in enumerate(self.pages):
            best, best_score = None, 0.0
            for sentence in page.sentences:
                sentence_words = words(sentence)
                if len(normalise(sentence).split()) < MIN_QUOTE_WORDS or not sentence_words:
                    continue
                score = len(sentence_words & answer_words) / len(sentence_words)
                if score > best_score:
                    best, best_score = sentence, score
            if best is not None and best_score >= 0.6:
                scored.append((-best_score, index, Citation(url=page.url, quote=best)))
        return SourceList(citations=[c for _, _, c in sorted(scored, key=lambda t: t[:2])[:max_pages]])

    def _retrieve(self, question: str) -> OfflineQA | None:
        """The best-matching sentence for a question no candidate matched (e.g. one a model wrote)."""
        asked = words(question)
        if not asked:
            return None
        best: tuple[float, Page, tuple[str, ...]] | None = None
        for page in self.pages:
            title_hits = len(asked & words(page.title))
            for section in page.sections:
                heading_hits = len(asked & words(section.heading))
                for i, sentence in enumerate(section.sentences):
                    hits = len(asked & words(sentence))
                    if not hits and not heading_hits:
                        continue
                    score = hits + 0.5 * heading_hits + 0.25 * title_hits
                    if best is None or score > best[0]:
                        best = (score, page, section.sentences[i:])
        if best is None or best[0] < max(1.0, 0.3 * len(asked)):
            return None
        answer, quote = _compose(best[2])
        return OfflineQA(question, answer, best[1].url, quote)
