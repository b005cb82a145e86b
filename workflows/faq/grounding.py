"""Local verification of citations: a cited page must be one of the FAQ's pages and its quote must
really be on that page.

A quote is verified when, after normalising case, whitespace and punctuation, it occurs in the page's
extracted text (an exact match), or when it is a near match of one of the page's sentences or of two
adjacent sentences (rapidfuzz, score ≥ 90: a model's small copying slips). The quote shown to the
customer is then the page's own sentence, never the model's wording. Failed citations are dropped.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from yarl import URL

from .pages import Page
from .schemas import Citation, FaqSource

_log = logging.getLogger(__name__)

MIN_QUOTE_WORDS = 3  # "the invoice" is on every billing page: too short to show anything
NEAR_MATCH_SCORE = 90.0
_NON_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Case-folded words separated by single spaces: punctuation, quotes and dashes do not count."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def canonical_url(url: str) -> str:
    """Scheme and host lower-case, default port, fragment and trailing slash dropped."""
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError):
        return url.strip()
    if not parsed.is_absolute():
        return url.strip()
    path = parsed.path.rstrip("/")
    return str(parsed.with_fragment(None).with_path(path or "/", encoded=False)).lower()


@dataclass
class _Indexed:
    page: Page
    text: str  # normalised, padded with spaces for word boundaries
    units: list[tuple[str, str]]  # (sentence or adjacent pair as shown, normalised)


@dataclass
class GroundingStats:
    proposed: int = 0
    verified: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # reason → count


class Grounding:
    """Verifies citations against the pages of one FAQ (index built once, used by every answer)."""

    def __init__(self, pages: list[Page]) -> None:
        self._by_url: dict[str, _Indexed] = {}
        for page in pages:
            units: list[tuple[str, str]] = []
            for section in page.sections:
                sentences = list(section.sentences)
                for i, sentence in enumerate(sentences):
                    units.append((sentence, normalise(sentence)))
                    if i + 1 < len(sentences):  # a quote may span a sentence boundary the splitter chose
                        pair = f"{sentence} {sentences[i + 1]}"
                        units.append((pair, normalise(pair)))
            indexed = _Indexed(page, f" {normalise(page.text)} ", units)
            for url in (page.url, page.final_url):
                self._by_url.setdefault(canonical_url(url), indexed)
        self.stats = GroundingStats()

    def page_for(self, url: str) -> Page | None:
        indexed = self._by_url.get(canonical_url(url))
        return indexed.page if indexed else None

    def verify(self, citations: list[Citation]) -> list[FaqSource]:
        """The verified sources, at most one per page, in the order cited."""
        sources: list[FaqSource] = []
        seen: set[str] = set()
        for citation in citations:
            self.stats.proposed += 1
            reason, source = self._check(citation)
            if source is None:
                self.stats.dropped[reason] += 1
                _log.info("faq citation dropped (%s): %s", reason, citation.url[:200])
                continue
            if source.url in seen:
                self.stats.dropped["second citation of a page"] += 1
                continue
            seen.add(source.url)
            self.stats.verified += 1
            sources.append(source)
        return sources

    def _check(self, citation: Citation) -> tuple[str, FaqSource | None]:
        indexed = self._by_url.get(canonical_url(citation.url))
        if indexed is None:
            return "page not among the FAQ's pages", None
        quote = normalise(citation.quote)
        if len(quote.split()) < MIN_QUOTE_WORDS:
            return "quote too short", None
        page = indexed.page
        if f" {quote} " in indexed.text:
            # shown: the page's own (shortest) sentence or sentence pair holding the quote
            holders = [unit for unit, norm in indexed.units if f" {quote} " in f" {norm} "]
            shown = min(holders, key=len) if holders else " ".join(citation.quote.split())
            return "", FaqSource(title=page.title, url=page.url, quote=shown)
        best, best_score = None, 0.0
        for unit, norm in indexed.units:
            if len(quote) <= len(norm):
                if len(quote) < len(norm) // 2:
                    continue  # a loose match of a fragment says little about a long sentence
                score = fuzz.partial_ratio(quote, norm, score_cutoff=NEAR_MATCH_SCORE)
            else:  # the quote is longer: compare whole strings, never search the unit inside it
                score = fuzz.ratio(quote, norm, score_cutoff=NEAR_MATCH_SCORE)
            if score > best_score:
                best, best_score = unit, score
        if best is None:
            return "quote not found on the page", None
        return "", FaqSource(title=page.title, url=page.url, quote=best)
