"""Building an FAQ for a staff member and storing it: the one path `/faq` and `supportbot faq` share.

request → build_faq (safe fetcher with the allow-list, the services' runner, the `pages` table as
page cache, progress) → FAQ set + items stored → the general-question answerer told to reload
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from storage import faqs as faq_store
from storage.db import Database
from workflows.faq import CachedPage, FaqResult, PageFetcher, ProgressCallback, build_faq
from workflows.faq.schemas import Chain

from .commands.registry import AppServices

_log = logging.getLogger(__name__)


class StoredPageCache:
    """The pipeline's `PageCache` on the `pages` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, url: str) -> CachedPage | None:
        async with self.db.session() as s:
            page = await faq_store.get_page(s, url)
        if page is None:
            return None
        return CachedPage(url=page.url, title=page.title, text=page.text, content_hash=page.content_hash)

    async def put(self, page: CachedPage) -> None:
        async with self.db.write() as s:
            await faq_store.save_page(s, url=page.url, title=page.title, text=page.text, content_hash=page.content_hash)


@dataclass(frozen=True)
class FaqRequest:
    urls: Sequence[str]
    questions: int
    chain: Chain
    requested_by: str  # "platform:user"
    platform: str
    channel_id: str = ""
    parallel: bool = True


@dataclass(frozen=True)
class BuiltFaq:
    result: FaqResult
    set_id: int | None  # None when storing failed (the FAQ is still shown)


async def build_and_store(
    services: AppServices, request: FaqRequest, *, on_progress: ProgressCallback | None = None
) -> BuiltFaq:
    """Build the FAQ (raises `FaqError` with one safe line) and store it as a FAQ set."""
    async with PageFetcher(allowed_hosts=services.settings.faq_allowed_hosts) as fetcher:
        result = await build_faq(
            request.urls,
            questions=request.questions,
            chain=request.chain,
            parallel=request.parallel,
            runner=services.runner,
            fetcher=fetcher,
            on_progress=on_progress,
            page_cache=StoredPageCache(services.db),
        )
    set_id = await store_result(services, request, result)
    _log.info(
        "faq set=%s by %s in %s:%s: %d items, %d failed pages, %d pages reused, %d model calls, %.2fs",
        set_id,
        request.requested_by,
        request.platform,
        request.channel_id or "-",
        len(result.items),
        len(result.failed_pages),
        result.pages_reused,
        result.llm_calls,
        result.seconds,
    )
    return BuiltFaq(result=result, set_id=set_id)


async def store_result(services: AppServices, request: FaqRequest, result: FaqResult) -> int | None:
    items = [
        faq_store.NewFaqItem(question=i.question, answer=i.answer, sources=[s.model_dump() for s in i.sources])
        for i in result.items
    ]
    try:
        async with services.db.write() as s:
            faq_set = await faq_store.save_faq_set(
                s,
                requested_by=request.requested_by,
                platform=request.platform,
                channel_id=request.channel_id,
                urls=list(dict.fromkeys(request.urls)),
                chain=result.chain,
                llm_calls=result.llm_calls,
                failed_pages=[f.model_dump() for f in result.failed_pages],
                items=items,
            )
            set_id = faq_set.id
    except Exception:  # the staff member still gets the FAQ they waited for
        _log.exception("faq by %s could not be stored", request.requested_by)
        return None
    services.faqs_changed()
    return set_id
