"""The pages of one FAQ as the model sees them: one shared block of text, cut to a token budget.

Every call of an FAQ sends the same block first (`LLMRequest.context`) under the same key, so the
provider can cache it once and bill the pages once (explicit caching) or at a discount (an identical
prefix is cached implicitly). The budget is shared fairly: short pages keep all their text, long pages
split what is left, and a cut page says so in its header.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html import escape

from .pages import Page

CHARS_PER_TOKEN = 4  # a rough average for English prose; only used to size the budget
DEFAULT_MAX_CONTEXT_TOKENS = 100_000


@dataclass(frozen=True)
class PageContext:
    text: str
    key: str
    cut: dict[str, tuple[int, int]]  # url → (characters kept, characters in the page)


def fair_shares(lengths: list[int], total: int) -> list[int]:
    """Split `total` so that no one gets more than it has and the rest share equally (water-filling)."""
    shares = [0] * len(lengths)
    remaining = total
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for position, index in enumerate(order):
        equal = remaining // (len(order) - position)
        shares[index] = min(lengths[index], equal)
        remaining -= shares[index]
    return shares


def cut_text(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a line break (or a space) when one is near the end."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for separator in ("\n", " "):
        at = head.rfind(separator)
        if at >= limit * 0.8:
            return head[:at].rstrip()
    return head


def render_context(pages: list[Page], *, max_tokens: int = DEFAULT_MAX_CONTEXT_TOKENS) -> PageContext:
    budgets = fair_shares([len(p.text) for p in pages], max_tokens * CHARS_PER_TOKEN)
    blocks: list[str] = []
    cut: dict[str, tuple[int, int]] = {}
    for number, (page, budget) in enumerate(zip(pages, budgets, strict=True), start=1):
        text = cut_text(page.text, budget)
        attributes = f'number="{number}" url="{escape(page.url)}" title="{escape(page.title)}"'
        if len(text) < len(page.text):
            cut[page.url] = (len(text), len(page.text))
            attributes += (
                f' cut="only the first {len(text):,} of {len(page.text):,} characters are shown; '
                f'the rest of this page was cut"'
            )
        # A page must not be able to close its own block and pose as instructions.
        body = text.replace("</page", "</ page")
        blocks.append(f"<page {attributes}>\n{body}\n</page>")
    text = "Documentation pages (the only source for every answer):\n\n" + "\n\n".join(blocks)
    key = "faq-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return PageContext(text=text, key=key, cut=cut)
