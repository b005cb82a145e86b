"""The page cache the pipeline may be given: reuse the extraction of a page whose body has not changed.

The storage layer implements it (the `pages` table: url, title, text, content_hash); the pipeline only
sees this protocol. A page is always fetched; when the SHA-256 of its body equals the cached
`content_hash`, the cached title and text are used instead of extracting again, which also keeps the
FAQ's context (and so the model's context cache key) identical for unchanged pages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CachedPage:
    url: str
    title: str
    text: str  # extracted text, in the line format of `workflows.faq.extract`
    content_hash: str  # SHA-256 (hex) of the fetched body the text was extracted from


class PageCache(Protocol):
    async def get(self, url: str) -> CachedPage | None: ...

    async def put(self, page: CachedPage) -> None: ...


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class MemoryPageCache:
    """A page cache in memory, for one process (the benchmark, the evaluation tool, tests)."""

    def __init__(self) -> None:
        self.pages: dict[str, CachedPage] = {}

    async def get(self, url: str) -> CachedPage | None:
        return self.pages.get(url)

    async def put(self, page: CachedPage) -> None:
        self.pages[page.url] = page
