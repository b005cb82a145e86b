"""Answering a customer's general question from the stored FAQs.

The pipeline calls `FaqAnswers` (its `general_answerer`) for a `general` message with no tasks. A
stored question matches when both hold:

* fuzzy similarity: rapidfuzz `token_set_ratio` of the two texts' content words ≥ MIN_SCORE, and
* keyword overlap: at least two shared content words (all of them for a one-word question) covering
  at least half of the stored question's content words, and — unless three or more are shared — half
  of the customer's too. So "How do I change my password?" does not meet "How do I start a return?"
  through "how do I", nor "What is an exchange rate?" meet "What is an exchange?".

The best match wins; on a tie the newer FAQ set does. This runs on the message hot path, so the items
live in memory with an inverted keyword index: a call reads nothing from the database unless the cache
was invalidated (a FAQ set stored in this process) or `refresh_s` has passed, and then only the newest
set id is read; the items are reloaded when it changed (a set stored by another process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from storage import faqs as faq_store
from storage.db import Database

from ..types import GeneralAnswer
from .grounding import normalise
from .offline import words

_log = logging.getLogger(__name__)

MIN_SCORE = 80.0
MIN_COVERAGE = 0.5
REFRESH_S = 30.0
MAX_ITEMS = 5000
# Words a customer wraps a question in that say nothing about its subject (after crude singularising).
_FILLER = frozenset(
    """hi hello hey thank thanks please pls know want need like tell question help get got
wonder wondering ask asking anyone someone somebody just really also much many way us could would may might
let okay ok sure quick""".split()
)


def _stem(word: str) -> str:
    """Crude, but enough for "charged"/"charge", "returning"/"returns" to meet (no stemmer dependency)."""
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def keywords(text: str) -> frozenset[str]:
    """Content words, singularised and stemmed, without the filler a customer wraps a question in."""
    return frozenset(_stem(w) for w in words(text) if len(w) > 1 and w not in _FILLER)


@dataclass(frozen=True)
class Candidate:
    set_id: int
    question: str
    answer: str
    source_title: str
    source_url: str
    keywords: frozenset[str]
    key_text: str  # the keywords, sorted and joined: what the fuzzy score compares


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float
    shared: frozenset[str]


class FaqIndex:
    """Stored FAQ items prepared for matching (newest set first; a repeated question keeps its newest answer)."""

    def __init__(self, items: Sequence[faq_store.StoredFaqItem]) -> None:
        self.candidates: list[Candidate] = []
        self._by_word: dict[str, list[int]] = defaultdict(list)
        seen: set[str] = set()
        for item in items:
            key = normalise(item.question)
            source = next((s for s in item.sources if s.get("url")), None)
            kws = keywords(item.question)
            if not key or key in seen or source is None or not kws or not item.answer.strip():
                continue
            seen.add(key)
            for word in kws:
                self._by_word[word].append(len(self.candidates))
            self.candidates.append(
                Candidate(
                    set_id=item.set_id,
                    question=item.question,
                    answer=item.answer,
                    source_title=str(source.get("title") or ""),
                    source_url=str(source["url"]),
                    keywords=kws,
                    key_text=" ".join(sorted(kws)),
                )
            )

    def __len__(self) -> int:
        return len(self.candidates)

    def match(self, text: str) -> Match | None:
        asked = keywords(text)
        if not asked:
            return None
        shared_counts: Counter[int] = Counter()
        for word in asked:  # Counter.update runs in C: the postings are counted, not the candidates walked
            shared_counts.update(self._by_word.get(word, ()))
        asked_text = " ".join(sorted(asked))
        best: tuple[float, int] | None = None
        for i, shared in shared_counts.items():
            size = len(self.candidates[i].keywords)
            if shared < min(2, size) or shared < size * MIN_COVERAGE:
                continue
            if shared < 3 and shared < len(asked) * MIN_COVERAGE:  # "exchange rate" is not "exchange"
                continue
            score = fuzz.token_set_ratio(asked_text, self.candidates[i].key_text, score_cutoff=MIN_SCORE)
            # candidates are newest first: on a tie the lower index, the newer set, wins
            if score >= MIN_SCORE and (best is None or (score, -i) > (best[0], -best[1])):
                best = (score, i)
        if best is None:
            return None
        candidate = self.candidates[best[1]]
        return Match(candidate, best[0], asked & candidate.keywords)


class FaqAnswers:
    """The pipeline's `general_answerer`: `await answers(text)` → GeneralAnswer or None. Never raises."""

    def __init__(
        self,
        db: Database,
        *,
        refresh_s: float = REFRESH_S,
        max_items: int = MAX_ITEMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.refresh_s = refresh_s
        self.max_items = max_items
        self._clock = clock
        self._index = FaqIndex(())
        self._set_id: int | None = None
        self._checked_at: float | None = None  # None: check on the next call
        self._generation = 0  # bumped by invalidate(), so a refresh that raced with a store checks again
        self._lock = asyncio.Lock()
        self.loads = 0  # item reloads (for tests and logs)

    def invalidate(self) -> None:
        """A FAQ set was stored: the next call looks again."""
        self._generation += 1
        self._checked_at = None

    async def __call__(self, text: str) -> GeneralAnswer | None:
        try:
            await self._refresh()
        except Exception:  # the stored FAQs are a bonus: a database hiccup must not cost the reply
            _log.warning("stored FAQs could not be read; answering without them", exc_info=True)
        found = self._index.match(text)
        if found is None:
            return None
        c = found.candidate
        _log.info(
            "general question answered from faq set %d (score %.0f, shared %s): %s",
            c.set_id,
            found.score,
            ",".join(sorted(found.shared)),
            c.question[:80],
        )
        return GeneralAnswer(question=c.question, answer=c.answer, source_title=c.source_title, source_url=c.source_url)

    def _stale(self) -> bool:
        return self._checked_at is None or self._clock() - self._checked_at >= self.refresh_s

    async def _refresh(self) -> None:
        if not self._stale():
            return
        async with self._lock:  # one reader refreshes; the others wait for it instead of reading too
            if not self._stale():
                return
            generation = self._generation
            async with self.db.session() as s:
                latest = await faq_store.latest_faq_set_id(s)
                items = await faq_store.recent_faq_items(s, limit=self.max_items) if latest != self._set_id else None
            if items is not None:
                self._index = FaqIndex(items)
                self._set_id = latest
                self.loads += 1
                _log.info("stored FAQs loaded: %d questions (newest set %s)", len(self._index), latest)
            self._checked_at = self._clock() if generation == self._generation else None
